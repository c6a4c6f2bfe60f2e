/* libFuzzer target: JSON lines (plain or zstd) through the corpus reader, from memory and, for inputs
 * up to 64 KB, through a real file descriptor (a memfd opened by path), so both byte sources are
 * covered.  Every returned text is read in full, so ASan sees any length the reader gets wrong. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "data/corpus.h"

static unsigned drain(duo_corpus *c) {
    duo_error err;
    const char *text;
    size_t len;
    unsigned sum = 0;
    int r;
    /* The reader must end (0) or fail (-1) after finitely many texts; an input of n bytes holds at
     * most n/12 texts ({"text":""} plus a newline is 12 bytes). */
    for (long n = 0; (r = corpus_next(c, &text, &len, &err)) == 1; n++) {
        if (!text) abort();
        for (size_t i = 0; i < len; i++) sum += (unsigned char)text[i];
        if (n > 1000000) abort();
    }
    if (r != 0 && r != -1) abort();
    /* errors are sticky, the end too */
    if (corpus_next(c, &text, &len, &err) != (r == 0 ? 0 : -1)) abort();
    return sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    duo_error err;
    duo_corpus *c = corpus_open_memory(data, size, "fuzz.jsonl", &err);
    unsigned a = 0, b = 0;
    int mem_ok = c != NULL;
    if (c) {
        a = drain(c);
        corpus_close(c);
    }
    if (size <= (64u << 10)) {
        int fd = memfd_create("fuzz-corpus", 0);
        if (fd < 0) return 0;
        if (write(fd, data, size) == (ssize_t)size) {
            char path[64];
            snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
            c = corpus_open(path, &err);
            /* both sources see the same bytes, so they must agree on opening */
            if ((c != NULL) != mem_ok) abort();
            if (c) {
                b = drain(c);
                corpus_close(c);
                if (a != b) abort();
            }
        }
        close(fd);
    }
    return 0;
}
