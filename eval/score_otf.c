/* The otf score (eval/score.h): kvpress's duo_attention_on_the_fly restated on the op interface.  The
 * projections, norms and RoPE are ops (the same the forward pass runs); the per-layer means, the last
 * query's softmax over q_len keys and its cumulative curve are host arithmetic in double. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/corpus.h"
#include "eval/score_impl.h"
#include "kernels/backend.h"
#include "model/layer.h"
#include "model/rope_freq.h"
#include "model/weights.h"
#include "synth/rng.h"
#include "util/clock.h"

typedef struct {
    void *cos_t, *sin_t;   /* [rows][hd/2], rows = max(longest text, q_len) */
    void *x;               /* [n][d] residual stream */
    duo_full_bufs b;       /* layer scratch over n rows */
    void *qrep, *krep;     /* [q_len][qdim], [q_len][kvdim]: the mean query / key at every position */
    int32_t *d_pos, *d_ids;/* [rows], [n] */
} otf_bufs;

static void otf_free(duo_backend *be, otf_bufs *f) {
    void *all[] = {f->cos_t, f->sin_t, f->x, f->b.h, f->b.q, f->b.k, f->b.v, f->b.a, f->b.g, f->b.u, f->qrep, f->krep,
                   f->d_pos, f->d_ids};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        if (all[i]) be->ops->free(be, all[i]);
}

/* Host copies of activation elements (float or double) as doubles. */
static void to_double(const duo_backend *be, const void *src, size_t n, double *dst) {
    for (size_t i = 0; i < n; i++)
        dst[i] = be->act_size == sizeof(float) ? (double)((const float *)src)[i] : ((const double *)src)[i];
}
static void from_double(const duo_backend *be, const double *src, size_t n, void *dst) {
    for (size_t i = 0; i < n; i++) {
        if (be->act_size == sizeof(float)) ((float *)dst)[i] = (float)src[i];
        else ((double *)dst)[i] = src[i];
    }
}

/* mean[c] = mean over rows r < n of X[r][c] (host X [n][w] activation elements, downloaded). */
static void column_mean(const duo_backend *be, const void *X, size_t n, int w, double *mean, double *row) {
    for (int c = 0; c < w; c++) mean[c] = 0;
    for (size_t r = 0; r < n; r++) {
        to_double(be, (const char *)X + r * (size_t)w * be->act_size, (size_t)w, row);
        for (int c = 0; c < w; c++) mean[c] += row[c];
    }
    for (int c = 0; c < w; c++) mean[c] /= (double)n;
}

/* One layer's scores of one text, from its normed projections q [n][qdim], k [n][kvdim] (backend). */
static void layer_scores(duo_backend *be, const duo_dims *dm, otf_bufs *f, size_t n, int q_len, void *host_q,
                         void *host_k, double *tmp, double *out_kv) {
    const duo_ops *op = be->ops;
    int H = dm->H, KVH = dm->KVH, hd = dm->hd, group = H / KVH;
    size_t qd = (size_t)dm->qdim, kvd = (size_t)dm->kvdim, a = be->act_size;
    double *mq = tmp, *mk = mq + qd, *row = mk + kvd; /* [qdim], [kvdim], [max(qdim, q_len)] */
    op->download(be, host_q, f->b.q, n * qd * a);
    column_mean(be, host_q, n, dm->qdim, mq, row);
    op->download(be, host_k, f->b.k, n * kvd * a);
    column_mean(be, host_k, n, dm->kvdim, mk, row);
    /* the means repeated at positions 0..q_len-1, rotated there */
    for (int p = 0; p < q_len; p++) {
        from_double(be, mq, qd, (char *)host_q + (size_t)p * qd * a);
        from_double(be, mk, kvd, (char *)host_k + (size_t)p * kvd * a);
    }
    op->upload(be, f->qrep, host_q, (size_t)q_len * qd * a);
    op->upload(be, f->krep, host_k, (size_t)q_len * kvd * a);
    op->rope(be, f->qrep, (size_t)q_len, H, hd, f->d_pos, f->cos_t, f->sin_t, 0);
    op->rope(be, f->krep, (size_t)q_len, KVH, hd, f->d_pos, f->cos_t, f->sin_t, 0);
    op->download(be, host_q, act_at(be, f->qrep, (size_t)(q_len - 1) * qd), qd * a);
    op->download(be, host_k, f->krep, (size_t)q_len * kvd * a);
    to_double(be, host_q, qd, mq); /* the last query, rotated */
    double scale = 1 / sqrt((double)hd);
    for (int g = 0; g < KVH; g++) out_kv[g] = 0;
    for (int h = 0; h < H; h++) {
        int g = h / group;
        double mx = -INFINITY;
        for (int j = 0; j < q_len; j++) { /* scaled scores of the last query against key j */
            to_double(be, (const char *)host_k + ((size_t)j * kvd + (size_t)g * hd) * a, (size_t)hd, mk);
            double s = 0;
            for (int e = 0; e < hd; e++) s += mq[(size_t)h * hd + e] * mk[e];
            row[j] = s * scale;
            if (row[j] > mx) mx = row[j];
        }
        double sum = 0;
        for (int j = 0; j < q_len; j++) sum += row[j] = exp(row[j] - mx);
        /* mean of the cumulative attention curve */
        double cum = 0, area = 0;
        for (int j = 0; j < q_len; j++) {
            cum += row[j] / sum;
            area += cum;
        }
        out_kv[g] += area / q_len / group;
    }
}

