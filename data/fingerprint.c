#include "data/fingerprint.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/fileio.h"
#include "data/safetensors.h"

#define HEAD_BYTES (1u << 20)
#define BLOCK 4096u
#define BLOCKS 64u

static uint64_t fnv(uint64_t h, const void *p, size_t n) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

int fingerprint_file(const char *path, uint64_t *h, duo_error *err) {
    if (file_check_regular(path, err)) return -1;
    int fd = open(path, O_RDONLY | O_NONBLOCK);
    if (fd < 0) return duo_fail(err, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return duo_fail(err, "%s: cannot stat: %s", path, strerror(errno));
    }
    uint64_t size = (uint64_t)st.st_size;
    unsigned char *buf = malloc(HEAD_BYTES);
    if (!buf) {
        close(fd);
        return duo_fail(err, "%s: out of memory", path);
    }
    uint64_t x = fnv(*h, &size, sizeof size);
    size_t head = size < HEAD_BYTES ? (size_t)size : HEAD_BYTES;
    int bad = pread(fd, buf, head, 0) != (ssize_t)head;
    x = fnv(x, buf, head);
    if (!bad && size > HEAD_BYTES + BLOCK) {
        uint64_t span = size - HEAD_BYTES - BLOCK;
        for (unsigned k = 0; k < BLOCKS && !bad; k++) {
            uint64_t at = HEAD_BYTES + span / (BLOCKS - 1) * k;
            bad = pread(fd, buf, BLOCK, (off_t)at) != (ssize_t)BLOCK;
            x = fnv(x, buf, BLOCK);
        }
    }
    free(buf);
    close(fd);
    if (bad) return duo_fail(err, "%s: read error while fingerprinting", path);
    *h = x;
    return 0;
}

static int cmp_tensor(const void *a, const void *b) {
    return strcmp((*(const duo_tensor *const *)a)->name, (*(const duo_tensor *const *)b)->name);
}

/* Sampled bytes of one tensor: 64 runs of 256 bytes spread evenly (the whole tensor when smaller). */
static uint64_t hash_tensor(uint64_t h, const duo_tensor *t) {
    h = fnv(h, t->name, strlen(t->name) + 1);
    h = fnv(h, &t->dtype, sizeof t->dtype);
    h = fnv(h, t->shape, sizeof t->shape);
    const unsigned char *p = t->data;
    const size_t run = 256, runs = 64;
    if (t->nbytes <= run * runs) return fnv(h, p, t->nbytes);
    size_t step = (t->nbytes - run) / (runs - 1);
    for (size_t k = 0; k < runs; k++) h = fnv(h, p + k * step, run);
    return h;
}

int fingerprint_model_weights(const char *model_dir, char *out, size_t cap, duo_error *err) {
    duo_checkpoint *ck = checkpoint_open(model_dir, err);
    if (!ck) return -1;
    /* The weight matrices (rank >= 2: embeddings, projections, MLPs) in name order, which are what makes
     * one checkpoint another; 1-D vectors (norm scales, biases) are left out. */
    size_t n = checkpoint_num_tensors(ck), m = 0;
    const duo_tensor **ts = malloc((n ? n : 1) * sizeof *ts);
    if (!ts) {
        checkpoint_close(ck);
        return duo_fail(err, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        const duo_tensor *t = checkpoint_tensor(ck, i);
        if (t->ndim >= 2) ts[m++] = t;
    }
    qsort(ts, m, sizeof *ts, cmp_tensor);
    uint64_t h = FINGERPRINT_INIT;
    for (size_t i = 0; i < m; i++) h = hash_tensor(h, ts[i]);
    free(ts);
    checkpoint_close(ck);
    snprintf(out, cap, "fnv1a64:%016llx", (unsigned long long)h);
    return 0;
}

int fingerprint_tokenizer(const char *path, char *out, size_t cap, duo_error *err) {
    char p[4096];
    if (path_is_dir(path)) path = path_join(p, sizeof p, path, "tokenizer.json");
    uint64_t h = FINGERPRINT_INIT;
    if (fingerprint_file(path, &h, err)) return -1;
    snprintf(out, cap, "fnv1a64:%016llx", (unsigned long long)h);
    return 0;
}
