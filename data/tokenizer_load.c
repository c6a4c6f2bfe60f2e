/* tokenizer_load(): reads tokenizer.json (plain or .zst, a file or a model directory), builds every
 * part, the post-processor template, and BOS/EOS from the template and tokenizer_config.json. */
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "data/fileio.h"
#include "data/json.h"
#include "data/tokenizer_impl.h"
#include "data/tokenizer_utf8.h"

#define MAX_TOKENIZER_BYTES ((size_t)1 << 30)

/* Whole file, decompressed when it is a zstd frame (streaming: the content size may be unknown). */
static char *read_maybe_zst(const char *path, size_t *len, duo_error *err) {
    size_t n;
    char *raw = file_read_all(path, &n, err);
    if (!raw) return NULL;
    if (n < 4 || memcmp(raw, "\x28\xB5\x2F\xFD", 4) != 0) {  /* not a zstd frame: plain JSON */
        *len = n;
        return raw;
    }
    ZSTD_DCtx *dc = ZSTD_createDCtx();
    size_t cap = ZSTD_DStreamOutSize() * 4, m = 0;
    char *out = malloc(cap + 1);
    ZSTD_inBuffer in = {raw, n, 0};
    int bad = 0;
    if (!out || !dc) bad = duo_fail(err, "%s: out of memory", path);
    while (!bad) {
        if (cap - m < ZSTD_DStreamOutSize()) {
            if (cap > MAX_TOKENIZER_BYTES) {
                bad = duo_fail(err, "%s: decompressed size over %zu bytes", path, MAX_TOKENIZER_BYTES);
                break;
            }
            char *grown = realloc(out, cap * 2 + 1);
            if (!grown) {
                bad = duo_fail(err, "%s: out of memory for %zu decompressed bytes", path, cap * 2);
                break;
            }
            out = grown;
            cap *= 2;
        }
        ZSTD_outBuffer ob = {out, cap, m};
        size_t ret = ZSTD_decompressStream(dc, &ob, &in);
        m = ob.pos;
        if (ZSTD_isError(ret)) {
            bad = duo_fail(err, "%s: corrupt zstd data: %s", path, ZSTD_getErrorName(ret));
            break;
        }
        if (ret == 0 && in.pos == in.size) break;  /* every frame complete */
        if (in.pos == in.size && ob.pos < ob.size) {
            bad = duo_fail(err, "%s: truncated zstd frame", path);
            break;
        }
    }
    ZSTD_freeDCtx(dc);
    free(raw);
    if (bad) {
        free(out);
        return NULL;
    }
    out[m] = '\0';
    *len = m;
    return out;
}

/* ---- post-processor ---- */

/* Appends a template item (ids NULL: the sequence); -1 when out of memory. */
static int tmpl_add(duo_tokenizer *tok, const int32_t *ids, size_t n) {
    int32_t *copy = NULL;
    if (ids) {
        if (!(copy = malloc((n ? n : 1) * sizeof *copy))) return -1;
        memcpy(copy, ids, n * sizeof *ids);
    }
    tok_template_item *grown = realloc(tok->tmpl, (tok->n_tmpl + 1) * sizeof *tok->tmpl);
    if (!grown) {
        free(copy);
        return -1;
    }
    tok->tmpl = grown;
    tok->tmpl[tok->n_tmpl++] = (tok_template_item){copy, n};
    return 0;
}

static void tmpl_clear(duo_tokenizer *tok) {
    for (size_t i = 0; i < tok->n_tmpl; i++) free(tok->tmpl[i].ids);
    free(tok->tmpl);
    tok->tmpl = NULL;
    tok->n_tmpl = 0;
}

