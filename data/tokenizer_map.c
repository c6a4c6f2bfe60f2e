#include "data/tokenizer_map.h"

#include <stdlib.h>
#include <string.h>

/* FNV-1a over 8-byte words then a final mix: fast for the short keys of a vocabulary. */
uint64_t tok_hash(const void *data, size_t len) {
    const unsigned char *p = data;
    uint64_t h = 0xcbf29ce484222325ULL ^ (len * 0x9E3779B97F4A7C15ULL);
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = (h ^ w) * 0x100000001b3ULL;
        h ^= h >> 29;
        p += 8;
        len -= 8;
    }
    uint64_t w = 0;
    memcpy(&w, p, len);
    h = (h ^ w) * 0x100000001b3ULL;
    h ^= h >> 32;
    h *= 0xd6e8feb86659fd93ULL;
    h ^= h >> 32;
    return h;
}

static int str_map_grow(tok_str_map *m) {
    size_t cap = m->cap ? m->cap * 2 : 64;
    tok_str_slot *slots = calloc(cap, sizeof *slots);
    if (!slots) return -1;
    for (size_t i = 0; i < m->cap; i++) {
        tok_str_slot *s = &m->slots[i];
        if (!s->key) continue;
        size_t j = s->hash & (cap - 1);
        while (slots[j].key) j = (j + 1) & (cap - 1);
        slots[j] = *s;
    }
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
    return 0;
}

int tok_str_map_put(tok_str_map *m, const char *key, size_t len, int32_t value) {
    if (len > UINT32_MAX) return -1;
    if ((m->count + 1) * 2 > m->cap && str_map_grow(m)) return -1;
    uint64_t h = tok_hash(key, len);
    size_t j = h & (m->cap - 1);
    for (;; j = (j + 1) & (m->cap - 1)) {
        tok_str_slot *s = &m->slots[j];
        if (!s->key) break;
        if (s->hash == h && s->len == len && memcmp(s->key, key, len) == 0) {
            s->value = value;
            return 0;
        }
    }
    char *copy = malloc(len + 1);
    if (!copy) return -1;
    memcpy(copy, key, len);
    copy[len] = '\0';
    m->slots[j] = (tok_str_slot){h, copy, (uint32_t)len, value};
    m->count++;
    return 0;
}

int32_t tok_str_map_get(const tok_str_map *m, const char *key, size_t len) {
    return m->cap ? tok_str_map_get_h(m, key, len, tok_hash(key, len)) : -1;
}

int32_t tok_str_map_get_h(const tok_str_map *m, const char *key, size_t len, uint64_t h) {
    if (!m->cap) return -1;
    for (size_t j = h & (m->cap - 1);; j = (j + 1) & (m->cap - 1)) {
        const tok_str_slot *s = &m->slots[j];
        if (!s->key) return -1;
        if (s->hash == h && s->len == len && memcmp(s->key, key, len) == 0) return s->value;
    }
}

void tok_str_map_free(tok_str_map *m) {
    for (size_t i = 0; i < m->cap; i++) free(m->slots[i].key);
    free(m->slots);
    memset(m, 0, sizeof *m);
}

static size_t pair_slot(uint64_t key, size_t cap) {
    uint64_t h = key * 0x9E3779B97F4A7C15ULL;
    return (size_t)(h >> 20) & (cap - 1);
}

static int pair_map_grow(tok_pair_map *m) {
    size_t cap = m->cap ? m->cap * 2 : 64;
    tok_pair_slot *slots = malloc(cap * sizeof *slots);
    if (!slots) return -1;
    for (size_t i = 0; i < cap; i++) slots[i].key = UINT64_MAX;
    for (size_t i = 0; i < m->cap; i++) {
        if (m->slots[i].key == UINT64_MAX) continue;
        size_t j = pair_slot(m->slots[i].key, cap);
        while (slots[j].key != UINT64_MAX) j = (j + 1) & (cap - 1);
        slots[j] = m->slots[i];
    }
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
    return 0;
}

int tok_pair_map_put(tok_pair_map *m, uint64_t key, int32_t rank, int32_t new_id) {
    if ((m->count + 1) * 2 > m->cap && pair_map_grow(m)) return -1;
    size_t j = pair_slot(key, m->cap);
    while (m->slots[j].key != UINT64_MAX && m->slots[j].key != key) j = (j + 1) & (m->cap - 1);
    if (m->slots[j].key == UINT64_MAX) m->count++;
    m->slots[j] = (tok_pair_slot){key, rank, new_id};
    return 0;
}

const tok_pair_slot *tok_pair_map_get(const tok_pair_map *m, uint64_t key) {
    if (!m->cap) return NULL;
    for (size_t j = pair_slot(key, m->cap);; j = (j + 1) & (m->cap - 1)) {
        const tok_pair_slot *s = &m->slots[j];
        if (s->key == key) return s;
        if (s->key == UINT64_MAX) return NULL;
    }
}

void tok_pair_map_free(tok_pair_map *m) {
    free(m->slots);
    memset(m, 0, sizeof *m);
}
