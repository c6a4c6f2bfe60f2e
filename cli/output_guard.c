#include "cli/output_guard.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/dir_lock.h"
#include "data/fileio.h"
#include "data/h5store.h"
#include "pattern/export.h"
#include "synth/h5file.h"

int output_same_file(const char *a, const char *b) {
    struct stat x, y;
    return a && b && stat(a, &x) == 0 && stat(b, &y) == 0 && x.st_dev == y.st_dev && x.st_ino == y.st_ino;
}

/* The files a run writes (a folder holding any of them holds a run). */
static int is_run_file(const char *name) {
    return !strcmp(name, "config.json") || !strcmp(name, "train_state.h5") || !strcmp(name, "full_attention_heads.png") ||
           (!strncmp(name, "full_attention_heads", 20) && strlen(name) > 4 && !strcmp(name + strlen(name) - 4, ".tsv"));
}

/* 1 when path is a config.json that duo-train wrote (a training's or a `score`'s, not a model's). */
static int is_run_config(const char *path) {
    if (file_check_regular(path, NULL)) return 0;  /* a FIFO would block json_load_file */
    json_error_t je;
    json_t *o = json_load_file(path, 0, &je);
    int ours = json_is_object(o) && json_object_get(o, "sink_size") && !json_object_get(o, "model_type") &&
               ((json_object_get(o, "exp_name") && json_object_get(o, "reg_weight")) || json_object_get(o, "method"));
    json_decref(o);
    return ours;
}

static int take_lock(const char *dir, const char *what, run_lock *lock, duo_error *err) {
    int fd = dir_lock_take(dir, what, "--output_dir", err);
    if (fd < 0) return -1;
    lock->fd = fd;
    return 0;
}

void run_lock_release(run_lock *lock) {
    if (lock && lock->fd >= 0) {
        dir_lock_release(lock->fd);
        lock->fd = -1;
    }
}

/* A folder a pattern-writing run (train, score: `what`) writes: see output_guard.h. */
static int guard_run_dir(const char *out_dir, const char *model_dir, const char *dataset, int resume, int overwrite,
                         const char *what, run_lock *lock, int *has_state, duo_error *err) {
    lock->fd = -1;
    *has_state = 0;
    if (output_same_file(out_dir, model_dir))
        return duo_fail(err, "--output_dir %s is the model folder; the run's config.json would replace the model's",
                        out_dir);
    if (make_dirs(out_dir, err)) return -1;
    /* What is there already: model files are never ours to replace; earlier run files are refused or
     * cleared below. */
    DIR *d = opendir(out_dir);
    if (!d) return duo_fail(err, "%s: cannot list the output folder: %s", out_dir, strerror(errno));
    char found[512] = "";
    size_t used = 0;
    int nrun = 0, foreign = 0;
    struct dirent *e;
    char path[4200];
    while ((e = readdir(d))) {
        const char *n = e->d_name;
        size_t len = strlen(n);
        path_join(path, sizeof path, out_dir, n);
        if ((len > 12 && !strcmp(n + len - 12, ".safetensors")) || !strcmp(n, "tokenizer.json") ||
            !strcmp(n, "model.safetensors.index.json") || (!strcmp(n, "config.json") && !is_run_config(path))) {
            foreign = 1;
            snprintf(found, sizeof found, "%s", n);
            break;
        }
        if (output_same_file(path, dataset)) {
            closedir(d);
            return duo_fail(err, "--output_dir %s holds the dataset %s under a name the run writes (%s)", out_dir,
                            dataset, n);
        }
        if (!is_run_file(n)) continue;
        if (!strcmp(n, "train_state.h5")) *has_state = 1;
        if (nrun++ < 4) {
            int k = snprintf(found + used, sizeof found - used, "%s%s", used ? ", " : "", n);
            if (k > 0 && used + (size_t)k < sizeof found) used += (size_t)k;
        }
    }
    closedir(d);
    if (foreign)
        return duo_fail(err, "--output_dir %s looks like a model folder (it holds %s, not written by duo-train); "
                             "choose another --output_dir", out_dir, found);
    if (take_lock(out_dir, what, lock, err)) return -1;
    if (resume && *has_state) return 0;  /* the resume reads and continues the state */
    if (nrun == 0) return 0;
    if (!overwrite) {
        run_lock_release(lock);
        return duo_fail(err, "--output_dir %s holds an earlier run (%s%s)%s; %s--overwrite to replace it, or choose "
                             "another --output_dir", out_dir, found, nrun > 4 ? ", ..." : "",
                        resume ? " but no train_state.h5 to resume from" : "",
                        strcmp(what, "training") ? "pass " : "pass --resume to continue it, ");
    }
    /* --overwrite: the earlier run's files go first, so nothing of it stays next to the new run. */
    d = opendir(out_dir);
    while (d && (e = readdir(d)))
        if (is_run_file(e->d_name) && unlink(path_join(path, sizeof path, out_dir, e->d_name)) != 0) {
            int en = errno;
            closedir(d);
            run_lock_release(lock);
            return duo_fail(err, "%s: cannot remove the earlier run's file: %s", path, strerror(en));
        }
    if (d) closedir(d);
    *has_state = 0;
    return 0;
}

