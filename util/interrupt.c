#include "util/interrupt.h"

#include <signal.h>
#include <string.h>

static volatile sig_atomic_t pending;

static void on_signal(int sig) {
    if (pending) {  /* a second Ctrl-C: stop now */
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    pending = sig;
}

void interrupt_install(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    pending = 0;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

void interrupt_uninstall(void) {
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    pending = 0;
}

int interrupt_requested(void) { return pending; }

void interrupt_raise_for_test(int sig) { pending = sig; }
