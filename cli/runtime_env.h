/* Process-wide tuning of the BLAS and OpenMP runtimes, settled before any work starts. */
#ifndef DUO_CLI_RUNTIME_ENV_H
#define DUO_CLI_RUNTIME_ENV_H

/* Debian's OpenBLAS 0.3.21 does not recognise recent Xeons (Sapphire Rapids and later) and falls back
 * to its generic Prescott kernels, about 10x slower for sgemm.  OpenBLAS picks its kernels when the
 * library loads, before main(), so where it did that on a CPU with AVX-512 or AVX2 and the user set
 * no OPENBLAS_CORETYPE, this sets one (SkylakeX / Haswell) and re-executes the program once.
 * OMP_WAIT_POLICY is left to the user: the CPU backend runs every product on OpenMP's team with OpenBLAS
 * single-threaded (kernels/cpu/gemm_par_impl.h), so nothing competes with the team's idle threads, and
 * libgomp's default (spin a while, then sleep) spares a decode step's many short parallel regions the
 * ~50 us wake each that OMP_WAIT_POLICY=passive cost (medium shape, 2K tokens: 41 -> 30 ms/token).
 * DUO_NO_REEXEC=1 turns this off.  Returns only if no re-exec happened. */
void runtime_env_settle(int argc, char **argv);

#endif
