/* Clocks for progress bars and benchmarks: monotonic wall seconds and the process's CPU seconds. */
#ifndef DUO_UTIL_CLOCK_H
#define DUO_UTIL_CLOCK_H

/* Seconds on CLOCK_MONOTONIC (an arbitrary origin: use differences). */
double clock_wall_s(void);
/* User + system CPU seconds of this process, all threads. */
double clock_cpu_s(void);
/* Peak resident set size of this process in MiB (getrusage). */
double clock_peak_rss_mib(void);

#endif
