/* tokenizer_encode() and the small accessors: the pipeline is HF's encode(): split on added tokens
 * (normalizing between them), pre-tokenize, BPE each word, then the post-processor template. */
#include <stdlib.h>
#include <string.h>

#include "data/tokenizer_impl.h"
#include "data/tokenizer_utf8.h"

void tok_work_free(tok_work *w) {
    pcre2_match_data_free(w->md);
    tok_pieces_free(&w->a);
    tok_pieces_free(&w->b);
    free(w->spans.v);
    free(w->tmp);
    free(w->tmp2);
    free(w->bpe_sym);
    free(w->bpe_heap);
    memset(w, 0, sizeof *w);
}

static void push_template_part(const duo_tokenizer *tok, int after, duo_ids *out) {
    int seen_seq = 0;
    for (size_t i = 0; i < tok->n_tmpl; i++) {
        const tok_template_item *it = &tok->tmpl[i];
        if (!it->ids) {
            seen_seq = 1;
            continue;
        }
        if (seen_seq == after) ids_append(out, it->ids, it->n);
    }
}

int tokenizer_encode(const duo_tokenizer *tok, const char *text, size_t len, int add_special_tokens, duo_ids *out,
                     duo_error *err) {
    if (len && !text) return duo_fail(err, "%s: encode: NULL text", tok->path);
    size_t valid = utf8_valid_prefix(text, len);
    if (valid != len) return duo_fail(err, "%s: encode: the text is not valid UTF-8 (byte offset %zu)", tok->path, valid);
    size_t start_len = out->len;
    int start_oom = out->oom;
    out->oom = 0;
    if (add_special_tokens) push_template_part(tok, 0, out);
    tok_work w = {0};
    if (!(w.md = pcre2_match_data_create(16, NULL))) return duo_fail(err, "%s: encode: out of memory", tok->path);
    w.cache_locked = tok_bpe_cache_lock(&tok->bpe);
    int rc = tok_split_added(tok, &w, len ? text : "", len, &w.a, err);
    if (!rc) rc = tok_pretokenize(tok, &w, err);
    for (size_t i = 0; !rc && i < w.a.n; i++) {
        const tok_piece *pc = &w.a.v[i];
        if (pc->id >= 0) ids_push(out, pc->id);
        else rc = tok_bpe_encode_word(&tok->bpe, &w, w.a.buf + pc->off, pc->len, out, err);
    }
    if (w.cache_locked) tok_bpe_cache_unlock(&tok->bpe);
    tok_work_free(&w);
    if (rc) {
        out->len = start_len;
        out->oom = start_oom;
        duo_error_prefix(err, "%s: encode", tok->path);
        return -1;
    }
    if (add_special_tokens) push_template_part(tok, 1, out);
    if (out->oom) {
        size_t n = out->len - start_len;
        out->len = start_len;
        return duo_fail(err, "%s: encode: out of memory (%zu ids so far)", tok->path, n);
    }
    out->oom = start_oom;
    return 0;
}

void tokenizer_free(duo_tokenizer *tok) {
    if (!tok) return;
    for (size_t i = 0; i < tok->n_norms; i++) {
        free(tok->norms[i].text);
        tok_regex_free(&tok->norms[i].re);
    }
    free(tok->norms);
    for (size_t i = 0; i < tok->n_pretoks; i++) tok_regex_free(&tok->pretoks[i].re);
    free(tok->pretoks);
    for (size_t i = 0; i < tok->n_added; i++) {
        if (tok->added[i].pattern != tok->added[i].content) free(tok->added[i].pattern);
        free(tok->added[i].content);
    }
    free(tok->added);
    free(tok->raw_set.order);
    free(tok->normalized_set.order);
    free(tok->added_by_id);
    tok_str_map_free(&tok->special_contents);
    tok_regex_free(&tok->word_char);
    tok_bpe_free(&tok->bpe);
    for (size_t i = 0; i < tok->n_decoders; i++) {
        free(tok->decoders[i].pattern);
        free(tok->decoders[i].content);
    }
    free(tok->decoders);
    for (size_t i = 0; i < tok->n_tmpl; i++) free(tok->tmpl[i].ids);
    free(tok->tmpl);
    free(tok->path);
    free(tok);
}

int tokenizer_vocab_size(const duo_tokenizer *tok) {
    size_t n = tok->bpe.vocab_count;
    for (size_t i = 0; i < tok->n_added; i++)
        if (tok_str_map_get(&tok->bpe.vocab, tok->added[i].content, tok->added[i].len) < 0) n++;
    return (int)n;
}

int32_t tokenizer_token_to_id(const duo_tokenizer *tok, const char *token) {
    size_t n = strlen(token);
    for (size_t i = 0; i < tok->n_added; i++)
        if (tok->added[i].len == n && !memcmp(tok->added[i].content, token, n)) return tok->added[i].id;
    return tok_str_map_get(&tok->bpe.vocab, token, n);
}

const char *tokenizer_id_to_token(const duo_tokenizer *tok, int32_t id) {
    if (id < 0) return NULL;
    /* as HF: a normalized added token reads back in its normalized form */
    if (id < tok->n_added_by_id && tok->added_by_id[id] >= 0) return tok->added[tok->added_by_id[id]].pattern;
    if (id < tok->bpe.n_ids) return tok->bpe.id_to_token[id];
    return NULL;
}

int32_t tokenizer_bos_id(const duo_tokenizer *tok) { return tok->bos_id; }
int32_t tokenizer_eos_id(const duo_tokenizer *tok) { return tok->eos_id; }
