/* duo-train bench synth: placeholder until its issue lands. */
#include <stdio.h>

#include "trainer/bench.h"

int bench_synth(int argc, char **argv) {
    fprintf(stderr, "duo-train bench synth: not built yet\n");
    return 2;
}
