/* The split KV cache of the DuoAttention inference path (DESIGN §4): per layer, the full heads' keys and
 * values for every position seen, and the streaming heads' for the attention sink and the recent
 * window only.  Heads are in full-first order (the layer's full KV heads, then its streaming ones), so
 * each kind is one contiguous block of columns and one attention call.
 *
 * After T tokens (evicted after every forward): full heads hold positions [0, T); streaming heads hold
 * [0, sink) and [T - recent, T) — every position while T <= sink + recent.  During a forward of m tokens
 * both also hold the chunk's m rows at the end.  Keys are stored after RoPE (absolute positions). */
#ifndef DUO_MODEL_KV_CACHE_H
#define DUO_MODEL_KV_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/ops.h"

typedef struct {
    duo_backend *be;
    int num_layers, num_kv_heads, head_dim, sink, recent;
    int *num_full;            /* [num_layers] full KV heads of each layer (the rest stream) */
    size_t cap_full;          /* rows of the full caches: the longest sequence */
    size_t cap_stream;        /* rows of the streaming caches: sink + recent + the longest chunk */
    size_t len;               /* tokens seen (= rows of the full caches) */
    size_t stream_len;        /* rows the streaming caches hold */
    void **k_full, **v_full;  /* [num_layers] each [cap_full][num_full*hd] */
    void **k_stream, **v_stream; /* [num_layers] each [cap_stream][(KVH - num_full)*hd] */
    int32_t *stream_pos;      /* host [cap_stream]: the position of each streaming row (every layer alike) */
    int32_t *d_stream_pos;    /* backend copy, valid between kv_cache_begin and kv_cache_end */
    void *scratch;            /* [recent][KVH*hd] rows moved by an eviction */
} duo_kv_cache;

/* num_full[l]: full KV heads of layer l.  max_len: the longest sequence; max_chunk: the most tokens one
 * forward adds.  0, or -1 with err set. */
int kv_cache_init(duo_kv_cache *c, duo_backend *be, int num_layers, int num_kv_heads, int head_dim,
                  const int *num_full, int sink, int recent, size_t max_len, size_t max_chunk, duo_error *err);
void kv_cache_free(duo_kv_cache *c);
/* Forget every token (a new sequence). */
void kv_cache_reset(duo_kv_cache *c);

/* A forward of m tokens at positions len..len+m-1 begins: their rows go after the cached ones. */
int kv_cache_begin(duo_kv_cache *c, size_t m, duo_error *err);
/* ... and ends: len += m, and every layer's streaming cache is evicted to sink + recent rows. */
void kv_cache_end(duo_kv_cache *c, size_t m);

/* Bytes the cache holds after len tokens, by the formula: per layer,
 * 2 (K and V) x head_dim x element bytes x (full heads x len + streaming heads x min(len, sink + recent)). */
size_t kv_cache_bytes(const duo_kv_cache *c);
/* The same if every head were full. */
size_t kv_cache_bytes_all_full(const duo_kv_cache *c);

#endif
