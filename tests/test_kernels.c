/* CPU primitives (kernels/cpu/ops.h) against independent oracles: masks against the reference's mask
 * definitions, attention against a naive double softmax, every backward against central finite
 * differences in double, float against double, and the cone against brute force. */
#include <math.h>
#include <stdint.h>

#include "kernels/cpu/vexp_d.h"
#include "kernels/math/elem.h"
#include "tests/cpu_ops_direct.h"
#include "model/cone.h"
#include "tests/harness.h"

static double frand(uint64_t *s) {
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(*s >> 11) / 9007199254740992.0 * 2 - 1;
}
static void fill(double *x, size_t n, uint64_t seed) {
    for (size_t i = 0; i < n; i++) x[i] = frand(&seed);
}

TEST(sdpa_mask_is_the_reference_token_mask) {
    /* reference: (triu(ones, diagonal=-recent+1) | sink columns) & causal */
    duo_attn_mask m = {ATTN_STREAM_SDPA, 5, 17};
    for (long i = 0; i < 100; i++)
        for (long j = 0; j < 100; j++) {
            int ref = j <= i && (j - i >= -17 + 1 || j < 5);
            CHECK_MSG(attn_mask_visible(&m, i, j) == ref, "i %ld j %ld", i, j);
        }
}

TEST(blocksparse_mask_blocks) {
    /* recent 256 -> 2 blocks: a token sees between 129 and 256 recent tokens; sink 64 -> block 0 */
    duo_attn_mask m = {ATTN_STREAM_BLOCKSPARSE, 64, 256};
    for (long i = 256; i < 1024; i++) {
        int recent = 0, sink = 0;
        for (long j = 0; j <= i; j++)
            if (attn_mask_visible(&m, i, j)) { if (j < 128) sink++; else recent++; }
        CHECK_EQ_INT(sink, 128);
        CHECK_MSG(recent >= 129 - 128 * (i < 384) && recent <= 256, "i %ld sees %d recent", i, recent);
        if (i >= 384) CHECK_EQ_INT(recent, 128 + i % 128 + 1);
    }
    /* block rule itself: bj < ceil(sink/128) or bi - bj < ceil(recent/128), causal inside the diagonal */
    duo_attn_mask m2 = {ATTN_STREAM_BLOCKSPARSE, 130, 100}; /* 2 sink blocks, 1 recent block */
    for (long i = 0; i < 700; i += 7)
        for (long j = 0; j < 700; j++) {
            long bi = i / 128, bj = j / 128;
            int ref = j <= i && (bj < 2 || bi - bj < 1);
            CHECK_MSG(attn_mask_visible(&m2, i, j) == ref, "i %ld j %ld", i, j);
        }
}

/* naive attention in double for one (query row, head) */
static void naive_attn(const duo_attn_shape *sh, long i, const double *q, const double *K, const double *V, int g,
                       double *out) {
    int hd = sh->head_dim, ks = sh->num_kv_heads * hd;
    double mx = -INFINITY, sum = 0;
    double *s = malloc((size_t)(i + 1) * sizeof *s);
    for (long j = 0; j <= i; j++) {
        s[j] = -INFINITY;
        if (!attn_mask_visible(&sh->mask, i, j)) continue;
        double dot = 0;
        for (int e = 0; e < hd; e++) dot += q[e] * K[j * ks + g * hd + e];
        s[j] = dot / sqrt(hd);
        if (s[j] > mx) mx = s[j];
    }
    for (int e = 0; e < hd; e++) out[e] = 0;
    for (long j = 0; j <= i; j++) {
        if (s[j] == -INFINITY) continue;
        double p = exp(s[j] - mx);
        sum += p;
        for (int e = 0; e < hd; e++) out[e] += p * V[j * ks + g * hd + e];
    }
    for (int e = 0; e < hd; e++) out[e] /= sum;
    free(s);
}

static const duo_attn_mask MASKS[] = {
    {ATTN_FULL, 0, 0}, {ATTN_STREAM_SDPA, 3, 20}, {ATTN_STREAM_SDPA, 0, 1}, {ATTN_STREAM_BLOCKSPARSE, 10, 100},
    {ATTN_STREAM_BLOCKSPARSE, 200, 300}};

