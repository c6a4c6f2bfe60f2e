/* The CPU attention's per-thread scratch: one grow-only block per thread, kept between calls (a fresh
 * malloc of a score block per call and thread was an mmap and a page fault per page every call: glibc
 * maps blocks over 128 KiB).  Carved into 64-byte aligned pieces by attn_scratch_take.  A thread's block
 * lives as long as the thread (OpenMP's pool threads: the process). */
#ifndef DUO_KERNELS_CPU_ATTN_SCRATCH_H
#define DUO_KERNELS_CPU_ATTN_SCRATCH_H

#include <stddef.h>
#include <stdlib.h>

#define ATTN_SCRATCH_ALIGN 64

static _Thread_local struct {
    unsigned char *p;
    size_t cap;
} attn_scratch_tls;

static inline size_t attn_scratch_round(size_t bytes) {
    return (bytes + ATTN_SCRATCH_ALIGN - 1) / ATTN_SCRATCH_ALIGN * ATTN_SCRATCH_ALIGN;
}

/* The calling thread's block, at least `bytes` long; NULL when out of memory. */
static inline unsigned char *attn_scratch_get(size_t bytes) {
    bytes = attn_scratch_round(bytes ? bytes : 1);
    if (bytes <= attn_scratch_tls.cap) return attn_scratch_tls.p;
    free(attn_scratch_tls.p);
    attn_scratch_tls.p = aligned_alloc(ATTN_SCRATCH_ALIGN, bytes);
    attn_scratch_tls.cap = attn_scratch_tls.p ? bytes : 0;
    return attn_scratch_tls.p;
}

/* The next `bytes` of a block (*cur advanced past them, rounded to the alignment). */
static inline void *attn_scratch_take(unsigned char **cur, size_t bytes) {
    void *p = *cur;
    *cur += attn_scratch_round(bytes);
    return p;
}

#endif
