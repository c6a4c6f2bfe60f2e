#include "train/train_state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "data/h5store.h"

#define STATE_FORMAT "duo-train state 1"

void train_log_init(duo_train_log *log, size_t num_gates) {
    memset(log, 0, sizeof *log);
    log->num_gates = num_gates;
}

void train_log_free(duo_train_log *log) {
    free(log->distill);
    free(log->reg);
    free(log->loss);
    free(log->lr);
    free(log->sample_length);
    free(log->context_length);
    free(log->gate_history);
    size_t g = log->num_gates;
    memset(log, 0, sizeof *log);
    log->num_gates = g;
}

/* Grows *p to cap elements of size sz; leaves it untouched on failure. */
static int grow(void *pp, size_t cap, size_t sz) {
    void **p = pp;
    void *q = realloc(*p, cap * sz);
    if (!q) return -1;
    *p = q;
    return 0;
}

static int log_reserve(duo_train_log *log, size_t want, duo_error *err) {
    if (want <= log->cap) return 0;
    size_t cap = log->cap ? log->cap : 64;
    while (cap < want) cap *= 2;
    size_t g = log->num_gates ? log->num_gates : 1;
    if (grow(&log->distill, cap, sizeof(double)) || grow(&log->reg, cap, sizeof(double)) ||
        grow(&log->loss, cap, sizeof(double)) || grow(&log->lr, cap, sizeof(double)) ||
        grow(&log->sample_length, cap, sizeof(int64_t)) || grow(&log->context_length, cap, sizeof(int64_t)) ||
        grow(&log->gate_history, cap * g, sizeof(float)))
        return duo_fail(err, "training log: out of memory for %zu steps", cap);
    log->cap = cap;
    return 0;
}

int train_log_append(duo_train_log *log, double distill, double reg, double loss, double lr, int64_t sample_length,
                     int64_t context_length, const float *gates, duo_error *err) {
    if (log_reserve(log, log->len + 1, err)) return -1;
    size_t i = log->len++;
    log->distill[i] = distill;
    log->reg[i] = reg;
    log->loss[i] = loss;
    log->lr[i] = lr;
    log->sample_length[i] = sample_length;
    log->context_length[i] = context_length;
    memcpy(log->gate_history + i * log->num_gates, gates, log->num_gates * sizeof(float));
    return 0;
}

/* CRC-32 over everything a resume reads, in a fixed order, so a bit flip anywhere in the state (data
 * or attributes) is caught on load instead of resuming from corrupted gates or moments. */
static uint32_t state_checksum(size_t n, const float *gates, const float *m, const float *v, const duo_train_log *log,
                               size_t steps, const int64_t attrs[5], const double adam[4], const char *identity) {
    uLong c = crc32(0L, Z_NULL, 0);
#define ADD(p, bytes) if ((bytes) > 0) c = crc32_z(c, (const Bytef *)(p), (z_size_t)(bytes))
    ADD(gates, n * sizeof *gates);
    ADD(m, n * sizeof *m);
    ADD(v, n * sizeof *v);
    ADD(log->distill, steps * sizeof(double));
    ADD(log->reg, steps * sizeof(double));
    ADD(log->loss, steps * sizeof(double));
    ADD(log->lr, steps * sizeof(double));
    ADD(log->sample_length, steps * sizeof(int64_t));
    ADD(log->context_length, steps * sizeof(int64_t));
    ADD(log->gate_history, steps * n * sizeof(float));
    ADD(attrs, 5 * sizeof *attrs);
    ADD(adam, 4 * sizeof *adam);
    ADD(identity, strlen(identity));
#undef ADD
    return (uint32_t)c;
}