int score_otf_ids(const duo_model *m, duo_backend *be, const int32_t *const *texts, const size_t *lens, int ntexts,
                  int q_len, duo_progress *bar, double *scores, duo_error *err) {
    duo_dims dm;
    if (dims_of(m, &dm, err)) return -1;
    if (ntexts < 1 || q_len < 1) return duo_fail(err, "otf needs at least one text and q_len >= 1");
    size_t N = 0;
    for (int t = 0; t < ntexts; t++) {
        if (lens[t] < 1) return duo_fail(err, "otf: text %d has no tokens", t);
        if (dims_check_ids(&dm, texts[t], lens[t], err)) {
            duo_error_prefix(err, "otf text %d", t);
            return -1;
        }
        if (lens[t] > N) N = lens[t];
    }
    if (N > (size_t)m->cfg.max_position_embeddings)
        return duo_fail(err, "otf: a text of %zu tokens exceeds %s's %d positions (cap it with --max_tokens)", N, m->dir,
                        m->cfg.max_position_embeddings);
    const duo_ops *op = be->ops;
    size_t a = be->act_size, d = (size_t)dm.d, qd = (size_t)dm.qdim, kvd = (size_t)dm.kvdim;
    size_t rows = N > (size_t)q_len ? N : (size_t)q_len, mlp = duo_mlp_rows(&dm, N);
    size_t host_rows = rows;
    otf_bufs f = {0};
    f.cos_t = op->alloc(be, rows * (size_t)(dm.hd / 2) * a);
    f.sin_t = op->alloc(be, rows * (size_t)(dm.hd / 2) * a);
    f.x = op->alloc(be, N * d * a);
    f.b.h = op->alloc(be, N * d * a);
    f.b.q = op->alloc(be, N * qd * a);
    f.b.k = op->alloc(be, N * kvd * a);
    f.b.v = op->alloc(be, N * kvd * a);
    f.b.a = op->alloc(be, N * qd * a);
    f.b.g = op->alloc(be, mlp * (size_t)dm.inter * a);
    f.b.u = op->alloc(be, mlp * (size_t)dm.inter * a);
    f.qrep = op->alloc(be, (size_t)q_len * qd * a);
    f.krep = op->alloc(be, (size_t)q_len * kvd * a);
    f.d_pos = op->alloc(be, rows * sizeof(int32_t));
    f.d_ids = op->alloc(be, N * sizeof(int32_t));
    int32_t *pos = malloc(rows * sizeof *pos);
    double *inv_freq = malloc((size_t)(dm.hd / 2) * sizeof *inv_freq);
    void *host_q = malloc(host_rows * qd * a), *host_k = malloc(host_rows * kvd * a);
    size_t tmp_n = qd + kvd + (qd > (size_t)q_len ? qd : (size_t)q_len) + kvd;
    double *tmp = malloc(tmp_n * sizeof *tmp), *kv = malloc((size_t)dm.KVH * sizeof *kv);
    duo_weights *w = NULL;
    int rc = -1;
    if (!pos || !inv_freq || !host_q || !host_k || !tmp || !kv) {
        duo_fail(err, "out of memory");
        goto done;
    }
    if (backend_check(be, err)) goto done;
    w = weights_create(m, be, 0, err);
    if (!w) goto done;
    for (size_t i = 0; i < rows; i++) pos[i] = (int32_t)i;
    op->upload(be, f.d_pos, pos, rows * sizeof *pos);
    rope_inv_freq(&m->cfg, dm.hd, a == sizeof(float), inv_freq);
    op->rope_tables(be, inv_freq, dm.hd, rows, f.cos_t, f.sin_t);
    memset(scores, 0, (size_t)dm.L * (size_t)dm.KVH * sizeof *scores);
    for (int t = 0; t < ntexts; t++) {
        size_t n = lens[t];
        op->upload(be, f.d_ids, texts[t], n * sizeof(int32_t));
        op->embed(be, m->embed_tokens, f.d_ids, n, f.x);
        for (int l = 0; l < dm.L; l++) {
            const duo_layer_dev *lw = weights_layer(w, l, err);
            if (!lw) goto done;
            /* the layer's input after input_layernorm, through q_proj / k_proj (and q/k norm) */
            op->rmsnorm(be, f.x, n, dm.d, lw->in_norm, dm.eps, f.b.h);
            layer_project_q(be, &dm, lw, f.b.h, n, f.b.q, NULL);
            layer_project_kv(be, &dm, lw, f.b.h, n, f.b.k, f.b.v, NULL);
            if (backend_check(be, err)) goto done;
            layer_scores(be, &dm, &f, n, q_len, host_q, host_k, tmp, kv);
            for (int g = 0; g < dm.KVH; g++) scores[l * dm.KVH + g] += kv[g] / ntexts;
            if (l + 1 < dm.L) { /* the next layer's input */
                layer_full_attention(be, &dm, lw, f.x, n, f.d_pos, f.cos_t, f.sin_t, &f.b);
                layer_finish(be, &dm, lw, f.x, n, &f.b);
            }
        }
        if (bar) progress_update(bar, t + 1, "text %d of %d (%zu tokens)", t + 1, ntexts, n);
    }
    rc = backend_check(be, err);
done:
    weights_free(w);
    otf_free(be, &f);
    free(pos);
    free(inv_freq);
    free(host_q);
    free(host_k);
    free(tmp);
    free(kv);
    return rc;
}

