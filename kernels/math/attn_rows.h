/* The key columns of an attention score tile (DESIGN §1 mask, §5 attention), host and device.
 *
 * A chunk of queries (positions pmin..pmax, ascending) needs at most two contiguous ranges of key rows
 * (kernels/attn_mask.h): rows [0, a_rows) (positions below a_pos, the sink) and rows
 * [b_row, b_row + b_rows) (positions b_pos..pmax, the recent windows).  The chunk's score matrix has
 * a_rows + b_rows columns in that order.  kpos: the key rows' positions (ascending; NULL: row r is
 * position r), searched by bisection. */
#ifndef DUO_KERNELS_MATH_ATTN_ROWS_H
#define DUO_KERNELS_MATH_ATTN_ROWS_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/attn_mask.h"
#include "kernels/prims.h" /* duo_score_tile */

typedef struct {
    long long a_pos, b_pos;
    size_t a_rows, b_row, b_rows;
} duo_key_span;

/* Rows of kpos[0..nk) holding a position < p (kpos NULL: row r is position r). */
DUO_HOST_DEVICE static inline size_t duo_rows_below(const int32_t *kpos, size_t nk, long long p) {
    if (!kpos) return p <= 0 ? 0 : (size_t)p < nk ? (size_t)p : nk;
    size_t lo = 0, hi = nk;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (kpos[mid] < p) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/* The key rows a chunk of queries at positions pmin..pmax needs. */
DUO_HOST_DEVICE static inline duo_key_span duo_chunk_keys(const duo_attn_mask *mk, const int32_t *kpos, size_t nk,
                                                          long long pmin, long long pmax) {
    duo_key_span ks;
    long long a = attn_mask_sink_end(mk);
    if (a > pmax + 1) a = pmax + 1;
    long long b = attn_mask_recent_lo(mk, pmin);
    if (b < a) b = a;
    ks.a_pos = a;
    ks.b_pos = b;
    ks.a_rows = duo_rows_below(kpos, nk, a);
    ks.b_row = duo_rows_below(kpos, nk, b);
    size_t b_end = duo_rows_below(kpos, nk, pmax + 1);
    ks.b_rows = b_end > ks.b_row ? b_end - ks.b_row : 0;
    return ks;
}

/* The score columns query position i sees: [0, *a_end) and [*b_start, *b_end).  The mask has the shape
 * "j <= i and (j < sink_end or j >= recent_lo(i))": range A holds the keys below min(sink_end, i + 1)
 * (a_pos already is sink_end clipped to the chunk), range B the keys from max(recent_lo(i), b_pos) to i. */
DUO_HOST_DEVICE static inline void duo_row_cols(const duo_attn_mask *mk, const duo_key_span *ks, const int32_t *kpos,
                                                size_t nk, long long i, int *a_end, int *b_start, int *b_end) {
    long long a = ks->a_pos < i + 1 ? ks->a_pos : i + 1;
    *a_end = (int)duo_rows_below(kpos, nk, a);
    long long lo = attn_mask_recent_lo(mk, i);
    if (lo < ks->b_pos) lo = ks->b_pos;
    size_t r_lo = duo_rows_below(kpos, nk, lo), r_hi = duo_rows_below(kpos, nk, i + 1);
    size_t kend = ks->b_row + ks->b_rows;
    if (r_hi > kend) r_hi = kend;
    if (r_lo > kend) r_lo = kend; /* empty range B */
    *b_start = (int)(ks->a_rows + (r_lo - ks->b_row));
    *b_end = r_hi > r_lo ? (int)(ks->a_rows + (r_hi - ks->b_row)) : *b_start;
}

/* A tile's span fields as a duo_key_span. */
DUO_HOST_DEVICE static inline duo_key_span duo_tile_span(const duo_score_tile *t) {
    duo_key_span ks;
    ks.a_pos = t->a_pos;
    ks.b_pos = t->b_pos;
    ks.a_rows = t->a_rows;
    ks.b_row = t->b_row;
    ks.b_rows = t->b_rows;
    return ks;
}

/* Sets a tile's span fields for queries at positions pmin..pmax (t->mask, kpos, nk set; kpos must be
 * readable where this runs: the host copy when a composite plans tiles for a device). */
DUO_HOST_DEVICE static inline void duo_tile_set_span(duo_score_tile *t, const int32_t *kpos_here, long long pmin,
                                                     long long pmax) {
    duo_key_span ks = duo_chunk_keys(&t->mask, kpos_here, t->nk, pmin, pmax);
    t->a_pos = ks.a_pos;
    t->b_pos = ks.b_pos;
    t->a_rows = ks.a_rows;
    t->b_row = ks.b_row;
    t->b_rows = ks.b_rows;
    t->cols = (int)(ks.a_rows + ks.b_rows);
}

/* Row r of a tile: the visible columns (t->qpos and t->kpos read: backend memory, so call this where the
 * tile's memory is). */
DUO_HOST_DEVICE static inline void duo_tile_row_cols(const duo_score_tile *t, int r, int *a_end, int *b_start,
                                                     int *b_end) {
    duo_key_span ks = duo_tile_span(t);
    duo_row_cols(&t->mask, &ks, t->kpos, t->nk, t->qpos[r], a_end, b_start, b_end);
}

/* The key row (0..nk-1) behind column c of a tile. */
DUO_HOST_DEVICE static inline long long duo_tile_col_key_row(const duo_score_tile *t, int c) {
    return (size_t)c < t->a_rows ? (long long)c : (long long)(t->b_row + ((size_t)c - t->a_rows));
}

#endif
