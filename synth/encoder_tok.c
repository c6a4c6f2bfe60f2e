#include "synth/encoder_tok.h"

#include <jansson.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/fileio.h"
#include "data/json.h"

static int tok_encode(void *ctx, const char *text, size_t len, int special, duo_ids *out, duo_error *err) {
    return tokenizer_encode((const duo_tokenizer *)ctx, text, len, special, out, err);
}

static char *tok_decode(void *ctx, const int32_t *ids, size_t n, int skip_special) {
    return tokenizer_decode((const duo_tokenizer *)ctx, ids, n, skip_special);
}

static char *tok_decode_len(void *ctx, const int32_t *ids, size_t n, int skip_special, size_t *len) {
    return tokenizer_decode_len((const duo_tokenizer *)ctx, ids, n, skip_special, len);
}

int synth_read_clean_up_flag(const char *path) {
    char cfg[4096];
    if (path_is_dir(path)) {
        path_join(cfg, sizeof cfg, path, "tokenizer_config.json");
    } else {
        char copy[4096];
        snprintf(copy, sizeof copy, "%s", path);
        path_join(cfg, sizeof cfg, dirname(copy), "tokenizer_config.json");
    }
    if (!path_exists(cfg) || file_check_regular(cfg, NULL)) return 0;  /* a FIFO would block */
    json_t *root = duo_json_load_file(cfg, 0, NULL);
    int flag = 0;
    if (root) {
        json_t *v = json_object_get(root, "clean_up_tokenization_spaces");
        flag = v && json_is_true(v);
        json_decref(root);
    }
    return flag;
}

void synth_encoder_from_tokenizer(const duo_tokenizer *tok, const char *path, synth_encoder *enc) {
    enc->ctx = (void *)tok;
    enc->encode = tok_encode;
    enc->decode = tok_decode;
    enc->decode_len = tok_decode_len;
    enc->clean_up_tokenization_spaces = path ? synth_read_clean_up_flag(path) : 0;
}

/* The corpus keeps a NUL inside a text (valid JSON, "\u0000"), but the builders decode and re-encode
 * haystack text as C strings, which would cut it there silently: such a text is refused by name. */
static int refuse_nul(duo_corpus *c, const char *text, size_t len, duo_error *err) {
    const char *nul = memchr(text, '\0', len);
    if (!nul) return 0;
    size_t at = (size_t)(nul - text);
    return duo_fail(err, "%s:%ld: the text contains a NUL character (\\u0000) at byte %zu; a haystack cannot hold "
                         "one: remove it (or the line)", corpus_current_file(c), corpus_line_of(c, at), at);
}

static int corpus_source_next(void *ctx, const char **text, size_t *len, duo_error *err) {
    duo_corpus *c = ctx;
    int r = corpus_next(c, text, len, err);
    return r == 1 && refuse_nul(c, *text, *len, err) ? -1 : r;
}

synth_text_source synth_source_from_corpus(duo_corpus *c, const char *name) {
    synth_text_source s = {c, corpus_source_next, name, NULL};
    return s;
}

static int corpus_source_extend(void *ctx, const char **text, size_t *len, duo_error *err) {
    duo_corpus *c = ctx;
    int r = corpus_extend(c, text, len, err);
    return r == 1 && refuse_nul(c, *text, *len, err) ? -1 : r;
}

synth_text_source synth_source_from_corpus_prefixes(duo_corpus *c, const char *name) {
    corpus_read_prefixes(c, SYNTH_TEXT_FIRST_BYTES);
    synth_text_source s = {c, corpus_source_next, name, corpus_source_extend};
    return s;
}

synth_builder *synth_builder_from_paths(const synth_params *p, const duo_tokenizer *tok, const char *tok_path,
                                        const char *corpus_path, duo_error *err) {
    duo_corpus *c = corpus_open(corpus_path, err);
    if (!c) return NULL;
    synth_encoder enc;
    synth_encoder_from_tokenizer(tok, tok_path, &enc);
    synth_text_source src = synth_source_from_corpus_prefixes(c, corpus_path);
    synth_builder *b = synth_builder_new(p, &enc, &src, err);
    corpus_close(c);
    return b;
}
