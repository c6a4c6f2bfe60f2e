/* The BPE model of tokenizer.json, as HF's models::bpe: vocabulary and merge ranks in hash maps,
 * words split into characters (byte-fallback "<0xXX>" tokens or a fused unk for unknown ones),
 * merged lowest rank first (leftmost on ties) with a binary heap, and a word -> ids cache. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/tokenizer_impl.h"
#include "data/tokenizer_utf8.h"

/* ---- the word cache: shared, guarded by a mutex taken with trylock once per encode call ---- */

#define CACHE_SLOTS (1u << 16)
#define CACHE_MAX_ENTRIES (CACHE_SLOTS / 2)
#define CACHE_MAX_WORD 256  /* HF caches words shorter than this */

typedef struct {
    uint64_t hash;
    uint32_t key_off, key_len, ids_off, ids_n;  /* key_len 0: empty slot */
} cache_slot;

struct tok_cache {
    pthread_mutex_t mu;
    cache_slot *slots;
    size_t count;
    char *keys;
    size_t keys_len, keys_cap;
    int32_t *ids;
    size_t ids_len, ids_cap;
};

/* NULL when out of memory: encoding then runs without a cache. */
static tok_cache *cache_new(void) {
    tok_cache *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->slots = calloc(CACHE_SLOTS, sizeof *c->slots);
    if (!c->slots) {
        free(c);
        return NULL;
    }
    pthread_mutex_init(&c->mu, NULL);
    return c;
}

static void cache_free(tok_cache *c) {
    if (!c) return;
    pthread_mutex_destroy(&c->mu);
    free(c->slots);
    free(c->keys);
    free(c->ids);
    free(c);
}

static const cache_slot *cache_get(const tok_cache *c, const char *s, size_t len, uint64_t h) {
    for (size_t j = h & (CACHE_SLOTS - 1);; j = (j + 1) & (CACHE_SLOTS - 1)) {
        const cache_slot *e = &c->slots[j];
        if (!e->key_len) return NULL;
        if (e->hash == h && e->key_len == len && !memcmp(c->keys + e->key_off, s, len)) return e;
    }
}

static void cache_put(tok_cache *c, const char *s, size_t len, uint64_t h, const int32_t *ids, size_t n) {
    if (c->count >= CACHE_MAX_ENTRIES) {  /* full: start over (cheap, and keeps memory bounded) */
        memset(c->slots, 0, CACHE_SLOTS * sizeof *c->slots);
        c->count = c->keys_len = c->ids_len = 0;
    }
    if (c->keys_len + len > c->keys_cap) {
        char *k = realloc(c->keys, (c->keys_len + len) * 2);
        if (!k) return; /* out of memory: the word is just not cached */
        c->keys = k;
        c->keys_cap = (c->keys_len + len) * 2;
    }
    if (c->ids_len + n > c->ids_cap) {
        int32_t *v = realloc(c->ids, (c->ids_len + n) * 2 * sizeof *c->ids);
        if (!v) return;
        c->ids = v;
        c->ids_cap = (c->ids_len + n) * 2;
    }
    size_t j = h & (CACHE_SLOTS - 1);
    while (c->slots[j].key_len) j = (j + 1) & (CACHE_SLOTS - 1);
    memcpy(c->keys + c->keys_len, s, len);
    if (n) memcpy(c->ids + c->ids_len, ids, n * sizeof *ids);
    c->slots[j] = (cache_slot){h, (uint32_t)c->keys_len, (uint32_t)len, (uint32_t)c->ids_len, (uint32_t)n};
    c->keys_len += len;
    c->ids_len += n;
    c->count++;
}

/* ---- loading ---- */

static int opt_string_empty(json_t *j, const char *key, duo_error *err) {
    json_t *v = json_object_get(j, key);
    if (!v || json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0)) return 0;
    return duo_fail(err, "model: \"%s\" is not supported (only null)", key);
}

static int opt_bool(json_t *j, const char *key, int *out, duo_error *err) {
    json_t *v = json_object_get(j, key);
    if (!v || json_is_null(v)) { *out = 0; return 0; }
    if (!json_is_boolean(v)) return duo_fail(err, "model: \"%s\" must be true or false", key);
    *out = json_is_true(v);
    return 0;
}

static const char METASPACE[] = "\xE2\x96\x81";  /* U+2581 "▁" */

static int32_t vocab_id(const tok_bpe *bpe, const char *s, size_t len) { return tok_str_map_get(&bpe->vocab, s, len); }