TEST(attention_forward_matches_naive) {
    int H = 4, KVH = 2, hd = 6;
    size_t n = 420;
    int qpos[] = {0, 1, 2, 50, 127, 128, 129, 200, 255, 256, 300, 301, 302, 303, 350, 400, 419};
    size_t nq = sizeof qpos / sizeof *qpos;
    double *Q = malloc(nq * H * hd * sizeof *Q), *K = malloc(n * KVH * hd * sizeof *K),
           *V = malloc(n * KVH * hd * sizeof *V), *O = malloc(nq * H * hd * sizeof *O), ref[6];
    fill(Q, nq * H * hd, 1);
    fill(K, n * KVH * hd, 2);
    fill(V, n * KVH * hd, 3);
    for (size_t k = 0; k < nq * H * hd; k++) Q[k] *= 3; /* peaky softmax */
    double worst = 0;
    for (size_t mi = 0; mi < sizeof MASKS / sizeof *MASKS; mi++) {
        duo_attn_shape sh = {H, KVH, hd, MASKS[mi]};
        attn_fwd_f64(&sh, nq, qpos, Q, K, V, O, NULL);
        for (size_t r = 0; r < nq; r++)
            for (int h = 0; h < H; h++) {
                naive_attn(&sh, qpos[r], Q + r * H * hd + h * hd, K, V, h / (H / KVH), ref);
                for (int e = 0; e < hd; e++) worst = fmax(worst, fabs(ref[e] - O[r * H * hd + h * hd + e]));
            }
    }
    free(Q); free(K); free(V); free(O);
    CHECK_MSG(worst < 1e-12, "max abs diff %.3g", worst);
}

/* L = sum(O * W): analytic dQ, dK, dV from attn_bwd against central differences */
TEST(attention_backward_matches_finite_differences) {
    int H = 4, KVH = 2, hd = 4;
    size_t n = 300;
    int qpos[] = {5, 100, 130, 131, 200, 250, 260, 299};
    size_t nq = sizeof qpos / sizeof *qpos;
    size_t qn = nq * H * hd, kn = n * KVH * hd;
    double *Q = malloc(qn * 8), *K = malloc(kn * 8), *V = malloc(kn * 8), *O = malloc(qn * 8), *W = malloc(qn * 8),
           *lse = malloc(nq * H * 8), *dQ = malloc(qn * 8), *dK = malloc(kn * 8), *dV = malloc(kn * 8);
    fill(Q, qn, 11); fill(K, kn, 12); fill(V, kn, 13); fill(W, qn, 14);
    double worst = 0, scale = 0;
    for (size_t mi = 0; mi < sizeof MASKS / sizeof *MASKS; mi++) {
        duo_attn_shape sh = {H, KVH, hd, MASKS[mi]};
        attn_fwd_f64(&sh, nq, qpos, Q, K, V, O, lse);
        memset(dK, 0, kn * 8);
        memset(dV, 0, kn * 8);
        attn_bwd_f64(&sh, nq, qpos, Q, K, V, O, lse, W, dQ, dK, dV);
        struct { double *x, *g; size_t len; } args[] = {{Q, dQ, qn}, {K, dK, kn}, {V, dV, kn}};
        for (int a = 0; a < 3; a++)
            for (size_t k = 0; k < args[a].len; k += (a ? 97 : 11)) {
                double x0 = args[a].x[k], h = 1e-6, lp = 0, lm = 0;
                args[a].x[k] = x0 + h;
                attn_fwd_f64(&sh, nq, qpos, Q, K, V, O, NULL);
                for (size_t i = 0; i < qn; i++) lp += O[i] * W[i];
                args[a].x[k] = x0 - h;
                attn_fwd_f64(&sh, nq, qpos, Q, K, V, O, NULL);
                for (size_t i = 0; i < qn; i++) lm += O[i] * W[i];
                args[a].x[k] = x0;
                double fd = (lp - lm) / (2 * h);
                worst = fmax(worst, fabs(fd - args[a].g[k]));
                scale = fmax(scale, fabs(fd));
            }
    }
    free(Q); free(K); free(V); free(O); free(W); free(lse); free(dQ); free(dK); free(dV);
    CHECK(scale > 0.1);
    CHECK_MSG(worst <= 1e-7 * scale, "max |fd - analytic| %.3g (scale %.3g)", worst, scale);
}

