/* Hash maps for the tokenizer: byte strings -> token id (the vocabulary), and token-id pairs ->
 * merge (rank, merged id).  Open addressing, power-of-two capacity, keys owned by the map. */
#ifndef DUO_DATA_TOKENIZER_MAP_H
#define DUO_DATA_TOKENIZER_MAP_H

#include <stddef.h>
#include <stdint.h>

uint64_t tok_hash(const void *data, size_t len);

typedef struct {
    uint64_t hash;
    char *key;        /* NUL-terminated copy; NULL marks an empty slot */
    uint32_t len;
    int32_t value;
} tok_str_slot;

typedef struct {
    tok_str_slot *slots;
    size_t cap, count;
} tok_str_map;

/* Inserts or overwrites; 0 on success, -1 when out of memory (the map unchanged). */
int tok_str_map_put(tok_str_map *m, const char *key, size_t len, int32_t value);
/* The value for key, or -1. */
int32_t tok_str_map_get(const tok_str_map *m, const char *key, size_t len);
/* The same with the key's tok_hash already computed. */
int32_t tok_str_map_get_h(const tok_str_map *m, const char *key, size_t len, uint64_t h);
void tok_str_map_free(tok_str_map *m);

typedef struct {
    uint64_t key;     /* (left << 32) | right; UINT64_MAX marks an empty slot */
    int32_t rank, new_id;
} tok_pair_slot;

typedef struct {
    tok_pair_slot *slots;
    size_t cap, count;
} tok_pair_map;

static inline uint64_t tok_pair_key(int32_t left, int32_t right) {
    return ((uint64_t)(uint32_t)left << 32) | (uint32_t)right;
}
/* 0, or -1 when out of memory (the map unchanged). */
int tok_pair_map_put(tok_pair_map *m, uint64_t key, int32_t rank, int32_t new_id);
/* The slot for key, or NULL. */
const tok_pair_slot *tok_pair_map_get(const tok_pair_map *m, uint64_t key);
void tok_pair_map_free(tok_pair_map *m);

#endif