int train_state_save(const char *path, const duo_gates *g, const duo_adamw *opt, const duo_train_log *log,
                     uint64_t rng_seed, const char *run_identity, duo_error *err) {
    size_t L = (size_t)g->num_layers, H = (size_t)g->num_kv_heads, n = L * H, steps = log->len;
    if ((long)steps != opt->step || opt->n != n || log->num_gates != n)
        return duo_fail(err, "%s: inconsistent state (step %ld, %zu log entries)", path, opt->step, steps);
    duo_h5 *h = h5store_create(path, err);
    if (!h) return -1;
    size_t hist_dims[3] = {steps, L, H};
    int rc = h5store_write_2d(h, "state/gates", DUO_H5_F32, L, H, g->alpha, err) ||
             h5store_write_2d(h, "state/exp_avg", DUO_H5_F32, L, H, opt->exp_avg, err) ||
             h5store_write_2d(h, "state/exp_avg_sq", DUO_H5_F32, L, H, opt->exp_avg_sq, err) ||
             h5store_write_1d(h, "log/distill", DUO_H5_F64, steps, log->distill, err) ||
             h5store_write_1d(h, "log/reg", DUO_H5_F64, steps, log->reg, err) ||
             h5store_write_1d(h, "log/loss", DUO_H5_F64, steps, log->loss, err) ||
             h5store_write_1d(h, "log/lr", DUO_H5_F64, steps, log->lr, err) ||
             h5store_write_1d(h, "log/sample_length", DUO_H5_I64, steps, log->sample_length, err) ||
             h5store_write_1d(h, "log/context_length", DUO_H5_I64, steps, log->context_length, err) ||
             h5store_write_deflate(h, "log/gate_history", DUO_H5_F32, 3, hist_dims, log->gate_history, 4, err) ||
             h5store_set_attr_str(h, "/", "format", STATE_FORMAT, err) ||
             h5store_set_attr_i64(h, "/", "step", opt->step, err) ||
             h5store_set_attr_i64(h, "/", "num_layers", (int64_t)L, err) ||
             h5store_set_attr_i64(h, "/", "num_kv_heads", (int64_t)H, err) ||
             h5store_set_attr_f64(h, "/", "adamw_beta1", opt->beta1, err) ||
             h5store_set_attr_f64(h, "/", "adamw_beta2", opt->beta2, err) ||
             h5store_set_attr_f64(h, "/", "adamw_eps", opt->eps, err) ||
             h5store_set_attr_f64(h, "/", "adamw_weight_decay", opt->weight_decay, err) ||
             /* stored as int64 bits: HDF5 attributes here are signed */
             h5store_set_attr_i64(h, "/", "rng_seed", (int64_t)rng_seed, err) ||
             h5store_set_attr_i64(h, "/", "rng_position", opt->step, err) ||
             h5store_set_attr_str(h, "/", "run_identity", run_identity ? run_identity : "{}", err);
    if (!rc) {
        const int64_t attrs[5] = {opt->step, (int64_t)L, (int64_t)H, (int64_t)rng_seed, opt->step};
        const double adam[4] = {opt->beta1, opt->beta2, opt->eps, opt->weight_decay};
        uint32_t crc = state_checksum(n, g->alpha, opt->exp_avg, opt->exp_avg_sq, log, steps, attrs, adam,
                                      run_identity ? run_identity : "{}");
        rc = h5store_set_attr_i64(h, "/", "checksum_crc32", (int64_t)crc, err);
    }
    if (rc) {
        h5store_close(h);
        return -1;
    }
    return h5store_commit(h, err);
}

