/* Dependency cone: the union of the visible-key ranges of a set of queries, by a difference array. */
#include <stdlib.h>

#include "model/cone.h"

int cone_keys(const duo_posset *out, const duo_attn_mask *mask, size_t n, duo_posset *keys_out) {
    int *diff = calloc(n + 1, sizeof *diff);
    if (!diff) return -1;
    long long sink_end = attn_mask_sink_end(mask);
    for (size_t r = 0; r < out->len; r++) {
        long long i = out->pos[r];
        long long a = sink_end < i + 1 ? sink_end : i + 1; /* [0, a) */
        if (a > 0) { diff[0]++; diff[a]--; }
        long long b = attn_mask_recent_lo(mask, i); /* [b, i] */
        if (b < 0) b = 0;
        diff[b]++;
        diff[i + 1]--;
    }
    size_t count = 0;
    int run = 0;
    for (size_t p = 0; p < n; p++) { run += diff[p]; if (run > 0) count++; }
    keys_out->pos = malloc((count ? count : 1) * sizeof *keys_out->pos);
    if (!keys_out->pos) { free(diff); return -1; }
    keys_out->len = 0;
    run = 0;
    for (size_t p = 0; p < n; p++) { run += diff[p]; if (run > 0) keys_out->pos[keys_out->len++] = (int)p; }
    free(diff);
    return 0;
}

int posset_rows_in(const duo_posset *sub, const duo_posset *super, int *row_of) {
    size_t j = 0;
    for (size_t r = 0; r < sub->len; r++) {
        while (j < super->len && super->pos[j] < sub->pos[r]) j++;
        if (j == super->len || super->pos[j] != sub->pos[r]) return -1;
        row_of[r] = (int)j;
    }
    return 0;
}

void posset_free(duo_posset *s) {
    free(s->pos);
    s->pos = NULL;
    s->len = 0;
}

double cone_visible_pairs(const duo_posset *out, const duo_attn_mask *mask) {
    double vis = 0;
    long long sink_end = attn_mask_sink_end(mask);
    for (size_t r = 0; r < out->len; r++) {
        long long i = out->pos[r], a = sink_end < i + 1 ? sink_end : i + 1, b = attn_mask_recent_lo(mask, i);
        if (b < a) b = a;
        vis += (double)a + (double)(i + 1 - b);
    }
    return vis;
}
