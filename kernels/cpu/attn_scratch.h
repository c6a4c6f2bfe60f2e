/* The CPU attention's per-thread scratch: grow-only blocks per thread, kept between calls (a fresh
 * malloc of a score block per call and thread was an mmap and a page fault per page every call: glibc
 * maps blocks over 128 KiB).  Carved into 64-byte aligned pieces by attn_scratch_take.  A thread's blocks
 * live as long as the thread (OpenMP's pool threads: the process).  Two slots: a task's tile scratch
 * (ATTN_SCRATCH_TILE, every thread) and what the calling thread holds for the whole call while its
 * tasks run (ATTN_SCRATCH_CALL: the fused kernel's transposed keys). */
#ifndef DUO_KERNELS_CPU_ATTN_SCRATCH_H
#define DUO_KERNELS_CPU_ATTN_SCRATCH_H

#include <stddef.h>
#include <stdlib.h>

#define ATTN_SCRATCH_ALIGN 64

enum { ATTN_SCRATCH_TILE, ATTN_SCRATCH_CALL, ATTN_SCRATCH_SLOTS };

static _Thread_local struct {
    unsigned char *p;
    size_t cap;
} attn_scratch_tls[ATTN_SCRATCH_SLOTS];

static inline size_t attn_scratch_round(size_t bytes) {
    return (bytes + ATTN_SCRATCH_ALIGN - 1) / ATTN_SCRATCH_ALIGN * ATTN_SCRATCH_ALIGN;
}

/* The calling thread's block of a slot, at least `bytes` long (its contents not kept when it grows); NULL
 * when out of memory. */
static inline unsigned char *attn_scratch_slot(int slot, size_t bytes) {
    bytes = attn_scratch_round(bytes ? bytes : 1);
    if (bytes <= attn_scratch_tls[slot].cap) return attn_scratch_tls[slot].p;
    free(attn_scratch_tls[slot].p);
    attn_scratch_tls[slot].p = aligned_alloc(ATTN_SCRATCH_ALIGN, bytes);
    attn_scratch_tls[slot].cap = attn_scratch_tls[slot].p ? bytes : 0;
    return attn_scratch_tls[slot].p;
}

/* The calling thread's tile block. */
static inline unsigned char *attn_scratch_get(size_t bytes) { return attn_scratch_slot(ATTN_SCRATCH_TILE, bytes); }

/* The next `bytes` of a block (*cur advanced past them, rounded to the alignment). */
static inline void *attn_scratch_take(unsigned char **cur, size_t bytes) {
    void *p = *cur;
    *cur += attn_scratch_round(bytes);
    return p;
}

#endif
