/* A growable array of token ids.  Out of memory never crashes: the failed append is dropped, the
 * function returns -1 and `oom` stays set, for the producer (e.g. tokenizer_encode) to report. */
#ifndef DUO_DATA_IDS_H
#define DUO_DATA_IDS_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

typedef struct {
    int32_t *ids;
    size_t len, cap;
    int oom;
} duo_ids;

static inline int ids_reserve(duo_ids *v, size_t n) {
    if (n <= v->cap) return 0;
    size_t cap = v->cap ? v->cap : 16;
    while (cap < n) cap *= 2;
    int32_t *p = (int32_t *)realloc(v->ids, cap * sizeof *v->ids);
    if (!p) {
        v->oom = 1;
        return -1;
    }
    v->ids = p;
    v->cap = cap;
    return 0;
}
static inline int ids_push(duo_ids *v, int32_t id) {
    if (ids_reserve(v, v->len + 1)) return -1;
    v->ids[v->len++] = id;
    return 0;
}
static inline int ids_append(duo_ids *v, const int32_t *ids, size_t n) {
    if (ids_reserve(v, v->len + n)) return -1;
    for (size_t i = 0; i < n; i++) v->ids[v->len + i] = ids[i];
    v->len += n;
    return 0;
}
static inline void ids_free(duo_ids *v) {
    free(v->ids);
    v->ids = NULL;
    v->len = v->cap = 0;
    v->oom = 0;
}

#endif