TEST(rmsnorm_swiglu_backward_match_finite_differences) {
    int d = 12;
    size_t m = 3;
    double X[36], w[12], dY[36], dX[36], Y[36], G[36], U[36], A[36], dG[36], dU[36];
    fill(X, 36, 21); fill(w, 12, 22); fill(dY, 36, 23); fill(G, 36, 24); fill(U, 36, 25);
    for (int i = 0; i < 36; i++) G[i] *= 4;
    rmsnorm_bwd_f64(X, m, d, w, 1e-5, dY, dX, 0);
    swiglu_bwd_f64(G, U, dY, 36, dG, dU);
    double worst = 0;
    for (int k = 0; k < 36; k++) {
        double h = 1e-6, lp = 0, lm = 0, x0 = X[k];
        X[k] = x0 + h; rmsnorm_f64(X, m, d, w, 1e-5, Y); for (int i = 0; i < 36; i++) lp += Y[i] * dY[i];
        X[k] = x0 - h; rmsnorm_f64(X, m, d, w, 1e-5, Y); for (int i = 0; i < 36; i++) lm += Y[i] * dY[i];
        X[k] = x0;
        worst = fmax(worst, fabs((lp - lm) / (2 * h) - dX[k]));
        double *vars[2] = {G, U}, *grads[2] = {dG, dU};
        for (int v = 0; v < 2; v++) {
            double v0 = vars[v][k];
            vars[v][k] = v0 + h; swiglu_f64(G, U, 36, A); lp = A[k] * dY[k];
            vars[v][k] = v0 - h; swiglu_f64(G, U, 36, A); lm = A[k] * dY[k];
            vars[v][k] = v0;
            worst = fmax(worst, fabs((lp - lm) / (2 * h) - grads[v][k]));
        }
    }
    CHECK_MSG(worst < 1e-8, "max |fd - analytic| %.3g", worst);
}

/* The CPU's vectorized double exp against glibc's: within 2 ulp where SwiGLU can use it, and exp's
 * answers at the edges (overflow to inf, NaN through; below -707 it gives 0, exp a value under 1e-307). */
TEST(vexp_d_matches_libm) {
    double worst = 0, worst_x = 0;
    for (long i = 0; i <= 4000000; i++) {
        double x = -707.0 + 1416.78 * (double)i / 4000000.0, want = exp(x);
        double ulp = nextafter(want, INFINITY) - want, err = fabs(duo_vexp_d(x) - want) / ulp;
        if (err > worst) worst = err, worst_x = x;
    }
    CHECK_MSG(worst <= 2.0, "worst %.3f ulp at x = %.17g", worst, worst_x);
    CHECK(duo_vexp_d(0.0) == 1.0);
    CHECK(duo_vexp_d(-0.0) == 1.0);
    CHECK(duo_vexp_d(1.0) == exp(1.0) || fabs(duo_vexp_d(1.0) - exp(1.0)) <= 2 * (nextafter(exp(1.0), 3) - exp(1.0)));
    CHECK(isinf(duo_vexp_d(709.8)) && duo_vexp_d(709.8) > 0);
    CHECK(isinf(duo_vexp_d(INFINITY)) && duo_vexp_d(INFINITY) > 0);
    CHECK(isfinite(duo_vexp_d(709.7)) && duo_vexp_d(709.7) > 1e308);
    CHECK(duo_vexp_d(-707.5) == 0.0 && duo_vexp_d(-INFINITY) == 0.0 && duo_vexp_d(-1e300) == 0.0);
    CHECK(isnan(duo_vexp_d(NAN)) && isnan(duo_vexp_d(-NAN)));
}

/* The float32 backend's SwiGLU and its backward (the vectorized exp) against the shared formula with
 * glibc's exp, element by element: equal but for an element within ~2^-27 of a float rounding edge (1
 * ulp, and rarely), over random values, huge ones and the non-finite ones, whose results must match
 * exactly (inf, NaN, signed zeros). */