int tok_load_bpe(tok_bpe *bpe, json_t *j, duo_error *err) {
    bpe->unk_id = -1;
    for (int b = 0; b < 256; b++) bpe->byte_ids[b] = -1;
    if (!json_is_object(j)) return duo_fail(err, "\"model\" must be an object");
    json_t *type = json_object_get(j, "type");
    if (type && !json_is_string(type)) return duo_fail(err, "model: \"type\" must be a string");
    if (type && strcmp(json_string_value(type), "BPE"))
        return duo_fail(err, "unsupported model type \"%s\" (only BPE)", json_string_value(type));
    json_t *vocab = json_object_get(j, "vocab"), *merges = json_object_get(j, "merges");
    if (!json_is_object(vocab)) return duo_fail(err, "model: \"vocab\" missing or not an object");
    if (!json_is_array(merges)) return duo_fail(err, "model: \"merges\" missing or not an array");
    if (opt_string_empty(j, "continuing_subword_prefix", err) || opt_string_empty(j, "end_of_word_suffix", err) ||
        opt_bool(j, "fuse_unk", &bpe->fuse_unk, err) || opt_bool(j, "byte_fallback", &bpe->byte_fallback, err) ||
        opt_bool(j, "ignore_merges", &bpe->ignore_merges, err))
        return -1;
    json_t *dropout = json_object_get(j, "dropout");
    if (dropout && !json_is_null(dropout) && !(json_is_number(dropout) && json_number_value(dropout) == 0.0))
        return duo_fail(err, "model: BPE dropout is not supported (only null)");

    const char *key;
    json_t *v;
    int32_t max_id = -1;
    json_object_foreach(vocab, key, v) {
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) >= TOK_MAX_ID)
            return duo_fail(err, "model: vocab entry \"%.100s\" must have an integer id in [0, %d)", key, TOK_MAX_ID);
        int32_t id = (int32_t)json_integer_value(v);
        if (tok_str_map_put(&bpe->vocab, key, strlen(key), id)) return duo_fail(err, "model: out of memory for the vocab");
        if (id > max_id) max_id = id;
    }
    bpe->vocab_count = bpe->vocab.count;
    bpe->n_ids = max_id + 1;
    bpe->id_to_token = calloc((size_t)bpe->n_ids + 1, sizeof *bpe->id_to_token);
    if (!bpe->id_to_token) return duo_fail(err, "model: out of memory for %d ids", bpe->n_ids);
    for (size_t i = 0; i < bpe->vocab.cap; i++) {
        tok_str_slot *s = &bpe->vocab.slots[i];
        if (s->key && !bpe->id_to_token[s->value]) bpe->id_to_token[s->value] = s->key;
    }

    size_t i;
    json_array_foreach(merges, i, v) {
        const char *a, *b;
        size_t la, lb;
        if (json_is_string(v)) {  /* "a b" */
            const char *s = json_string_value(v), *sp = strchr(s, ' ');
            if (!sp || strchr(sp + 1, ' '))
                return duo_fail(err, "model: merges[%zu] \"%.100s\" is not two tokens separated by one space", i, s);
            a = s, la = (size_t)(sp - s), b = sp + 1, lb = strlen(sp + 1);
        } else if (json_is_array(v) && json_array_size(v) == 2 && json_is_string(json_array_get(v, 0)) &&
                   json_is_string(json_array_get(v, 1))) {
            a = json_string_value(json_array_get(v, 0)), la = json_string_length(json_array_get(v, 0));
            b = json_string_value(json_array_get(v, 1)), lb = json_string_length(json_array_get(v, 1));
        } else {
            return duo_fail(err, "model: merges[%zu] must be \"a b\" or [\"a\", \"b\"]", i);
        }
        int32_t ia = vocab_id(bpe, a, la), ib = vocab_id(bpe, b, lb);
        if (ia < 0) return duo_fail(err, "model: merges[%zu] names token \"%.*s\" that is not in the vocab", i, (int)(la > 100 ? 100 : la), a);
        if (ib < 0) return duo_fail(err, "model: merges[%zu] names token \"%.*s\" that is not in the vocab", i, (int)(lb > 100 ? 100 : lb), b);
        char *ab = malloc(la + lb + 1);
        if (!ab) return duo_fail(err, "model: out of memory at merges[%zu]", i);
        memcpy(ab, a, la);
        memcpy(ab + la, b, lb);
        int32_t inew = vocab_id(bpe, ab, la + lb);
        free(ab);
        if (inew < 0)
            return duo_fail(err, "model: merges[%zu]: the merged token \"%.*s%.*s\" is not in the vocab", i,
                            (int)(la > 100 ? 100 : la), a, (int)(lb > 100 ? 100 : lb), b);
        if (i > INT32_MAX) return duo_fail(err, "model: too many merges");
        if (tok_pair_map_put(&bpe->merges, tok_pair_key(ia, ib), (int32_t)i, inew))
            return duo_fail(err, "model: out of memory at merges[%zu]", i);
    }

    /* Can a SentencePiece-style word ("▁The▁cat...") be cut before each "▁" that follows another
     * character?  Only if no merge has its junction there, and "▁" itself is a token (so no unknown
     * run of characters is fused across the cut).  Then BPE works on short, cacheable words. */
    bpe->split_metaspace = vocab_id(bpe, METASPACE, 3) >= 0;
    json_array_foreach(merges, i, v) {
        if (!bpe->split_metaspace) break;
        const char *a, *b;
        size_t la;
        if (json_is_string(v)) {
            a = json_string_value(v), b = strchr(a, ' ') + 1, la = (size_t)(b - 1 - a);
        } else {
            a = json_string_value(json_array_get(v, 0)), b = json_string_value(json_array_get(v, 1));
            la = json_string_length(json_array_get(v, 0));
        }
        int a_ends_meta = la >= 3 && !memcmp(a + la - 3, METASPACE, 3);
        if (!a_ends_meta && !strncmp(b, METASPACE, 3)) bpe->split_metaspace = 0;
    }

    json_t *unk = json_object_get(j, "unk_token");
    if (unk && !json_is_null(unk)) {
        if (!json_is_string(unk)) return duo_fail(err, "model: \"unk_token\" must be a string or null");
        if (!(bpe->unk_token = strdup(json_string_value(unk)))) return duo_fail(err, "model: out of memory");
        bpe->unk_id = vocab_id(bpe, bpe->unk_token, strlen(bpe->unk_token));
    }
    for (int b = 0; b < 256; b++) {
        char name[8];
        snprintf(name, sizeof name, "<0x%02X>", b);
        bpe->byte_ids[b] = vocab_id(bpe, name, 6);
    }
    bpe->cache = cache_new();
    return 0;
}

