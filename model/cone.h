/* The student's dependency cone (DESIGN §5): which positions each student layer must compute. */
#ifndef DUO_MODEL_CONE_H
#define DUO_MODEL_CONE_H

#include <stddef.h>

#include "kernels/attn_mask.h"

/* Sorted, distinct positions. */
typedef struct {
    int *pos;
    size_t len;
} duo_posset;

/* keys_out = out ∪ every key that a query in out may see under mask (sorted).  n = sequence length.
 * Returns 0, or -1 on allocation failure. */
int cone_keys(const duo_posset *out, const duo_attn_mask *mask, size_t n, duo_posset *keys_out);
/* row_of[r] = the row of sub->pos[r] inside super (sub ⊆ super, both sorted); -1 if sub ⊄ super. */
int posset_rows_in(const duo_posset *sub, const duo_posset *super, int *row_of);
void posset_free(duo_posset *s);
/* The number of (query, key) pairs the queries in out see under mask (for FLOP counts). */
double cone_visible_pairs(const duo_posset *out, const duo_attn_mask *mask);

#endif