/* A seeded choice of k texts of the corpus (reservoir sampling over one pass, so a corpus of any size
 * costs k texts of memory), each tokenised with the tokenizer's special tokens (as kvpress's
 * tokenizer(text) call) and cut to max_tokens. */
static int choose_texts(const score_opts *o, const duo_tokenizer *tok, duo_ids *out, long *seen, duo_error *err) {
    duo_corpus *c = corpus_open(o->dataset, err);
    if (!c) return -1;
    int k = o->samples;
    char **keep = calloc((size_t)k, sizeof *keep);
    size_t *keep_len = calloc((size_t)k, sizeof *keep_len);
    if (!keep || !keep_len) {
        corpus_close(c);
        free(keep);
        free(keep_len);
        return duo_fail(err, "out of memory");
    }
    synth_rng rng = synth_rng_stream(o->seed, 0x6f7466 /* "otf" */, 0);
    long i = 0;
    int rc = 0;
    for (;;) {
        const char *text;
        size_t len;
        int r = corpus_next(c, &text, &len, err);
        if (r < 0) rc = -1;
        if (r <= 0) break;
        if (!len) continue;
        long slot = i < k ? i : (long)synth_rng_below(&rng, (uint32_t)(i + 1 > 0xffffffffL ? 0xffffffffL : i + 1));
        i++;
        if (slot >= k) continue;
        char *copy = malloc(len + 1);
        if (!copy) {
            rc = duo_fail(err, "out of memory");
            break;
        }
        memcpy(copy, text, len);
        copy[len] = 0;
        free(keep[slot]);
        keep[slot] = copy;
        keep_len[slot] = len;
    }
    corpus_close(c);
    *seen = i;
    if (!rc && i < k)
        rc = duo_fail(err, "%s holds %ld non-empty text%s, fewer than --samples %d", o->dataset, i, i == 1 ? "" : "s", k);
    for (int s = 0; s < k && !rc; s++) {
        if (tokenizer_encode(tok, keep[s], keep_len[s], 1, &out[s], err)) rc = -1;
        else if (o->max_tokens > 0 && out[s].len > (size_t)o->max_tokens) out[s].len = (size_t)o->max_tokens;
    }
    for (int s = 0; s < k; s++) free(keep[s]);
    free(keep);
    free(keep_len);
    return rc;
}

int score_otf_run(const score_opts *o, const duo_model *m, duo_backend *be, const duo_tokenizer *tok, double *values,
                  json_t *cfg, duo_error *err) {
    int k = o->samples;
    duo_ids *texts = calloc((size_t)k, sizeof *texts);
    const int32_t **ptr = calloc((size_t)k, sizeof *ptr);
    size_t *lens = calloc((size_t)k, sizeof *lens);
    long seen = 0;
    int rc = -1;
    if (!texts || !ptr || !lens) {
        duo_fail(err, "out of memory");
        goto done;
    }
    if (choose_texts(o, tok, texts, &seen, err)) goto done;
    size_t total = 0;
    for (int s = 0; s < k; s++) {
        ptr[s] = texts[s].ids;
        lens[s] = texts[s].len;
        total += lens[s];
    }
    fprintf(stderr, "duo-train score otf: %d of the %ld texts of %s (%zu tokens), q_len %d\n", k, seen, o->dataset,
            total, o->q_len);
    duo_progress bar;
    if (o->show_progress) progress_start(&bar, "score otf", k);
    int r = score_otf_ids(m, be, ptr, lens, k, o->q_len, o->show_progress ? &bar : NULL, values, err);
    if (o->show_progress) progress_end(&bar);
    if (r) goto done;
    int L = m->cfg.num_hidden_layers, KVH = m->cfg.num_key_value_heads;
    json_object_set_new(cfg, "num_samples", json_integer(k));
    json_object_set_new(cfg, "q_len", json_integer(o->q_len));
    json_object_set_new(cfg, "max_tokens", json_integer(o->max_tokens));
    json_object_set_new(cfg, "seed", json_integer((json_int_t)o->seed));
    json_object_set_new(cfg, "tokens", json_integer((json_int_t)total));
    json_object_set_new(cfg, "mapping", json_string("full_attention_heads = otf score (kvpress streams the lowest)"));
    json_object_set_new(cfg, "raw_scores", score_json_matrix(values, L, KVH));
    rc = 0;
done:
    for (int s = 0; texts && s < k; s++) ids_free(&texts[s]);
    free(texts);
    free(ptr);
    free(lens);
    return rc;
}
