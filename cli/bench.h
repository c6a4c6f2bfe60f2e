/* The parts of `duo-train bench`, one per measured thing. */
#ifndef DUO_CLI_BENCH_H
#define DUO_CLI_BENCH_H

int bench_tokenizer(int argc, char **argv); /* duo-train bench tokenizer ... */
int bench_synth(int argc, char **argv);     /* duo-train bench synth ... */
int bench_step(int argc, char **argv);      /* duo-train bench step --backend cpu ... */

#endif