int tok_bpe_fold_byte_level(duo_tokenizer *tok, duo_error *err) {
    if (!tok->n_pretoks) return 0;
    tok_pretok *last = &tok->pretoks[tok->n_pretoks - 1];
    if (last->type != PRE_BYTE_LEVEL) return 0;
    /* The model will see raw bytes: index every token whose characters all come from the byte table
     * by those bytes.  The table is a bijection, so lookups give the same ids as on mapped text. */
    tok_bpe *bpe = &tok->bpe;
    for (size_t i = 0; i < bpe->vocab.cap; i++) {
        tok_str_slot *s = &bpe->vocab.slots[i];
        if (!s->key) continue;
        char *raw = malloc(s->len + 1);
        if (!raw) return duo_fail(err, "model: out of memory for the byte-level vocab");
        size_t n = 0, k = 0;
        int ok = utf8_valid_prefix(s->key, s->len) == s->len;
        while (ok && k < s->len) {
            size_t cl;
            int b = tok_cp_to_byte(tok_utf8_decode(s->key + k, &cl));
            if (b < 0) ok = 0;
            else raw[n++] = (char)b;
            k += cl;
        }
        if (ok && tok_str_map_put(&bpe->vocab_raw, raw, n, s->value)) {
            free(raw);
            return duo_fail(err, "model: out of memory for the byte-level vocab");
        }
        free(raw);
    }
    last->map_bytes = 0;
    bpe->raw_input = 1;
    return 0;
}

void tok_bpe_free(tok_bpe *bpe) {
    tok_str_map_free(&bpe->vocab);
    tok_str_map_free(&bpe->vocab_raw);
    tok_pair_map_free(&bpe->merges);
    free(bpe->id_to_token);
    free(bpe->unk_token);
    cache_free(bpe->cache);
}

/* ---- encoding one word ---- */

typedef struct {
    int32_t id, prev, next;
    uint32_t len;  /* bytes covered; 0 once merged into its left neighbour */
} symbol;

typedef struct {
    int32_t rank, pos, new_id;
} merge_entry;

static int entry_less(merge_entry a, merge_entry b) { return a.rank != b.rank ? a.rank < b.rank : a.pos < b.pos; }

