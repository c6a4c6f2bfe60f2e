/* Test doubles for the synth builders: a byte tokenizer (id = byte + 3, BOS = 1 when special tokens are
 * added) whose token counts are exactly the byte counts, and an in-memory list of corpus texts. */
#ifndef DUO_TESTS_SYNTH_TOY_H
#define DUO_TESTS_SYNTH_TOY_H

#include <stdlib.h>
#include <string.h>

#include "synth/encoder.h"

#define TOY_BOS 1
#define TOY_OFFSET 3

static int toy_encode(void *ctx, const char *text, size_t len, int special, duo_ids *out, duo_error *err) {
    (void)ctx;
    (void)err;
    if (special) ids_push(out, TOY_BOS);
    for (size_t i = 0; i < len; i++) ids_push(out, (int32_t)(unsigned char)text[i] + TOY_OFFSET);
    if (!out->ids) ids_reserve(out, 1);
    return 0;
}

static char *toy_decode(void *ctx, const int32_t *ids, size_t n, int skip_special) {
    (void)ctx;
    char *s = malloc(n + 1), *w = s;
    for (size_t i = 0; i < n; i++) {
        if (ids[i] < TOY_OFFSET) {
            if (!skip_special) *w++ = '^';
            continue;
        }
        *w++ = (char)(ids[i] - TOY_OFFSET);
    }
    *w = '\0';
    return s;
}

static synth_encoder toy_encoder(void) {
    synth_encoder e = {NULL, toy_encode, toy_decode, 0, NULL};
    return e;
}

typedef struct {
    const char *const *texts;
    size_t n, pos;
} toy_texts;

static int toy_next(void *ctx, const char **text, size_t *len, duo_error *err) {
    (void)err;
    toy_texts *t = ctx;
    if (t->pos == t->n) return 0;
    *text = t->texts[t->pos++];
    *len = strlen(*text);
    return 1;
}

static synth_text_source toy_source(toy_texts *t) {
    synth_text_source s = {t, toy_next, "toy-corpus", NULL};
    return s;
}

#endif