static int load_template(duo_tokenizer *tok, json_t *j, duo_error *err) {
    json_t *single = json_object_get(j, "single"), *specials = json_object_get(j, "special_tokens");
    if (!json_is_array(single)) return duo_fail(err, "post_processor TemplateProcessing: \"single\" must be an array");
    if (specials && !json_is_object(specials))
        return duo_fail(err, "post_processor TemplateProcessing: \"special_tokens\" must be an object");
    tmpl_clear(tok);
    size_t i;
    json_t *item;
    int have_seq = 0;
    json_array_foreach(single, i, item) {
        json_t *sp = json_object_get(item, "SpecialToken"), *seq = json_object_get(item, "Sequence");
        if (json_is_object(seq)) {
            if (have_seq) return duo_fail(err, "post_processor TemplateProcessing: \"single\" names the sequence twice");
            have_seq = 1;
            if (tmpl_add(tok, NULL, 0)) return duo_fail(err, "post_processor TemplateProcessing: out of memory");
            continue;
        }
        const char *name = json_string_value(json_object_get(sp, "id"));
        if (!name) return duo_fail(err, "post_processor TemplateProcessing: single[%zu] is neither SpecialToken nor Sequence", i);
        json_t *def = json_object_get(specials, name), *ids = json_object_get(def, "ids");
        if (!json_is_array(ids) || json_array_size(ids) == 0)
            return duo_fail(err, "post_processor TemplateProcessing: special token \"%.100s\" has no \"ids\"", name);
        size_t n = json_array_size(ids), k;
        int32_t *v = malloc(n * sizeof *v);
        if (!v) return duo_fail(err, "post_processor TemplateProcessing: out of memory");
        json_t *x;
        json_array_foreach(ids, k, x) {
            if (!json_is_integer(x) || json_integer_value(x) < 0 || json_integer_value(x) > INT32_MAX) {
                free(v);
                return duo_fail(err, "post_processor TemplateProcessing: special token \"%.100s\": ids must be integers", name);
            }
            v[k] = (int32_t)json_integer_value(x);
        }
        int rc = tmpl_add(tok, v, n);
        free(v);
        if (rc) return duo_fail(err, "post_processor TemplateProcessing: out of memory");
    }
    if (!have_seq) return duo_fail(err, "post_processor TemplateProcessing: \"single\" lacks the sequence $A");
    return 0;
}

/* Roberta/Bert: "cls": [token, id], "sep": [token, id] -> cls $A sep */
static int load_cls_sep(duo_tokenizer *tok, json_t *j, const char *type, duo_error *err) {
    int32_t ids[2];
    const char *keys[2] = {"cls", "sep"};
    for (int k = 0; k < 2; k++) {
        json_t *p = json_object_get(j, keys[k]), *id = json_array_get(p, 1);
        if (!json_is_integer(id) || json_integer_value(id) < 0 || json_integer_value(id) > INT32_MAX)
            return duo_fail(err, "post_processor %s: \"%s\" must be [token, id]", type, keys[k]);
        ids[k] = (int32_t)json_integer_value(id);
    }
    tmpl_clear(tok);
    if (tmpl_add(tok, &ids[0], 1) || tmpl_add(tok, NULL, 0) || tmpl_add(tok, &ids[1], 1))
        return duo_fail(err, "post_processor %s: out of memory", type);
    return 0;
}

int tok_load_post_processor(duo_tokenizer *tok, json_t *j, duo_error *err) {
    if (!j || json_is_null(j)) return 0;
    const char *type = json_string_value(json_object_get(j, "type"));
    if (!type) return duo_fail(err, "post_processor: missing \"type\"");
    if (!strcmp(type, "ByteLevel")) return 0;  /* only trims offsets: nothing to do on ids */
    if (!strcmp(type, "TemplateProcessing")) return load_template(tok, j, err);
    if (!strcmp(type, "RobertaProcessing") || !strcmp(type, "BertProcessing")) return load_cls_sep(tok, j, type, err);
    if (!strcmp(type, "Sequence")) {
        json_t *list = json_object_get(j, "processors");
        if (!json_is_array(list)) return duo_fail(err, "post_processor Sequence: \"processors\" must be an array");
        size_t i;
        json_t *item;
        json_array_foreach(list, i, item) {
            if (json_is_object(item) && json_is_string(json_object_get(item, "type")) &&
                !strcmp(json_string_value(json_object_get(item, "type")), "Sequence"))
                return duo_fail(err, "post_processor Sequence: nested Sequence is not supported");
            if (tok_load_post_processor(tok, item, err)) return -1;
        }
        return 0;
    }
    return duo_fail(err, "unsupported post_processor type \"%s\" (supported: TemplateProcessing, ByteLevel, Sequence, "
                         "RobertaProcessing, BertProcessing)", type);
}