int output_guard_train_dir(const char *out_dir, const char *model_dir, const char *dataset, int resume, int overwrite,
                           run_lock *lock, int *has_state, duo_error *err) {
    return guard_run_dir(out_dir, model_dir, dataset, resume, overwrite, "training", lock, has_state, err);
}

int output_guard_score_dir(const char *out_dir, const char *model_dir, const char *dataset, int overwrite,
                           run_lock *lock, duo_error *err) {
    int has_state = 0;
    return guard_run_dir(out_dir, model_dir, dataset, 0, overwrite, "score", lock, &has_state, err);
}

int output_guard_synth_out(const char *out, const char *dataset, const char *tokenizer, duo_error *err) {
    char tj[4200];
    const char *tok_file = tokenizer && path_is_dir(tokenizer) ? path_join(tj, sizeof tj, tokenizer, "tokenizer.json")
                                                                 : tokenizer;
    if (output_same_file(out, dataset)) return duo_fail(err, "--out %s is the --dataset corpus itself", out);
    if (output_same_file(out, tok_file)) return duo_fail(err, "--out %s is the tokenizer file %s", out, tok_file);
    if (path_is_dir(out)) return duo_fail(err, "--out %s is a directory", out);
    if (!path_exists(out)) return 0;
    duo_error why = {0};
    synth_file *f = synth_file_open(out, &why);
    if (f) {
        synth_file_close(f);
        return 0;
    }
    return duo_fail(err, "--out %s exists and is not a duo-train synth file; refusing to replace it (remove it or "
                         "choose another name)", out);
}

int output_guard_export_dir(const char *out_dir, const char *pattern_dir, duo_error *err) {
    if (output_same_file(out_dir, pattern_dir))
        return duo_fail(err, "--output %s is the --pattern folder; its trained gates would be replaced", out_dir);
    char path[4200];
    path_join(path, sizeof path, out_dir, "full_attention_heads.tsv");
    if (!path_exists(path)) return 0;
    double *v = NULL;
    int rows = 0, cols = 0;
    duo_error why = {0};
    if (export_read_tsv(path, &v, &rows, &cols, &why)) return 0;  /* not a pattern: export_write_tsv reports */
    int binary = 1;
    for (long i = 0; i < (long)rows * cols && binary; i++) binary = v[i] == 0.0 || v[i] == 1.0;
    free(v);
    if (!binary)
        return duo_fail(err, "--output %s holds real-valued gates (a trained pattern); refusing to replace them with a "
                             "binarised one", out_dir);
    return 0;
}