static void heap_push(merge_entry *h, size_t *n, merge_entry e) {
    size_t i = (*n)++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!entry_less(e, h[p])) break;
        h[i] = h[p];
        i = p;
    }
    h[i] = e;
}

static merge_entry heap_pop(merge_entry *h, size_t *n) {
    merge_entry top = h[0], last = h[--*n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= *n) break;
        if (c + 1 < *n && entry_less(h[c + 1], h[c])) c++;
        if (!entry_less(h[c], last)) break;
        h[i] = h[c];
        i = c;
    }
    if (*n) h[i] = last;
    return top;
}

/* Room for `need` symbols (merge_word reserves its worst case up front). */
static int reserve_symbols(tok_work *w, size_t need, duo_error *err) {
    if (need <= w->bpe_sym_cap) return 0;
    size_t cap = need < 256 ? 256 : need * 2;
    void *p = realloc(w->bpe_sym, cap * sizeof(symbol));
    if (!p) return duo_fail(err, "out of memory for a %zu-symbol word", need);
    w->bpe_sym = p;
    w->bpe_sym_cap = cap;
    return 0;
}

static int reserve_heap(tok_work *w, size_t need, duo_error *err) {
    if (need <= w->bpe_heap_cap) return 0;
    void *p = realloc(w->bpe_heap, need * sizeof(merge_entry));
    if (!p) return duo_fail(err, "out of memory for the merges of a word");
    w->bpe_heap = p;
    w->bpe_heap_cap = need;
    return 0;
}

static symbol *add_symbol(tok_work *w, size_t *n, int32_t id, uint32_t len) {
    symbol *s = (symbol *)w->bpe_sym + *n;
    *s = (symbol){id, (int32_t)*n - 1, (int32_t)*n + 1, len};
    (*n)++;
    return s;
}

/* HF BPE::merge_word: characters -> symbols, then merge_all. */
static int merge_word(const tok_bpe *bpe, tok_work *w, const char *s, size_t len, size_t *n_out, duo_error *err) {
    const tok_str_map *map = bpe->raw_input ? &bpe->vocab_raw : &bpe->vocab;
    size_t n = 0;
    int32_t unk_pending = -1;
    uint32_t unk_len = 0;
    /* at most one symbol per byte, or two (a byte-level character's UTF-8) with byte fallback on raw input */
    if (reserve_symbols(w, 2 * len + 1, err)) return -1;
    for (size_t i = 0; i < len;) {
        size_t cl = bpe->raw_input ? 1 : tok_utf8_len((unsigned char)s[i]);
        if (cl > len - i) cl = len - i;
        int32_t id = tok_str_map_get(map, s + i, cl);
        if (id >= 0) {
            if (unk_pending >= 0) {
                add_symbol(w, &n, unk_pending, unk_len);
                unk_pending = -1;
            }
            add_symbol(w, &n, id, (uint32_t)cl);
            i += cl;
            continue;
        }
        if (bpe->byte_fallback) {
            /* the character as the model sees it: for raw input, its byte-level form */
            char ch[4];
            size_t chn = cl;
            if (bpe->raw_input) chn = tok_utf8_encode(tok_byte_to_cp((unsigned char)s[i]), ch);
            else memcpy(ch, s + i, cl);
            int all = 1;
            for (size_t k = 0; k < chn; k++) all &= bpe->byte_ids[(unsigned char)ch[k]] >= 0;
            if (all) {
                for (size_t k = 0; k < chn; k++) add_symbol(w, &n, bpe->byte_ids[(unsigned char)ch[k]], 1);
                i += cl;
                continue;
            }
        }
        if (bpe->unk_token) {
            if (bpe->unk_id < 0)
                return duo_fail(err, "the unk_token \"%s\" is not in the vocabulary", bpe->unk_token);
            if (unk_pending >= 0 && bpe->fuse_unk) {
                unk_len += (uint32_t)cl;
            } else {
                if (unk_pending >= 0) add_symbol(w, &n, unk_pending, unk_len);
                unk_pending = bpe->unk_id;
                unk_len = (uint32_t)cl;
            }
        }
        i += cl;
    }
    if (unk_pending >= 0) add_symbol(w, &n, unk_pending, unk_len);
    if (n == 0) {
        *n_out = 0;
        return 0;
    }
    symbol *sym = w->bpe_sym;
    sym[n - 1].next = -1;

    if (reserve_heap(w, n * 2 + 16, err)) return -1;
    merge_entry *heap = w->bpe_heap;
    size_t hn = 0;
    for (size_t i = 0; i + 1 < n; i++) {
        const tok_pair_slot *m = tok_pair_map_get(&bpe->merges, tok_pair_key(sym[i].id, sym[i + 1].id));
        if (m) heap_push(heap, &hn, (merge_entry){m->rank, (int32_t)i, m->new_id});
    }
    while (hn) {
        merge_entry top = heap_pop(heap, &hn);
        symbol *cur = &sym[top.pos];
        if (cur->len == 0 || cur->next < 0) continue;
        symbol right = sym[cur->next];
        const tok_pair_slot *m = tok_pair_map_get(&bpe->merges, tok_pair_key(cur->id, right.id));
        if (!m || m->new_id != top.new_id) continue;  /* a stale entry */
        int32_t right_pos = cur->next;
        cur->id = top.new_id;
        cur->len += right.len;
        cur->next = right.next;
        sym[right_pos].len = 0;
        if (right.next >= 0) sym[right.next].prev = top.pos;
        /* at most two new entries per merge: heap capacity n*2 is enough */
        if (hn + 2 > w->bpe_heap_cap) {
            if (reserve_heap(w, w->bpe_heap_cap * 2, err)) return -1;
            heap = w->bpe_heap;
        }
        if (cur->prev >= 0) {
            const tok_pair_slot *pm = tok_pair_map_get(&bpe->merges, tok_pair_key(sym[cur->prev].id, cur->id));
            if (pm) heap_push(heap, &hn, (merge_entry){pm->rank, cur->prev, pm->new_id});
        }
        if (cur->next >= 0) {
            const tok_pair_slot *nm = tok_pair_map_get(&bpe->merges, tok_pair_key(cur->id, sym[cur->next].id));
            if (nm) heap_push(heap, &hn, (merge_entry){nm->rank, top.pos, nm->new_id});
        }
    }
    *n_out = n;
    return 0;
}