TEST(float_swiglu_equals_the_shared_formula) {
    size_t n = 1 << 20;
    float *G = malloc(n * 4), *U = malloc(n * 4), *dA = malloc(n * 4), *A = malloc(n * 4), *dG = malloc(n * 4),
          *dU = malloc(n * 4);
    uint64_t seed = 77;
    const float edge[] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, 1e30f, -1e30f, 88.0f, -88.0f, 710.0f, -710.0f,
                          706.9f, -706.9f, 745.0f, -745.0f, 3.4e38f, -3.4e38f, 1e-40f, -1e-40f};
    size_t ne = sizeof edge / sizeof *edge;
    for (size_t i = 0; i < n; i++) {
        G[i] = (float)(frand(&seed) * 30);
        U[i] = (float)(frand(&seed) * 4);
        dA[i] = (float)frand(&seed);
    }
    for (size_t i = 0; i < ne * ne; i++) { /* every pair of edge values, at the start */
        G[i] = edge[i / ne];
        U[i] = dA[i] = edge[i % ne];
    }
    duo_backend *be = test_cpu_backend(0);
    be->ops->swiglu(be, G, U, n, A);
    be->ops->swiglu_bwd(be, G, U, dA, n, dG, dU);
    size_t off = 0, bad = 0;
    for (size_t i = 0; i < n; i++) {
        float a = duo_swiglu_f(G[i], U[i]), g, u;
        duo_swiglu_bwd_f(G[i], U[i], dA[i], &g, &u);
        float got[3] = {A[i], dG[i], dU[i]}, want[3] = {a, g, u};
        for (int k = 0; k < 3; k++) {
            if (memcmp(&got[k], &want[k], 4) == 0 || (isnan(got[k]) && isnan(want[k]))) continue;
            int near = isfinite(want[k]) && isfinite(got[k]) &&
                       fabsf(got[k] - want[k]) <= fabsf(nextafterf(want[k], INFINITY) - want[k]) * 1.01f;
            if (near && i >= ne * ne) off++;
            else if (bad++ < 5)
                CHECK_MSG(0, "element %zu (g %g u %g da %g) output %d: %.9g, the formula %.9g", i, G[i], U[i], dA[i],
                          k, got[k], want[k]);
        }
    }
    CHECK_MSG(bad == 0, "%zu elements differ beyond 1 ulp or at an edge value", bad);
    CHECK_MSG(off <= 8, "%zu of %zu elements 1 ulp off the formula (expected about none)", off, 3 * n);
    free(G); free(U); free(dA); free(A); free(dG); free(dU);
}

TEST(rope_rotates_pairs_and_inverse_undoes_it) {
    int hd = 8, half = 4, H = 2;
    size_t n = 50;
    double inv[4] = {1.0, 0.1, 0.01, 0.001}, cos_t[200], sin_t[200], X[32], X0[32];
    rope_tables_f64(inv, hd, n, cos_t, sin_t);
    fill(X, 32, 31);
    memcpy(X0, X, sizeof X);
    int pos[2] = {7, 49};
    rope_f64(X, 2, H, hd, pos, cos_t, sin_t, 0);
    /* HF: x*cos + rotate_half(x)*sin, rotate_half(x) = cat(-x2, x1) */
    for (int r = 0; r < 2; r++)
        for (int h = 0; h < H; h++)
            for (int i = 0; i < hd; i++) {
                const double *x = X0 + r * H * hd + h * hd;
                int f = i % half;
                double ang = pos[r] * inv[f];
                double rot = i < half ? -x[i + half] : x[i - half];
                CHECK_CLOSE(X[r * H * hd + h * hd + i], x[i] * cos(ang) + rot * sin(ang), 1e-14);
            }
    rope_f64(X, 2, H, hd, pos, cos_t, sin_t, 1);
    for (int k = 0; k < 32; k++) CHECK_CLOSE(X[k], X0[k], 1e-14);
}