/* BOS: the last id of the specials before $A; EOS: the last id of the specials after it. */
static void bos_eos_from_template(duo_tokenizer *tok) {
    int after = 0;
    for (size_t i = 0; i < tok->n_tmpl; i++) {
        tok_template_item *it = &tok->tmpl[i];
        if (!it->ids) { after = 1; continue; }
        if (!after && tok->bos_id < 0) tok->bos_id = it->ids[0];
        if (after) tok->eos_id = it->ids[it->n - 1];
    }
}

/* bos_token / eos_token may be a string or an AddedToken object {"content": ...}. */
static const char *config_token(json_t *cfg, const char *key) {
    json_t *v = json_object_get(cfg, key);
    if (json_is_string(v)) return json_string_value(v);
    if (json_is_object(v)) return json_string_value(json_object_get(v, "content"));
    return NULL;
}

static int apply_config(duo_tokenizer *tok, const char *path, duo_error *err) {
    json_t *cfg = duo_json_load_file(path, 0, err);
    if (!cfg) return -1;
    int rc = 0;
    if (!json_is_object(cfg)) {
        rc = duo_fail(err, "%s: expected a JSON object", path);
        goto out;
    }
    const char *bos = config_token(cfg, "bos_token"), *eos = config_token(cfg, "eos_token");
    if (bos && tokenizer_token_to_id(tok, bos) >= 0) tok->bos_id = tokenizer_token_to_id(tok, bos);
    if (eos && tokenizer_token_to_id(tok, eos) >= 0) tok->eos_id = tokenizer_token_to_id(tok, eos);
    json_t *ab = json_object_get(cfg, "add_bos_token"), *ae = json_object_get(cfg, "add_eos_token");
    if ((ab && !json_is_boolean(ab)) || (ae && !json_is_boolean(ae))) {
        rc = duo_fail(err, "%s: add_bos_token / add_eos_token must be true or false", path);
        goto out;
    }
    if (ab || ae) {
        /* as transformers' update_post_processor: [bos] $A [eos], each as the config asks */
        int had_bos = tok->n_tmpl && tok->tmpl[0].ids, had_eos = tok->n_tmpl && tok->tmpl[tok->n_tmpl - 1].ids;
        int add_bos = ab ? json_is_true(ab) : had_bos, add_eos = ae ? json_is_true(ae) : had_eos;
        int32_t b = tok->bos_id, e = tok->eos_id;
        tmpl_clear(tok);
        if ((add_bos && b >= 0 && tmpl_add(tok, &b, 1)) || tmpl_add(tok, NULL, 0) ||
            (add_eos && e >= 0 && tmpl_add(tok, &e, 1))) {
            rc = duo_fail(err, "%s: out of memory", path);
            goto out;
        }
    }
out:
    json_decref(cfg);
    return rc;
}

/* ---- the whole file ---- */

