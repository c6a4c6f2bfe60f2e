#include "model/kv_cache.h"

#include <stdlib.h>
#include <string.h>

#include "kernels/backend.h"

int kv_cache_init(duo_kv_cache *c, duo_backend *be, int num_layers, int num_kv_heads, int head_dim,
                  const int *num_full, int sink, int recent, size_t max_len, size_t max_chunk, duo_error *err) {
    memset(c, 0, sizeof *c);
    c->be = be;
    c->num_layers = num_layers;
    c->num_kv_heads = num_kv_heads;
    c->head_dim = head_dim;
    c->sink = sink;
    c->recent = recent;
    c->cap_full = max_len;
    c->cap_stream = (size_t)sink + (size_t)recent + max_chunk;
    if (c->cap_stream > max_len) c->cap_stream = max_len; /* never more rows than tokens */
    size_t L = (size_t)num_layers, a = be->act_size, hd = (size_t)head_dim;
    c->num_full = malloc(L * sizeof *c->num_full);
    c->k_full = calloc(L, sizeof *c->k_full);
    c->v_full = calloc(L, sizeof *c->v_full);
    c->k_stream = calloc(L, sizeof *c->k_stream);
    c->v_stream = calloc(L, sizeof *c->v_stream);
    c->stream_pos = malloc((c->cap_stream ? c->cap_stream : 1) * sizeof *c->stream_pos);
    if (!c->num_full || !c->k_full || !c->v_full || !c->k_stream || !c->v_stream || !c->stream_pos) {
        kv_cache_free(c);
        return duo_fail(err, "out of memory for the KV cache");
    }
    memcpy(c->num_full, num_full, L * sizeof *c->num_full);
    for (size_t l = 0; l < L && !be->failed; l++) {
        size_t nf = (size_t)num_full[l], ns = (size_t)num_kv_heads - nf;
        if (nf) {
            c->k_full[l] = be->ops->alloc(be, max_len * nf * hd * a);
            c->v_full[l] = be->ops->alloc(be, max_len * nf * hd * a);
        }
        if (ns) {
            c->k_stream[l] = be->ops->alloc(be, c->cap_stream * ns * hd * a);
            c->v_stream[l] = be->ops->alloc(be, c->cap_stream * ns * hd * a);
        }
    }
    c->d_stream_pos = be->ops->alloc(be, (c->cap_stream ? c->cap_stream : 1) * sizeof(int32_t));
    size_t moved = (size_t)recent < c->cap_stream ? (size_t)recent : c->cap_stream; /* an eviction moves <= this */
    c->scratch = be->ops->alloc(be, (moved ? moved : 1) * (size_t)num_kv_heads * hd * a);
    if (backend_check(be, err)) {
        duo_error_prefix(err, "KV cache for %zu tokens", max_len);
        kv_cache_free(c);
        return -1;
    }
    return 0;
}

void kv_cache_free(duo_kv_cache *c) {
    duo_backend *be = c->be;
    for (int l = 0; be && l < c->num_layers; l++) {
        if (c->k_full) be->ops->free(be, c->k_full[l]);
        if (c->v_full) be->ops->free(be, c->v_full[l]);
        if (c->k_stream) be->ops->free(be, c->k_stream[l]);
        if (c->v_stream) be->ops->free(be, c->v_stream[l]);
    }
    if (be) {
        be->ops->free(be, c->d_stream_pos);
        be->ops->free(be, c->scratch);
    }
    free(c->num_full);
    free(c->k_full);
    free(c->v_full);
    free(c->k_stream);
    free(c->v_stream);
    free(c->stream_pos);
    memset(c, 0, sizeof *c);
}

void kv_cache_reset(duo_kv_cache *c) { c->len = c->stream_len = 0; }

int kv_cache_begin(duo_kv_cache *c, size_t m, duo_error *err) {
    if (c->len + m > c->cap_full || c->stream_len + m > c->cap_stream)
        return duo_fail(err, "KV cache: %zu more tokens after %zu do not fit its %zu", m, c->len, c->cap_full);
    for (size_t i = 0; i < m; i++) c->stream_pos[c->stream_len + i] = (int32_t)(c->len + i);
    c->be->ops->upload(c->be, c->d_stream_pos, c->stream_pos, (c->stream_len + m) * sizeof *c->stream_pos);
    return 0;
}

/* Rows [from, from + count) of a [rows][width] cache to rows [to, to + count), through the scratch rows
 * (the ranges may overlap). */
static void move_rows(duo_kv_cache *c, void *cache, size_t width, size_t from, size_t to, size_t count) {
    duo_backend *be = c->be;
    be->ops->copy(be, c->scratch, act_at(be, cache, from * width), count * width);
    be->ops->copy(be, act_at(be, cache, to * width), c->scratch, count * width);
}

void kv_cache_end(duo_kv_cache *c, size_t m) {
    c->len += m;
    c->stream_len += m;
    size_t keep = (size_t)c->sink + (size_t)c->recent;
    if (c->stream_len <= keep) return;
    /* keep the first sink rows and the last recent rows */
    size_t from = c->stream_len - (size_t)c->recent, hd = (size_t)c->head_dim;
    for (int l = 0; l < c->num_layers; l++) {
        size_t width = (size_t)(c->num_kv_heads - c->num_full[l]) * hd;
        if (!width) continue;
        move_rows(c, c->k_stream[l], width, from, (size_t)c->sink, (size_t)c->recent);
        move_rows(c, c->v_stream[l], width, from, (size_t)c->sink, (size_t)c->recent);
    }
    memmove(c->stream_pos + c->sink, c->stream_pos + from, (size_t)c->recent * sizeof *c->stream_pos);
    c->stream_len = keep;
}

size_t kv_cache_bytes(const duo_kv_cache *c) {
    size_t keep = (size_t)c->sink + (size_t)c->recent, held = c->len < keep ? c->len : keep, total = 0;
    for (int l = 0; l < c->num_layers; l++) {
        size_t nf = (size_t)c->num_full[l], ns = (size_t)c->num_kv_heads - nf;
        total += 2 * (size_t)c->head_dim * c->be->act_size * (nf * c->len + ns * held);
    }
    return total;
}

size_t kv_cache_bytes_all_full(const duo_kv_cache *c) {
    return 2 * (size_t)c->head_dim * c->be->act_size * (size_t)c->num_kv_heads * c->len * (size_t)c->num_layers;
}