TEST(float_attention_agrees_with_double) {
    int H = 8, KVH = 2, hd = 16;
    size_t n = 700;
    size_t qn = n * H * hd, kn = n * KVH * hd;
    int *qpos = malloc(n * sizeof *qpos);
    for (size_t i = 0; i < n; i++) qpos[i] = (int)i;
    double *Q = malloc(qn * 8), *K = malloc(kn * 8), *V = malloc(kn * 8), *O = malloc(qn * 8);
    float *Qf = malloc(qn * 4), *Kf = malloc(kn * 4), *Vf = malloc(kn * 4), *Of = malloc(qn * 4);
    fill(Q, qn, 41); fill(K, kn, 42); fill(V, kn, 43);
    for (size_t i = 0; i < qn; i++) Q[i] = Qf[i] = (float)Q[i];
    for (size_t i = 0; i < kn; i++) { K[i] = Kf[i] = (float)K[i]; V[i] = Vf[i] = (float)V[i]; }
    double worst = 0;
    for (size_t mi = 0; mi < sizeof MASKS / sizeof *MASKS; mi++) {
        duo_attn_shape sh = {H, KVH, hd, MASKS[mi]};
        attn_fwd_f64(&sh, n, qpos, Q, K, V, O, NULL);
        attn_fwd_f32(&sh, n, qpos, Qf, Kf, Vf, Of, NULL);
        for (size_t i = 0; i < qn; i++) worst = fmax(worst, fabs(O[i] - Of[i]));
    }
    free(qpos); free(Q); free(K); free(V); free(O); free(Qf); free(Kf); free(Vf); free(Of);
    CHECK_MSG(worst < 1e-5, "max abs diff %.3g", worst);
}

TEST(cone_keys_equal_brute_force) {
    size_t n = 700;
    int outs[] = {3, 130, 131, 400, 690, 699};
    duo_posset o = {outs, 6}, k = {0};
    for (size_t mi = 1; mi < sizeof MASKS / sizeof *MASKS; mi++) {
        CHECK(cone_keys(&o, &MASKS[mi], n, &k) == 0);
        size_t idx = 0;
        int ok = 1;
        for (size_t j = 0; j < n; j++) {
            int need = 0;
            for (int r = 0; r < 6; r++) need |= attn_mask_visible(&MASKS[mi], outs[r], (long)j);
            if (need) ok &= idx < k.len && k.pos[idx++] == (int)j;
        }
        ok &= idx == k.len;
        posset_free(&k);
        CHECK_MSG(ok, "mask %zu", mi);
    }
}

/* Keys given as a gapped, sorted subset of positions (the cone, a streaming cache) and rows read through
 * strides wider than the heads give exactly what the dense position-indexed layout gives, forward and
 * backward: the gap rows are ones no query may see. */