/* One word through the cache and merge_word; h is tok_hash(s, len) or 0 if not computed yet. */
static int encode_segment(const tok_bpe *bpe, tok_work *w, const char *s, size_t len, uint64_t h, duo_ids *out,
                          duo_error *err) {
    int use_cache = w->cache_locked && len < CACHE_MAX_WORD;
    if (use_cache) {
        if (!h) h = tok_hash(s, len);
        const cache_slot *e = cache_get(bpe->cache, s, len, h);
        if (e) {
            if (e->ids_n) ids_append(out, bpe->cache->ids + e->ids_off, e->ids_n);
            return 0;
        }
    }
    size_t n = 0, first = out->len;
    if (merge_word(bpe, w, s, len, &n, err)) return -1;
    const symbol *sym = w->bpe_sym;
    for (size_t i = 0; i < n; i++)
        if (sym[i].len) ids_push(out, sym[i].id);
    if (use_cache) cache_put(bpe->cache, s, len, h, out->len > first ? out->ids + first : NULL, out->len - first);
    return 0;
}

int tok_bpe_encode_word(const tok_bpe *bpe, tok_work *w, const char *s, size_t len, duo_ids *out, duo_error *err) {
    if (len == 0) return 0;
    uint64_t h = 0;
    if (bpe->ignore_merges) {  /* HF: a word that is a token stays whole */
        h = tok_hash(s, len);
        int32_t id = tok_str_map_get_h(bpe->raw_input ? &bpe->vocab_raw : &bpe->vocab, s, len, h);
        if (id >= 0) {
            ids_push(out, id);
            return 0;
        }
    }
    if (!bpe->split_metaspace || bpe->raw_input) return encode_segment(bpe, w, s, len, h, out, err);
    size_t start = 0;
    for (size_t i = 1; i + 3 <= len; i++) {
        if (memcmp(s + i, METASPACE, 3)) continue;
        if (i >= 3 && !memcmp(s + i - 3, METASPACE, 3)) continue;  /* inside a run of "▁" */
        if (encode_segment(bpe, w, s + start, i - start, 0, out, err)) return -1;
        start = i;
        i += 2;
    }
    return encode_segment(bpe, w, s + start, len - start, start ? 0 : h, out, err);
}

int tok_bpe_cache_lock(const tok_bpe *bpe) { return bpe->cache && pthread_mutex_trylock(&bpe->cache->mu) == 0; }
void tok_bpe_cache_unlock(const tok_bpe *bpe) { pthread_mutex_unlock(&bpe->cache->mu); }
