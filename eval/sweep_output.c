#include "eval/sweep_output.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/dir_lock.h"
#include "data/fileio.h"
#include "util/format.h"

char *sweep_prompt_key(char *buf, size_t cap, double sparsity, const char *baseline, int seed, int context_length,
                       double depth_percent, int sample, const char *dataset) {
    char sp[40], dp[40] = "-";
    format_double(sparsity, sp, sizeof sp);
    if (!isnan(depth_percent)) format_double(depth_percent, dp, sizeof dp);
    int k = snprintf(buf, cap, "sparsity=%s baseline=%s seed=%d context=%d depth=%s sample=%d", sp, baseline, seed,
                     context_length, dp, sample);
    if (dataset && k >= 0 && (size_t)k < cap) snprintf(buf + k, cap - (size_t)k, " dataset=%s", dataset);
    return buf;
}

char *sweep_line_key(const json_t *line, char *buf, size_t cap) {
    json_t *sp = json_object_get(line, "sparsity"), *b = json_object_get(line, "baseline"),
           *seed = json_object_get(line, "seed"), *ctx = json_object_get(line, "context_length"),
           *depth = json_object_get(line, "depth_percent"), *sample = json_object_get(line, "sample"),
           *dataset = json_object_get(line, "dataset");
    if (!json_is_number(sp) || !json_is_string(b) || !json_is_integer(seed) || !json_is_integer(ctx) ||
        !json_is_integer(sample) || (depth && !json_is_number(depth)) || (dataset && !json_is_string(dataset)))
        return NULL;
    return sweep_prompt_key(buf, cap, json_number_value(sp), json_string_value(b), (int)json_integer_value(seed),
                            (int)json_integer_value(ctx), depth ? json_number_value(depth) : NAN,
                            (int)json_integer_value(sample), dataset ? json_string_value(dataset) : NULL);
}

/* The files a sweep writes: a folder holding one holds an earlier sweep. */
static int is_sweep_file(const char *name) {
    size_t n = strlen(name);
    return !strcmp(name, SWEEP_RESPONSES) || !strcmp(name, SWEEP_CSV) || !strcmp(name, SWEEP_PARTIAL_CSV) ||
           !strcmp(name, "accuracy_vs_sparsity.png") || !strcmp(name, SWEEP_LONGBENCH_SUMMARY) ||
           !strcmp(name, SWEEP_LONGBENCH_PRED) ||
           (!strncmp(name, "longbench", 9) && n > 4 && !strcmp(name + n - 4, ".png")) ||
           (!strncmp(name, "niah_sparsity=", 14) && n > 4 && !strcmp(name + n - 4, ".png"));
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw) {
    (void)st, (void)type, (void)ftw;
    return remove(path);
}

/* An earlier sweep's file (name), or LongBench's pred folder with what it holds (links removed, never
 * followed); any other folder under a sweep file's name is left, and unlink's error reported.  0, or -1
 * with errno set. */
