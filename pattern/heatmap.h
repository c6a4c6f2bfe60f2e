/* A PNG heat map of the gates (layers x KV heads), like the reference's visualize_pruned_attention_heads:
 * one square cell per gate, matplotlib's "coolwarm" colour map over [0,1] (blue = streaming, red =
 * full attention; values outside are clipped, NaN is grey), layer and head indices on the axes and a
 * colour bar with 0, 0.5 and 1.  Written atomically with libpng. */
#ifndef DUO_PATTERN_HEATMAP_H
#define DUO_PATTERN_HEATMAP_H

#include <stdint.h>

#include "data/error.h"

/* gates: num_layers rows x num_kv_heads columns. */
int heatmap_write_png(const char *path, const float *gates, int num_layers, int num_kv_heads, duo_error *err);

/* The colour of value v in [0,1] (clipped), as 8-bit RGB; exposed for tests. */
void heatmap_coolwarm(double v, uint8_t rgb[3]);

#endif
