/* duo-train synth: placeholder until its issue lands (see the issue tracker). */
#include <stdio.h>
#include <string.h>

#include "trainer/cli.h"

int cmd_synth(int argc, char **argv) {
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("usage: duo-train synth [options]\n(not built yet)\n");
        return 0;
    }
    fprintf(stderr, "duo-train synth: not built yet\n");
    return 2;
}
