/* When a CPU loop is worth the OpenMP team.  Idle team threads spin a while and then sleep (libgomp's
 * default; under OMP_WAIT_POLICY=passive they sleep at once), and a parallel region that finds them asleep
 * wakes them through the kernel: about 50 us on a 2-core machine, as long as one thread takes over ~200K
 * simple float operations.  A decode step (one row per op) would pay that in every op,
 * so the loops open their team only above DUO_CPU_PAR_MIN units of work: elements touched, weighted by
 * the callers for per-element cost (an exp counts DUO_CPU_EXP_COST). */
#ifndef DUO_KERNELS_CPU_CPU_PAR_H
#define DUO_KERNELS_CPU_CPU_PAR_H

#include <stddef.h>

#define DUO_CPU_PAR_MIN ((size_t)1 << 17)
#define DUO_CPU_EXP_COST 8
/* the value of an OpenMP if() clause for a loop of `work` units */
#define DUO_CPU_PAR(work) ((size_t)(work) >= DUO_CPU_PAR_MIN)

/* A loop function compiled once per ISA (AVX-512, AVX2, the x86-64 baseline), the copy picked when the
 * library loads: for the loops gcc vectorizes (at -O2, contraction off, every copy gives the same bits). */
#if defined(__x86_64__) && !defined(DUO_NO_TARGET_CLONES)
#define DUO_CPU_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define DUO_CPU_CLONES
#endif

#endif
