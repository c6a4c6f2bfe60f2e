/* duo-train sweep: placeholder until its issue lands (see the issue tracker). */
#include <stdio.h>
#include <string.h>

#include "trainer/cli.h"

int cmd_sweep(int argc, char **argv) {
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("usage: duo-train sweep [options]\n(not built yet)\n");
        return 0;
    }
    fprintf(stderr, "duo-train sweep: not built yet\n");
    return 2;
}
