/* A growable array of token ids. */
#ifndef DUO_DATA_IDS_H
#define DUO_DATA_IDS_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

typedef struct {
    int32_t *ids;
    size_t len, cap;
} duo_ids;

static inline void ids_reserve(duo_ids *v, size_t n) {
    if (n <= v->cap) return;
    size_t cap = v->cap ? v->cap : 16;
    while (cap < n) cap *= 2;
    v->ids = (int32_t *)realloc(v->ids, cap * sizeof *v->ids);
    v->cap = cap;
}
static inline void ids_push(duo_ids *v, int32_t id) {
    ids_reserve(v, v->len + 1);
    v->ids[v->len++] = id;
}
static inline void ids_append(duo_ids *v, const int32_t *ids, size_t n) {
    ids_reserve(v, v->len + n);
    for (size_t i = 0; i < n; i++) v->ids[v->len + i] = ids[i];
    v->len += n;
}
static inline void ids_free(duo_ids *v) {
    free(v->ids);
    v->ids = NULL;
    v->len = v->cap = 0;
}

#endif
