#include "train/train_loop.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "data/fileio.h"
#include "train/adamw.h"
#include "pattern/export.h"
#include "train/gates.h"
#include "pattern/heatmap.h"
#include "train/lr_schedule.h"
#include "util/interrupt.h"
#include "util/progress.h"

int train_identity_check(const char *saved, const char *current, duo_error *err) {
    json_error_t je;
    json_t *a = json_loads(saved, 0, &je), *b = json_loads(current, 0, &je);
    if (!a || !b) {
        json_decref(a);
        json_decref(b);
        return duo_fail(err, "run identity is not valid JSON");
    }
    char diff[768] = "";
    size_t used = 0;
    int ndiff = 0;
    const char *key;
    json_t *va;
    json_object_foreach(a, key, va) {
        json_t *vb = json_object_get(b, key);
        if (vb && json_equal(va, vb)) continue;
        char *sa = json_dumps(va, JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));
        char *sb = vb ? json_dumps(vb, JSON_ENCODE_ANY | JSON_REAL_PRECISION(15)) : NULL;
        int n = snprintf(diff + used, sizeof diff - used, "%s%s: saved %s, now %s", ndiff ? "; " : "", key,
                         sa ? sa : "?", sb ? sb : "(absent)");
        if (n > 0 && used + (size_t)n < sizeof diff) used += (size_t)n;
        free(sa);
        free(sb);
        ndiff++;
    }
    json_object_foreach(b, key, va) {
        if (json_object_get(a, key)) continue;
        int n = snprintf(diff + used, sizeof diff - used, "%s%s: not in the saved run", ndiff ? "; " : "", key);
        if (n > 0 && used + (size_t)n < sizeof diff) used += (size_t)n;
        ndiff++;
    }
    json_decref(a);
    json_decref(b);
    if (ndiff) return duo_fail(err, "the saved run used different settings (%s)", diff);
    return 0;
}

static int write_gates_tsv(const char *dir, const char *name, const duo_gates *g, duo_error *err) {
    char path[4096];
    return export_write_tsv(path_join(path, sizeof path, dir, name), g->alpha, g->num_layers, g->num_kv_heads, err);
}

/* Checkpoint after `step` updates: the state first (atomic; what --resume reads, so a failure here, a
 * full disk, leaves the previous checkpoint whole and no TSV of a step that has no state), then the
 * latest TSV and, at a save step, the step TSV (both atomic). */
static int save_checkpoint(const duo_train_opts *o, const duo_gates *g, const duo_adamw *opt,
                           const duo_train_log *log, int step_tsv, duo_error *err) {
    char name[96], path[4096];
    if (train_state_save(path_join(path, sizeof path, o->output_dir, TRAIN_STATE_FILE), g, opt, log, o->seed,
                         o->run_identity, err))
        return -1;
    snprintf(name, sizeof name, "full_attention_heads_step=%ld.tsv", opt->step);
    if (step_tsv && write_gates_tsv(o->output_dir, name, g, err)) return -1;
    return write_gates_tsv(o->output_dir, "full_attention_heads_latest.tsv", g, err);
}

/* Which checkpoint is on disk (the step of the last successful save). */
static void last_checkpoint_note(char *out, size_t cap, const duo_train_opts *o, long saved) {
    if (saved > 0) snprintf(out, cap, "the last checkpoint (step %ld) is kept in %s", saved, o->output_dir);
    else snprintf(out, cap, "no checkpoint was written yet");
}

