/* duo-train bench step: placeholder until its issue lands. */
#include <stdio.h>

#include "trainer/bench.h"

int bench_step(int argc, char **argv) {
    fprintf(stderr, "duo-train bench step: not built yet\n");
    return 2;
}
