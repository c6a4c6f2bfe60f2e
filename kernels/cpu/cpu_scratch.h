/* The CPU ops' per-thread scratch: grow-only blocks per thread, kept between calls (a fresh malloc of a
 * score block or a weight tile per call was an mmap and a page fault per page every call: glibc maps
 * blocks over 128 KiB).  Carved into 64-byte aligned pieces by cpu_scratch_take.  A thread's blocks live
 * as long as the thread (OpenMP's pool threads: the process).  One slot per use that may be live at the
 * same time as another: an attention task's tile (every thread), what the attention's calling thread
 * holds while its tasks run (the fused kernel's transposed keys), the bf16 linear layer's widened
 * weight tile (kernels/cpu/dense_bf16_impl.h). */
#ifndef DUO_KERNELS_CPU_CPU_SCRATCH_H
#define DUO_KERNELS_CPU_CPU_SCRATCH_H

#include <stddef.h>
#include <stdlib.h>

#define CPU_SCRATCH_ALIGN 64

enum { CPU_SCRATCH_ATTN_TILE, CPU_SCRATCH_ATTN_CALL, CPU_SCRATCH_BF16_TILE, CPU_SCRATCH_SLOTS };

static _Thread_local struct {
    unsigned char *p;
    size_t cap;
} cpu_scratch_tls[CPU_SCRATCH_SLOTS];

static inline size_t cpu_scratch_round(size_t bytes) {
    return (bytes + CPU_SCRATCH_ALIGN - 1) / CPU_SCRATCH_ALIGN * CPU_SCRATCH_ALIGN;
}

/* The calling thread's block of a slot, at least `bytes` long (its contents not kept when it grows); NULL
 * when out of memory. */
static inline unsigned char *cpu_scratch_slot(int slot, size_t bytes) {
    bytes = cpu_scratch_round(bytes ? bytes : 1);
    if (bytes <= cpu_scratch_tls[slot].cap) return cpu_scratch_tls[slot].p;
    free(cpu_scratch_tls[slot].p);
    cpu_scratch_tls[slot].p = aligned_alloc(CPU_SCRATCH_ALIGN, bytes);
    cpu_scratch_tls[slot].cap = cpu_scratch_tls[slot].p ? bytes : 0;
    return cpu_scratch_tls[slot].p;
}

/* The next `bytes` of a block (*cur advanced past them, rounded to the alignment). */
static inline void *cpu_scratch_take(unsigned char **cur, size_t bytes) {
    void *p = *cur;
    *cur += cpu_scratch_round(bytes);
    return p;
}

#endif