TEST(attention_over_key_positions_equals_dense) {
    duo_backend *be = test_cpu_backend(1);
    int H = 4, KVH = 2, hd = 4, qs = H * hd + 3, ks = KVH * hd + 5; /* padded rows */
    size_t n = 400;
    const duo_attn_mask masks[] = {{ATTN_STREAM_SDPA, 3, 20}, {ATTN_STREAM_BLOCKSPARSE, 10, 100}, {ATTN_FULL, 0, 0}};
    for (size_t mi = 0; mi < 3; mi++) {
        duo_attn_mask mk = masks[mi];
        /* queries: a sink query, a block in the middle, the tail */
        int qpos[] = {2, 5, 150, 151, 152, 260, 330, 331, 350, 399};
        size_t nq = sizeof qpos / sizeof *qpos;
        duo_posset out = {qpos, nq}, keys = {0};
        CHECK(cone_keys(&out, &mk, n, &keys) == 0);
        size_t nk = keys.len;
        if (mk.kind != ATTN_FULL) CHECK_MSG(nk < n, "mask %zu: the cone should have gaps", mi);
        double *Qd = calloc(nq * H * hd, 8), *Kd = calloc(n * KVH * hd, 8), *Vd = calloc(n * KVH * hd, 8);
        double *Od = calloc(nq * H * hd, 8), *lsed = calloc(nq * H, 8), *W = calloc(nq * H * hd, 8);
        double *dQd = calloc(nq * H * hd, 8), *dKd = calloc(n * KVH * hd, 8), *dVd = calloc(n * KVH * hd, 8);
        double *Qs = calloc(nq * qs, 8), *Ks = calloc(nk * ks, 8), *Vs = calloc(nk * ks, 8), *Os = calloc(nq * qs, 8);
        double *lses = calloc(nq * H, 8), *Ws = calloc(nq * qs, 8), *dQs = calloc(nq * qs, 8);
        double *dKs = calloc(nk * ks, 8), *dVs = calloc(nk * ks, 8);
        fill(Qd, nq * H * hd, 51); fill(W, nq * H * hd, 54);
        double *tmp = malloc(n * KVH * hd * 8);
        fill(tmp, n * KVH * hd, 52);
        for (size_t r = 0; r < nk; r++) memcpy(Kd + (size_t)keys.pos[r] * KVH * hd, tmp + (size_t)keys.pos[r] * KVH * hd, KVH * hd * 8);
        fill(tmp, n * KVH * hd, 53);
        for (size_t r = 0; r < nk; r++) memcpy(Vd + (size_t)keys.pos[r] * KVH * hd, tmp + (size_t)keys.pos[r] * KVH * hd, KVH * hd * 8);
        free(tmp);
        for (size_t r = 0; r < nq; r++) {
            memcpy(Qs + r * qs, Qd + r * H * hd, H * hd * 8);
            memcpy(Ws + r * qs, W + r * H * hd, H * hd * 8);
        }
        for (size_t r = 0; r < nk; r++) {
            memcpy(Ks + r * ks, Kd + (size_t)keys.pos[r] * KVH * hd, KVH * hd * 8);
            memcpy(Vs + r * ks, Vd + (size_t)keys.pos[r] * KVH * hd, KVH * hd * 8);
        }
        duo_attn_shape sh = {H, KVH, hd, mk};
        attn_fwd_f64(&sh, nq, qpos, Qd, Kd, Vd, Od, lsed);
        attn_bwd_f64(&sh, nq, qpos, Qd, Kd, Vd, Od, lsed, W, dQd, dKd, dVd);
        duo_attn_args a = {.nq = nq, .nk = nk, .qpos = qpos, .kpos = keys.pos, .Q = Qs, .K = Ks, .V = Vs, .O = Os,
                           .lse = lses, .q_stride = (size_t)qs, .kv_stride = (size_t)ks, .o_stride = (size_t)qs,
                           .dO = Ws, .dQ = dQs, .dK = dKs, .dV = dVs};
        be->ops->attn_fwd(be, &sh, &a);
        be->ops->attn_bwd(be, &sh, &a);
        double worst = 0;
        for (size_t r = 0; r < nq; r++)
            for (int e = 0; e < H * hd; e++) {
                worst = fmax(worst, fabs(Os[r * qs + e] - Od[r * H * hd + e]));
                worst = fmax(worst, fabs(dQs[r * qs + e] - dQd[r * H * hd + e]));
            }
        for (size_t r = 0; r < nk; r++)
            for (int e = 0; e < KVH * hd; e++) {
                worst = fmax(worst, fabs(dKs[r * ks + e] - dKd[(size_t)keys.pos[r] * KVH * hd + e]));
                worst = fmax(worst, fabs(dVs[r * ks + e] - dVd[(size_t)keys.pos[r] * KVH * hd + e]));
            }
        int pad_clean = 1; /* the padding columns of the outputs are never written */
        for (size_t r = 0; r < nq; r++)
            for (int e = H * hd; e < qs; e++) pad_clean &= Os[r * qs + e] == 0 && dQs[r * qs + e] == 0;
        free(Qd); free(Kd); free(Vd); free(Od); free(lsed); free(W); free(dQd); free(dKd); free(dVd);
        free(Qs); free(Ks); free(Vs); free(Os); free(lses); free(Ws); free(dQs); free(dKs); free(dVs);
        posset_free(&keys);
        CHECK_MSG(worst < 1e-12, "mask %zu: gapped vs dense max abs diff %.3g", mi, worst);
        CHECK_MSG(pad_clean, "mask %zu: an op wrote into a row's padding", mi);
    }
}

