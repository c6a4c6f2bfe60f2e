/* Which keys a query may see, for full causal attention and both streaming forms (DESIGN §1).
 *
 * Every mask used here has one shape: query i sees key j iff j <= i and (j < sink_end or j >= recent_lo(i)).
 *   full:        sink_end = "infinite" (every earlier key).
 *   sdpa:        sink_end = sink_size, recent_lo(i) = i - recent_size + 1 (token level).
 *   blocksparse: 128-token blocks; key block bj is visible to query block bi iff bj < ceil(sink/128)
 *                or bi - bj < ceil(recent/128), causal inside the diagonal block.  So
 *                sink_end = 128 * ceil(sink/128), recent_lo(i) = 128 * (i/128 - ceil(recent/128) + 1).
 *                (The reference computes its block counts as (size + 127) // 128.)
 * Because of this shape a chunk of queries needs at most two contiguous key ranges. */
#ifndef DUO_KERNELS_CPU_ATTN_MASK_H
#define DUO_KERNELS_CPU_ATTN_MASK_H

#include <limits.h>

#define DUO_STREAM_BLOCK 128

typedef enum { ATTN_FULL = 0, ATTN_STREAM_SDPA, ATTN_STREAM_BLOCKSPARSE } duo_attn_kind;

typedef struct {
    duo_attn_kind kind;
    int sink_size, recent_size; /* tokens; ignored for ATTN_FULL */
} duo_attn_mask;

static inline int attn_mask_sink_end(const duo_attn_mask *m) {
    switch (m->kind) {
    case ATTN_STREAM_SDPA: return m->sink_size;
    case ATTN_STREAM_BLOCKSPARSE:
        return DUO_STREAM_BLOCK * ((m->sink_size + DUO_STREAM_BLOCK - 1) / DUO_STREAM_BLOCK);
    default: return INT_MAX;
    }
}

/* First key position of query i's recent window (may be negative: then every earlier key). */
static inline long attn_mask_recent_lo(const duo_attn_mask *m, long i) {
    switch (m->kind) {
    case ATTN_STREAM_SDPA: return i - m->recent_size + 1;
    case ATTN_STREAM_BLOCKSPARSE: {
        long blocks = (m->recent_size + DUO_STREAM_BLOCK - 1) / DUO_STREAM_BLOCK;
        return DUO_STREAM_BLOCK * (i / DUO_STREAM_BLOCK - blocks + 1);
    }
    default: return 0;
    }
}

static inline int attn_mask_visible(const duo_attn_mask *m, long i, long j) {
    return j <= i && (j < attn_mask_sink_end(m) || j >= attn_mask_recent_lo(m, i));
}

#endif