int train_loop_run(const duo_train_opts *o, duo_objective *obj, duo_train_result *res, float *gates_out,
                   duo_error *err) {
    memset(res, 0, sizeof *res);
    if (o->num_steps < 5)
        return duo_fail(err, "num_steps must be at least 5 (the schedule divides by num_steps // 5), got %ld",
                        o->num_steps);
    if (o->save_steps <= 0) return duo_fail(err, "save_steps must be positive, got %ld", o->save_steps);
    duo_gates g;
    duo_adamw opt = {0};
    duo_train_log log;
    if (gates_init(&g, o->num_layers, o->num_kv_heads, o->initial_value, err)) return -1;
    size_t n = gates_count(&g);
    train_log_init(&log, n);
    float *grad = malloc(n * sizeof *grad);
    int rc = adamw_init(&opt, n, err);
    if (!rc && !grad) rc = duo_fail(err, "out of memory");

    char state_path[4096];
    path_join(state_path, sizeof state_path, o->output_dir, TRAIN_STATE_FILE);
    res->resumed = 0;
    if (!rc && o->resume && path_exists(state_path)) {
        res->resumed = 1;
        uint64_t seed;
        char *identity = NULL;
        rc = train_state_load(state_path, &g, &opt, &log, &seed, &identity, err);
        if (!rc && o->run_identity) {
            rc = train_identity_check(identity, o->run_identity, err);
            if (rc) duo_error_prefix(err, "refusing to resume from %s", state_path);
        }
        free(identity);
        if (!rc && opt.step > o->num_steps)
            rc = duo_fail(err, "%s is at step %ld, beyond --num_steps %ld", state_path, opt.step, o->num_steps);
    }
    res->start_step = opt.step;
    long saved = opt.step; /* the step whose state is on disk */

    duo_progress bar;
    int bar_on = !rc && o->show_progress && opt.step < o->num_steps;
    if (bar_on) progress_start(&bar, "train", o->num_steps - opt.step);
    long ctx_len = 0, sample_len = 0;
    double distill = 0, reg = 0, lr = 0;
    while (!rc && opt.step < o->num_steps && !(o->stop_after > 0 && opt.step >= o->stop_after)) {
        long s = opt.step; /* 0-based index of this update */
        gates_clamp(&g);
        rc = obj->run(obj->ctx, s, g.alpha, n, &distill, grad, &sample_len, &ctx_len, err);
        if (rc) {
            char note[160];
            last_checkpoint_note(note, sizeof note, o, saved);
            duo_error_prefix(err, "step %ld", s + 1);
            size_t len = strlen(err->msg);
            snprintf(err->msg + len, sizeof err->msg - len, "; %s", note);
            break;
        }
        reg = gates_l1_mean(g.alpha, n);
        double loss = distill + o->reg_weight * reg;
        int finite = isfinite(loss);
        for (size_t i = 0; i < n && finite; i++) finite = isfinite(grad[i]);
        if (!finite) {
            char note[160];
            last_checkpoint_note(note, sizeof note, o, saved);
            rc = duo_fail(err, "step %ld: the loss is not finite (distill %g, reg %g, loss %g%s); stopped before "
                               "the update; %s",
                          s + 1, distill, reg, loss, isfinite(loss) ? ", gradient not finite" : "", note);
            break;
        }
        gates_l1_grad_add(g.alpha, n, (float)o->reg_weight, grad);
        lr = lr_schedule_lr(o->lr, s, o->num_steps);
        adamw_step(&opt, g.alpha, grad, lr);
        rc = train_log_append(&log, distill, reg, loss, lr, sample_len, ctx_len, g.alpha, err);
        if (rc) break;
        if (bar_on)
            progress_update(&bar, opt.step - res->start_step, "step %ld/%ld ctx %ld len %ld distill %.4g reg %.4g lr %.2e",
                            opt.step, o->num_steps, ctx_len, sample_len, distill, reg, lr);
        if (opt.step % o->save_steps == 0 || opt.step == o->num_steps) {
            rc = save_checkpoint(o, &g, &opt, &log, 1, err);
            if (!rc) saved = opt.step;
            char path[4096];
            if (!rc)
                rc = heatmap_write_png(path_join(path, sizeof path, o->output_dir, "full_attention_heads.png"), g.alpha,
                                       g.num_layers, g.num_kv_heads, err);
        }
        if (!rc && interrupt_requested()) {
            res->interrupted = interrupt_requested();
            break;
        }
    }
    if (bar_on) progress_end(&bar);
    /* A stop on request (--stop_after, Ctrl-C) between save steps: save the state at this step
     * boundary, so --resume continues from here and nothing done is lost. */
    if (!rc && opt.step > saved && opt.step < o->num_steps) {
        rc = save_checkpoint(o, &g, &opt, &log, 0, err);
        if (!rc) saved = opt.step;
    }
    res->saved_step = saved;
    if (!rc && opt.step == o->num_steps) {
        /* The final pattern: the master gates after the last update (unclamped, as the reference saves). */
        rc = write_gates_tsv(o->output_dir, "full_attention_heads.tsv", &g, err);
        if (!rc) {
            char path[4096];
            rc = heatmap_write_png(path_join(path, sizeof path, o->output_dir, "full_attention_heads.png"), g.alpha,
                                   g.num_layers, g.num_kv_heads, err);
        }
        res->finished = !rc;
    }
    res->end_step = opt.step;
    res->last_distill = distill;
    res->last_reg = reg;
    if (opt.step == res->start_step && log.len > 0) { /* nothing ran (a finished run resumed): the logged values */
        res->last_distill = log.distill[log.len - 1];
        res->last_reg = log.reg[log.len - 1];
    }
    if (!rc && gates_out) memcpy(gates_out, g.alpha, n * sizeof *gates_out);
    free(grad);
    train_log_free(&log);
    adamw_free(&opt);
    gates_free(&g);
    return rc;
}