/* The row ops and the DuoAttention ops against plain loops. */
TEST(row_and_gate_ops_match_loops) {
    duo_backend *be = test_cpu_backend(1);
    int H = 4, KVH = 2, hd = 3, d = H * hd;
    size_t m = 5;
    double X[60], Y[60], Z[60], SA[60], FA[60], ATT[60], dATT[60], dATT0[60];
    fill(X, 60, 61); fill(SA, 60, 62); fill(FA, 60, 63); fill(dATT, 60, 64);
    memcpy(dATT0, dATT, sizeof dATT);
    int32_t rows[] = {4, 0, 2};
    be->ops->gather_rows(be, X, rows, 3, d, Y);
    for (int r = 0; r < 3; r++) CHECK(!memcmp(Y + r * d, X + rows[r] * d, d * 8));
    memcpy(Z, X, sizeof Z);
    be->ops->scatter_add_rows(be, Y, rows, 3, d, Z);
    for (int r = 0; r < 3; r++)
        for (int e = 0; e < d; e++) CHECK_CLOSE(Z[rows[r] * d + e], 2 * X[rows[r] * d + e], 1e-15);
    for (int e = 0; e < d; e++) CHECK(Z[1 * d + e] == X[1 * d + e]);
    int32_t best[5];
    X[2 * d + 7] = 9; X[2 * d + 9] = 9; /* ties: the first wins */
    be->ops->argmax_rows(be, X, m, d, best);
    CHECK_EQ_INT(best[2], 7);
    for (size_t r = 0; r < m; r++)
        for (int c = 0; c < d; c++) CHECK(X[r * d + c] <= X[r * d + best[r]]);
    double gates[2] = {0.25, 1.5}, grad[2] = {0, 0};
    be->ops->gate_blend(be, SA, FA, m, H, KVH, hd, gates, ATT);
    be->ops->gate_blend_bwd(be, dATT, FA, SA, m, H, KVH, hd, gates, grad);
    double want_grad = 0;
    for (size_t r = 0; r < m; r++)
        for (int h = 0; h < H; h++)
            for (int e = 0; e < hd; e++) {
                size_t k = r * d + h * hd + e;
                double a = h < 2 ? 0.25 : 1.0; /* KV group 1's gate 1.5 clamps to 1 */
                CHECK_CLOSE(ATT[k], (1 - a) * SA[k] + a * FA[k], 1e-15);
                CHECK_CLOSE(dATT[k], dATT0[k] * (1 - a), 1e-15);
                if (h < 2) want_grad += dATT0[k] * (FA[k] - SA[k]);
            }
    CHECK_CLOSE(grad[0], want_grad, 1e-13);
    CHECK(grad[1] == 0); /* outside [0,1] the clamp passes no gradient */
    double loss = 0, want = 0, dB[60];
    be->ops->sqdiff_loss(be, SA, FA, m, d, &loss);
    for (size_t r = 0; r < m; r++) {
        double s = 0;
        for (int e = 0; e < d; e++) s += (SA[r * d + e] - FA[r * d + e]) * (SA[r * d + e] - FA[r * d + e]);
        want += s / d;
    }
    CHECK_CLOSE(loss, want, 1e-14);
    be->ops->sqdiff_grad(be, SA, FA, 60, -0.5, dB);
    for (int k = 0; k < 60; k++) CHECK_CLOSE(dB[k], -0.5 * (SA[k] - FA[k]), 1e-15);
}

/* A failed call is recorded with the call and file:line, and backend_check turns it into an error. */
TEST(backend_records_the_first_failure) {
    duo_backend *be = backend_cpu_create(0, NULL);
    duo_error err;
    CHECK(backend_check(be, &err) == 0);
    if (!getenv("DUO_SANITIZED")) { /* ASan refuses absurd sizes itself instead of returning NULL */
        void *p = be->ops->alloc(be, (size_t)1 << 62);
        CHECK(p == NULL);
    } else {
        BACKEND_FAIL(be, "alloc", "out of memory for %zu bytes", (size_t)1 << 62);
    }
    BACKEND_FAIL(be, "later", "a consequence");
    CHECK(backend_check(be, &err) == -1);
    CHECK_MSG(strstr(err.msg, "alloc at ") && strstr(err.msg, ".c:") && strstr(err.msg, "out of memory"), "%.500s",
              err.msg);
    CHECK_MSG(!strstr(err.msg, "consequence"), "%.500s", err.msg);
    backend_free(be);
}

TEST_MAIN()