int train_state_load(const char *path, duo_gates *g, duo_adamw *opt, duo_train_log *log, uint64_t *rng_seed,
                     char **run_identity, duo_error *err) {
    *run_identity = NULL;
    duo_h5 *h = h5store_open(path, 0, err);
    if (!h) return -1;
    int64_t step = 0, L = 0, H = 0, seed = 0;
    char *fmt = h5store_get_attr_str(h, "/", "format", err);
    int rc = fmt ? 0 : -1;
    if (!rc && strcmp(fmt, STATE_FORMAT)) rc = duo_fail(err, "%s: not a duo-train state file (format \"%s\")", path, fmt);
    free(fmt);
    if (!rc)
        rc = h5store_get_attr_i64(h, "/", "step", &step, err) || h5store_get_attr_i64(h, "/", "num_layers", &L, err) ||
             h5store_get_attr_i64(h, "/", "num_kv_heads", &H, err) ||
             h5store_get_attr_i64(h, "/", "rng_seed", &seed, err);
    if (!rc && (L != g->num_layers || H != g->num_kv_heads))
        rc = duo_fail(err, "%s: gates are %lld x %lld, this model has %d layers x %d KV heads", path, (long long)L,
                      (long long)H, g->num_layers, g->num_kv_heads);
    size_t n = gates_count(g);
    if (!rc)
        rc = h5store_read(h, "state/gates", DUO_H5_F32, g->alpha, n, err) ||
             h5store_read(h, "state/exp_avg", DUO_H5_F32, opt->exp_avg, n, err) ||
             h5store_read(h, "state/exp_avg_sq", DUO_H5_F32, opt->exp_avg_sq, n, err);
    if (!rc && step < 0) rc = duo_fail(err, "%s: negative step %lld", path, (long long)step);
    train_log_free(log);
    if (!rc) rc = log_reserve(log, (size_t)step + 1, err);
    if (!rc && step > 0) {
        size_t s = (size_t)step;
        rc = h5store_read(h, "log/distill", DUO_H5_F64, log->distill, s, err) ||
             h5store_read(h, "log/reg", DUO_H5_F64, log->reg, s, err) ||
             h5store_read(h, "log/loss", DUO_H5_F64, log->loss, s, err) ||
             h5store_read(h, "log/lr", DUO_H5_F64, log->lr, s, err) ||
             h5store_read(h, "log/sample_length", DUO_H5_I64, log->sample_length, s, err) ||
             h5store_read(h, "log/context_length", DUO_H5_I64, log->context_length, s, err) ||
             h5store_read(h, "log/gate_history", DUO_H5_F32, log->gate_history, s * n, err);
    }
    if (!rc) {
        log->len = (size_t)step;
        opt->step = (long)step;
        *rng_seed = (uint64_t)seed;
        *run_identity = h5store_get_attr_str(h, "/", "run_identity", err);
        if (!*run_identity) rc = -1;
    }
    if (!rc) {
        int64_t stored = -1, pos = -1;
        double adam[4] = {0};
        rc = h5store_get_attr_i64(h, "/", "rng_position", &pos, err) ||
             h5store_get_attr_f64(h, "/", "adamw_beta1", &adam[0], err) ||
             h5store_get_attr_f64(h, "/", "adamw_beta2", &adam[1], err) ||
             h5store_get_attr_f64(h, "/", "adamw_eps", &adam[2], err) ||
             h5store_get_attr_f64(h, "/", "adamw_weight_decay", &adam[3], err);
        if (!rc && !h5store_has_attr(h, "/", "checksum_crc32"))
            rc = duo_fail(err, "%s: no checksum_crc32 attribute (not written by this duo-train, or damaged)", path);
        if (!rc) rc = h5store_get_attr_i64(h, "/", "checksum_crc32", &stored, err);
        if (!rc) {
            const int64_t attrs[5] = {step, L, H, seed, pos};
            uint32_t crc = state_checksum(n, g->alpha, opt->exp_avg, opt->exp_avg_sq, log, (size_t)step, attrs, adam,
                                          *run_identity);
            if ((int64_t)crc != stored)
                rc = duo_fail(err, "%s is damaged: its checksum does not match its contents (stored %08llx, computed "
                                   "%08lx); the gates and optimiser state cannot be trusted",
                              path, (unsigned long long)stored, (unsigned long)crc);
        }
        if (!rc && (adam[0] != opt->beta1 || adam[1] != opt->beta2 || adam[2] != opt->eps || adam[3] != opt->weight_decay))
            rc = duo_fail(err, "%s: AdamW settings (%g, %g, %g, %g) differ from this build's", path, adam[0], adam[1],
                          adam[2], adam[3]);
        if (rc) {
            free(*run_identity);
            *run_identity = NULL;
        }
    }
    h5store_close(h);
    if (rc) duo_error_prefix(err, "resuming from %s", path);
    return rc;
}

char *train_state_read_identity(const char *path, duo_error *err) {
    duo_h5 *h = h5store_open(path, 0, err);
    if (!h) return NULL;
    char *id = h5store_get_attr_str(h, "/", "run_identity", err);
    h5store_close(h);
    return id;
}