static int remove_output(const char *path, const char *name) {
    struct stat st;
    if (lstat(path, &st) != 0) return -1;
    if (!S_ISDIR(st.st_mode) || strcmp(name, SWEEP_LONGBENCH_PRED)) return unlink(path);
    return nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int by_key(const void *a, const void *b) {
    return strcmp(((const sweep_resumed *)a)->key, ((const sweep_resumed *)b)->key);
}

/* Reads responses.jsonl back: every whole line must be a response line; a last line without its newline
 * or cut mid-JSON (a kill -9 during a write) is dropped, so its prompt runs again. */
static int read_back(sweep_output *out, duo_error *err) {
    size_t len = 0;
    char *text = file_read_all(out->responses, &len, err);
    if (!text) return -1;
    size_t cap = 0, lineno = 0;
    int rc = 0;
    for (size_t i = 0; i < len && !rc;) {
        char *nl = memchr(text + i, '\n', len - i);
        size_t end = nl ? (size_t)(nl - text) : len;
        lineno++;
        json_error_t je;
        json_t *line = json_loadb(text + i, end - i, 0, &je);
        char key[512];
        if (!line || !sweep_line_key(line, key, sizeof key)) {
            json_decref(line);
            if (!nl || end + 1 == len) break; /* the torn last line */
            rc = duo_fail(err, "%s:%zu: not a sweep response line (%s); --overwrite replaces the folder's sweep",
                          out->responses, lineno, line ? "a field is missing" : je.text);
            break;
        }
        if (!nl) { /* whole JSON but no newline: the write was cut just before it */
            json_decref(line);
            break;
        }
        if (out->num_done == cap) {
            cap = cap ? 2 * cap : 256;
            sweep_resumed *grown = realloc(out->done, cap * sizeof *grown);
            if (!grown) {
                json_decref(line);
                rc = duo_fail(err, "%s: out of memory reading %zu lines back", out->responses, lineno);
                break;
            }
            out->done = grown;
        }
        out->done[out->num_done++] = (sweep_resumed){strdup(key), line, 0};
        if (!out->done[out->num_done - 1].key) rc = duo_fail(err, "%s: out of memory", out->responses);
        out->good_len = (off_t)end + 1;
        i = end + 1;
    }
    free(text);
    if (rc) return -1;
    qsort(out->done, out->num_done, sizeof *out->done, by_key);
    for (size_t i = 1; i < out->num_done; i++)
        if (!strcmp(out->done[i - 1].key, out->done[i].key))
            return duo_fail(err, "%s holds the same prompt twice (%s): not one sweep's responses; --overwrite "
                                 "replaces them", out->responses, out->done[i].key);
    return 0;
}

static int open_responses(sweep_output *out, duo_error *err) {
    out->fd = open(out->responses, O_WRONLY | O_CREAT | O_CLOEXEC | O_NONBLOCK, 0644);
    if (out->fd < 0) return duo_fail(err, "%s: cannot create: %s", out->responses, strerror(errno));
    /* drop a torn tail, then write after the last whole line */
    if (ftruncate(out->fd, out->good_len) != 0 || lseek(out->fd, out->good_len, SEEK_SET) < 0)
        return duo_fail(err, "%s: cannot write: %s", out->responses, strerror(errno));
    return 0;
}

int sweep_output_open(sweep_output *out, const char *dir, int resume, int overwrite, duo_error *err) {
    memset(out, 0, sizeof *out);
    out->lock_fd = out->fd = -1;
    if (snprintf(out->dir, sizeof out->dir, "%s", dir) >= (int)sizeof out->dir)
        return duo_fail(err, "--output_dir %.200s...: %s", dir, strerror(ENAMETOOLONG));
    path_join(out->responses, sizeof out->responses, dir, SWEEP_RESPONSES);
    if (make_dirs(dir, err)) return -1;
    out->lock_fd = dir_lock_take(dir, "sweep", "--output_dir", err);
    if (out->lock_fd < 0) return -1;
    const char *names[] = {SWEEP_RESPONSES, SWEEP_CSV, SWEEP_PARTIAL_CSV, "accuracy_vs_sparsity.png"};
    char path[4300];
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (file_check_output(path_join(path, sizeof path, dir, names[i]), err)) return -1;
    DIR *d = opendir(dir);
    if (!d) return duo_fail(err, "%s: cannot list the output folder: %s", dir, strerror(errno));
    char found[600] = "";
    size_t used = 0;
    int earlier = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!is_sweep_file(e->d_name)) continue;
        if (earlier++ < 4) {
            int k = snprintf(found + used, sizeof found - used, "%s%s", used ? ", " : "", e->d_name);
            if (k > 0 && used + (size_t)k < sizeof found) used += (size_t)k;
        }
    }
    closedir(d);
    if (!earlier) return 0;
    if (resume) {
        if (!path_exists(out->responses)) return 0;
        if (read_back(out, err) || open_responses(out, err)) return -1;
        return 0;
    }
    if (!overwrite)
        return duo_fail(err, "--output_dir %s holds an earlier sweep (%s%s); pass --resume to continue it, --overwrite "
                             "to replace it, or choose another --output_dir", dir, found, earlier > 4 ? ", ..." : "");
    /* --overwrite: the earlier sweep's files go first, so nothing of it stays next to the new one */
    d = opendir(dir);
    while (d && (e = readdir(d)))
        if (is_sweep_file(e->d_name) && remove_output(path_join(path, sizeof path, dir, e->d_name), e->d_name) != 0) {
            int en = errno;
            closedir(d);
            return duo_fail(err, "%s: cannot remove the earlier sweep's file: %s", path, strerror(en));
        }
    if (d) closedir(d);
    return 0;
}

json_t *sweep_output_resumed(sweep_output *out, const char *key) {
    if (!out->num_done) return NULL;
    sweep_resumed probe = {(char *)key, NULL, 0};
    sweep_resumed *hit = bsearch(&probe, out->done, out->num_done, sizeof *out->done, by_key);
    if (!hit) return NULL;
    hit->used = 1;
    return hit->line;
}

size_t sweep_output_unmatched(const sweep_output *out, const char **example) {
    size_t n = 0;
    for (size_t i = 0; i < out->num_done; i++)
        if (!out->done[i].used && !n++ && example) *example = out->done[i].key;
    return n;
}

int sweep_output_append(sweep_output *out, const char *text, duo_error *err) {
    if (out->fd < 0 && open_responses(out, err)) return -1;
    size_t len = strlen(text), done = 0;
    int e = 0;
    while (done <= len && !e) { /* the line, then its newline */
        const char *p = done < len ? text + done : "\n";
        size_t want = done < len ? len - done : 1;
        ssize_t k = write(out->fd, p, want);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) e = errno;
        else if (k == 0) e = EIO;
        else done += (size_t)k;
    }
    if (e) {
        /* whole lines only: a resume must never read half a response */
        if (ftruncate(out->fd, out->good_len) != 0 || lseek(out->fd, out->good_len, SEEK_SET) < 0) {
            /* the write's own reason is the one to report; a resume drops a torn last line anyway */
        }
        return duo_fail(err, "%s: write failed: %s", out->responses, strerror(e));
    }
    out->good_len += (off_t)len + 1;
    return 0;
}

void sweep_output_finished(sweep_output *out) {
    char path[4300];
    unlink(path_join(path, sizeof path, out->dir, SWEEP_PARTIAL_CSV));
}

void sweep_output_close(sweep_output *out) {
    if (out->fd >= 0) close(out->fd);
    out->fd = -1;
    dir_lock_release(out->lock_fd);
    out->lock_fd = -1;
    for (size_t i = 0; i < out->num_done; i++) {
        free(out->done[i].key);
        json_decref(out->done[i].line);
    }
    free(out->done);
    out->done = NULL;
    out->num_done = 0;
}
