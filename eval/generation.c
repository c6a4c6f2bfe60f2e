#include "eval/generation.h"

#include <jansson.h>
#include <stdlib.h>

#include "data/fileio.h"
#include "data/json.h"

int generation_eos_ids(const duo_model *m, int32_t *eos, int cap) {
    char path[4200];
    int n = 0;
    path_join(path, sizeof path, m->dir, "generation_config.json");
    if (path_exists(path)) {
        json_t *root = duo_json_load_file(path, 0, NULL);
        json_t *e = root ? json_object_get(root, "eos_token_id") : NULL;
        if (json_is_integer(e) && n < cap) eos[n++] = (int32_t)json_integer_value(e);
        for (size_t i = 0; json_is_array(e) && i < json_array_size(e) && n < cap; i++)
            if (json_is_integer(json_array_get(e, i))) eos[n++] = (int32_t)json_integer_value(json_array_get(e, i));
        json_decref(root);
    }
    if (!n && cap > 0 && m->cfg.eos_token_id >= 0) eos[n++] = m->cfg.eos_token_id;
    return n;
}

int passkey_answer_stop(void *vctx, const int32_t *ids, size_t n) {
    const passkey_stop_ctx *s = vctx;
    size_t len = 0;
    char *text = tokenizer_decode_len(s->tok, ids, n, 1, &len);
    if (!text) return 0;
    int words = 0, in_word = 0, stop = 0;
    for (size_t i = 0; i < len && !stop; i++) {
        int space = text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r';
        if (text[i] == '\n' && words > 0) stop = 1;
        if (!space && !in_word) words++;
        if (space && in_word && words >= s->passkey_words) stop = 1;
        in_word = !space;
    }
    free(text);
    return stop;
}
