/* Which keys a query may see, for full causal attention and both streaming forms (DESIGN §1): one
 * visibility rule, shared by host code (the cone, the CPU kernels) and device code (CUDA kernels).
 *
 * Every mask used here has one shape: query i sees key j iff j <= i and (j < sink_end or j >= recent_lo(i)).
 *   full:        sink_end = "infinite" (every earlier key).
 *   sdpa:        sink_end = sink_size, recent_lo(i) = i - recent_size + 1 (token level).
 *   blocksparse: 128-token blocks; key block bj is visible to query block bi iff bj < ceil(sink/128)
 *                or bi - bj < ceil(recent/128), causal inside the diagonal block.  So
 *                sink_end = 128 * ceil(sink/128), recent_lo(i) = 128 * (i/128 - ceil(recent/128) + 1).
 *                (The reference computes its block counts as (size + 127) // 128.)
 * Because of this shape a chunk of queries needs at most two contiguous key ranges.  Positions and the
 * window arithmetic are 64-bit, so any int sink or recent size (INT_MAX included) is safe. */
#ifndef DUO_KERNELS_ATTN_MASK_H
#define DUO_KERNELS_ATTN_MASK_H

#include <limits.h>

#if defined(__CUDACC__)
#define DUO_HOST_DEVICE __host__ __device__
#else
#define DUO_HOST_DEVICE
#endif

#define DUO_STREAM_BLOCK 128

/* Full causal attention, or one of the reference's two streaming forms (--streaming_attn_implementation). */
typedef enum { ATTN_FULL = 0, ATTN_STREAM_SDPA, ATTN_STREAM_BLOCKSPARSE } duo_attn_kind;

typedef struct {
    duo_attn_kind kind;
    int sink_size, recent_size; /* tokens; ignored for ATTN_FULL */
} duo_attn_mask;

/* The reference's name of a streaming form ("sdpa", "blocksparse"; "full" for ATTN_FULL). */
static inline const char *attn_kind_name(duo_attn_kind k) {
    return k == ATTN_STREAM_SDPA ? "sdpa" : k == ATTN_STREAM_BLOCKSPARSE ? "blocksparse" : "full";
}

/* First position after the sink (LLONG_MAX for full attention). */
DUO_HOST_DEVICE static inline long long attn_mask_sink_end(const duo_attn_mask *m) {
    switch (m->kind) {
    case ATTN_STREAM_SDPA: return m->sink_size;
    case ATTN_STREAM_BLOCKSPARSE:
        return DUO_STREAM_BLOCK * (((long long)m->sink_size + DUO_STREAM_BLOCK - 1) / DUO_STREAM_BLOCK);
    default: return LLONG_MAX;
    }
}

/* First key position of query i's recent window (may be negative: then every earlier key). */
DUO_HOST_DEVICE static inline long long attn_mask_recent_lo(const duo_attn_mask *m, long long i) {
    switch (m->kind) {
    case ATTN_STREAM_SDPA: return i - m->recent_size + 1;
    case ATTN_STREAM_BLOCKSPARSE: {
        long long blocks = ((long long)m->recent_size + DUO_STREAM_BLOCK - 1) / DUO_STREAM_BLOCK;
        return DUO_STREAM_BLOCK * (i / DUO_STREAM_BLOCK - blocks + 1);
    }
    default: return 0;
    }
}

DUO_HOST_DEVICE static inline int attn_mask_visible(const duo_attn_mask *m, long long i, long long j) {
    return j <= i && (j < attn_mask_sink_end(m) || j >= attn_mask_recent_lo(m, i));
}

#endif
