/* duo-train bench tokenizer: placeholder until its issue lands. */
#include <stdio.h>

#include "trainer/bench.h"

int bench_tokenizer(int argc, char **argv) {
    fprintf(stderr, "duo-train bench tokenizer: not built yet\n");
    return 2;
}