static int build(duo_tokenizer *tok, json_t *root, duo_error *err) {
    if (!json_is_object(root)) return duo_fail(err, "expected a JSON object at the top level");
    json_t *model = json_object_get(root, "model");
    if (!model) return duo_fail(err, "missing \"model\"");
    if (tok_load_bpe(&tok->bpe, model, err) || tok_load_normalizer(tok, json_object_get(root, "normalizer"), err) ||
        tok_load_pretokenizer(tok, json_object_get(root, "pre_tokenizer"), err) ||
        tok_load_added(tok, json_object_get(root, "added_tokens"), err) ||
        tok_load_decoder(tok, json_object_get(root, "decoder"), err) ||
        tok_load_post_processor(tok, json_object_get(root, "post_processor"), err))
        return -1;
    if (tok_bpe_fold_byte_level(tok, err)) return -1;
    tok_work w = {0};
    if (!(w.md = pcre2_match_data_create(16, NULL))) return duo_fail(err, "out of memory");
    int rc = tok_added_build_sets(tok, &w, err);
    tok_work_free(&w);
    if (rc) return -1;
    int32_t max_id = -1;
    for (size_t i = 0; i < tok->n_added; i++)
        if (tok->added[i].id > max_id) max_id = tok->added[i].id;
    tok->n_added_by_id = max_id + 1;
    tok->added_by_id = malloc(((size_t)max_id + 2) * sizeof *tok->added_by_id);
    if (!tok->added_by_id) return duo_fail(err, "out of memory for %zu added tokens", tok->n_added);
    for (int32_t i = 0; i <= max_id; i++) tok->added_by_id[i] = -1;
    for (size_t i = 0; i < tok->n_added; i++) {
        tok->added_by_id[tok->added[i].id] = (int32_t)i;
        if (tok->added[i].special &&
            tok_str_map_put(&tok->special_contents, tok->added[i].content, tok->added[i].len, 1))
            return duo_fail(err, "out of memory for %zu added tokens", tok->n_added);
    }
    bos_eos_from_template(tok);
    return 0;
}

duo_tokenizer *tokenizer_load_json(const char *json, size_t len, const char *name, duo_error *err) {
    tok_byte_to_cp(0);  /* builds the byte table before any thread may race for it */
    duo_tokenizer *tok = calloc(1, sizeof *tok);
    if (!tok || !(tok->path = strdup(name ? name : "tokenizer.json"))) {
        free(tok);
        duo_fail(err, "%s: out of memory", name ? name : "tokenizer.json");
        return NULL;
    }
    tok->bos_id = tok->eos_id = -1;
    json_error_t je;
    json_t *root = duo_json_loadb(json, len, JSON_ALLOW_NUL, &je);
    if (!root) {
        duo_fail(err, "%s: invalid JSON at line %d, column %d: %s", tok->path, je.line, je.column, je.text);
        tokenizer_free(tok);
        return NULL;
    }
    int rc = build(tok, root, err);
    json_decref(root);
    if (rc) {
        duo_error_prefix(err, "%s", tok->path);
        tokenizer_free(tok);
        return NULL;
    }
    return tok;
}

duo_tokenizer *tokenizer_load(const char *path, duo_error *err) {
    char file[4096], config[4096];
    config[0] = '\0';
    if (path_is_dir(path)) {
        path_join(file, sizeof file, path, "tokenizer.json");
        if (!path_exists(file)) {
            path_join(file, sizeof file, path, "tokenizer.json.zst");
            if (!path_exists(file)) {
                duo_fail(err, "%s: no tokenizer.json (or tokenizer.json.zst) in this directory", path);
                return NULL;
            }
        }
        path_join(config, sizeof config, path, "tokenizer_config.json");
        if (!path_exists(config)) config[0] = '\0';
    } else {
        snprintf(file, sizeof file, "%s", path);
    }
    size_t len;
    char *json = read_maybe_zst(file, &len, err);
    if (!json) return NULL;
    duo_tokenizer *tok = tokenizer_load_json(json, len, file, err);
    free(json);
    if (tok && config[0] && apply_config(tok, config, err)) {
        tokenizer_free(tok);
        return NULL;
    }
    return tok;
}
