/* duo-train train: placeholder until its issue lands (see the issue tracker). */
#include <stdio.h>
#include <string.h>

#include "trainer/cli.h"

int cmd_train(int argc, char **argv) {
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("usage: duo-train train [options]\n(not built yet)\n");
        return 0;
    }
    fprintf(stderr, "duo-train train: not built yet\n");
    return 2;
}
