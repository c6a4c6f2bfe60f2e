/* Ctrl-C (SIGINT) and SIGTERM as a request to stop at the next safe point, not an instant death:
 * long work (training steps, sample building) polls interrupt_requested() at its boundaries, saves
 * or discards what it has and returns.  A second signal while the first is pending ends the process
 * at once, as without a handler (a training step can take minutes on a large model).  The handler
 * only sets a flag, so library code stays free of signal logic: it just polls. */
#ifndef DUO_UTIL_INTERRUPT_H
#define DUO_UTIL_INTERRUPT_H

/* Installs the handlers (idempotent) and clears any pending request. */
void interrupt_install(void);
/* Restores the default actions (the CLI calls it when its work is done). */
void interrupt_uninstall(void);
/* The signal number that asked to stop (SIGINT, SIGTERM), or 0. */
int interrupt_requested(void);
/* For tests: behave as if the signal had arrived. */
void interrupt_raise_for_test(int sig);

#endif
