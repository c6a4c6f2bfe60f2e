/* The fused float attention's register kernels for one instruction set (kernels/cpu/attn_fused.h),
 * included once per set with AF_VW (float lanes per vector), AF_SV (key vectors per score chunk), AF_HV
 * (most output vectors per row held in registers), AF_TARGET (the gcc target string), AF(name) (the
 * set's suffixed name), and the set's intrinsics AF_FMA(a, b, c) (a * b + c, fused), AF_SET1(x) (x in
 * every lane), AF_MAX(a, b) and AF_HSUM(v) (the sum of v's lanes).  AF_RB x AF_SV and AF_RB x AF_HV accumulators fit the set's registers (16 of 32 zmm; 8 of
 * 16 ymm).
 *
 * A row block is AF_RB query rows (one head of a KV group, consecutive queries: rows of a tile).  Scores
 * come in chunks of AF_CW keys from a transposed key block Kt[hd][ldk] (each key vector loaded once for
 * the AF_RB rows); the output rows stay in registers while the probabilities of a key range are
 * applied, each V row loaded once for the AF_RB rows. */

#define AF_CW (AF_SV * AF_VW) /* keys per score chunk */
typedef float AF(vf) __attribute__((vector_size(AF_VW * 4)));
typedef int32_t AF(vi) __attribute__((vector_size(AF_VW * 4)));

#define AF_LOAD(p) ({ AF(vf) v_; memcpy(&v_, (p), sizeof v_); v_; })
#define AF_STORE(p, v) do { AF(vf) s_ = (v); memcpy((p), &s_, sizeof s_); } while (0)
#define AF_SPLAT(x) AF_SET1((float)(x))
#define AF_UNROLL _Pragma("GCC unroll 16") /* the small constant loops: unrolled, their arrays in registers */

#define AF_NV (AF_SV > AF_HV ? AF_SV : AF_HV) /* most vectors per row of a register block */

/* acc[r][v] += sum over s < steps of A[r a_row + s] B[s b_step + v AF_VW] for r < NR, v < NV (constants:
 * NR up to AF_RB, NV up to AF_NV): the register-blocked rank-1 updates both products are made of (the
 * scores: A the query rows, B the transposed keys; P V: A the probabilities, B the value rows), each B
 * vector loaded once for the NR rows, each A element broadcast once for the NV vectors. */
static inline __attribute__((always_inline, target(AF_TARGET))) void AF(rank1)(
    const float *restrict A, size_t a_row, const float *restrict B, size_t b_step, int steps,
    AF(vf) acc[AF_RB][AF_NV], const int NR, const int NV) {
    for (int st = 0; st < steps; st++) {
        const float *b = B + (size_t)st * b_step;
        AF(vf) bv[AF_NV];
        AF_UNROLL
        for (int v = 0; v < NV; v++) bv[v] = AF_LOAD(b + v * AF_VW);
        AF_UNROLL
        for (int r = 0; r < NR; r++) {
            AF(vf) a = AF_SPLAT(A[(size_t)r * a_row + st]);
            AF_UNROLL
            for (int v = 0; v < NV; v++) acc[r][v] = AF_FMA(a, bv[v], acc[r][v]);
        }
    }
}

/* S[r][c] = alpha * dot(X row r, key c) for the AF_RB rows and columns [c0, c1) (whole chunks of Kt,
 * multiples of AF_CW); every element a chain of fused products over d = 0..hd-1 in order, then the
 * scale. */
__attribute__((target(AF_TARGET))) static void AF(scores_rb)(const float *restrict X, int hd, const float *restrict Kt,
                                                               int ldk, int c0, int c1, float alpha, float *restrict S,
                                                               int lds) {
    for (int c = c0; c < c1; c += AF_CW) {
        AF(vf) acc[AF_RB][AF_NV];
        AF_UNROLL
        for (int r = 0; r < AF_RB; r++)
            AF_UNROLL
            for (int v = 0; v < AF_SV; v++) acc[r][v] = (AF(vf)){0};
        AF(rank1)(X, (size_t)hd, Kt + c, (size_t)ldk, hd, acc, AF_RB, AF_SV);
        AF_UNROLL
        for (int r = 0; r < AF_RB; r++)
            AF_UNROLL
            for (int v = 0; v < AF_SV; v++) AF_STORE(S + (size_t)r * lds + c + v * AF_VW, acc[r][v] * alpha);
    }
}

/* O[r][h0 .. h0 + HV*AF_VW) += sum over c in [u0, u1) of P[r][c] V[c][same] for rows r < NR, HV vectors
 * per row in registers (NR up to AF_RB, HV up to AF_HV: constants). */
static inline __attribute__((always_inline, target(AF_TARGET))) void AF(pv_rows)(
    const float *restrict P, int lds, int u0, int u1, const float *restrict V, size_t ks, int hd, int h0,
    float *restrict O, const int NR, const int HV) {
    AF(vf) acc[AF_RB][AF_NV];
    AF_UNROLL
    for (int r = 0; r < NR; r++)
        AF_UNROLL
        for (int h = 0; h < HV; h++) acc[r][h] = AF_LOAD(O + (size_t)r * hd + h0 + h * AF_VW);
    AF(rank1)(P + u0, (size_t)lds, V + (size_t)u0 * ks + h0, ks, u1 - u0, acc, NR, HV);
    AF_UNROLL
    for (int r = 0; r < NR; r++)
        AF_UNROLL
        for (int h = 0; h < HV; h++) AF_STORE(O + (size_t)r * hd + h0 + h * AF_VW, acc[r][h]);
}

/* O[AF_RB][hd] += P[AF_RB][u0:u1) V[u0:u1)[hd] (V rows of stride ks; hd a multiple of AF_VW). */
__attribute__((target(AF_TARGET))) static void AF(pv_rb)(const float *restrict P, int lds, int u0, int u1,
                                                           const float *restrict V, size_t ks, int hd,
                                                           float *restrict O) {
    int h0 = 0;
    for (; h0 + AF_HV * AF_VW <= hd; h0 += AF_HV * AF_VW) AF(pv_rows)(P, lds, u0, u1, V, ks, hd, h0, O, AF_RB, AF_HV);
#if AF_HV > 2
    if (h0 + 2 * AF_VW <= hd) {
        AF(pv_rows)(P, lds, u0, u1, V, ks, hd, h0, O, AF_RB, 2);
        h0 += 2 * AF_VW;
    }
#endif
    if (h0 < hd) AF(pv_rows)(P, lds, u0, u1, V, ks, hd, h0, O, AF_RB, 1);
}

/* Decode-sized tiles (M < ATTN_SMALL_M rows, no transposed keys): S[i][j] = alpha * dot(Q_i, K_j) for
 * i < M, j < bc, each key row (stride ks) read once for the M rows; a dot is fused products over hd in
 * vectors, then summed across lanes (AF_HSUM). */
__attribute__((target(AF_TARGET))) static void AF(small_scores)(const float *restrict Q, int M, int hd,
                                                                 const float *restrict K, size_t ks, int bc,
                                                                 float *restrict S, int ld, float alpha) {
    for (int j = 0; j < bc; j++) {
        const float *k = K + (size_t)j * ks;
        for (int i = 0; i < M; i++) {
            const float *q = Q + (size_t)i * hd;
            AF(vf) acc = AF_LOAD(q) * AF_LOAD(k);
            for (int e = AF_VW; e < hd; e += AF_VW) acc = AF_FMA(AF_LOAD(q + e), AF_LOAD(k + e), acc);
            S[(size_t)i * ld + j] = AF_HSUM(acc) * alpha;
        }
    }
}

/* O[M][hd] += P[M][0, bc) (row stride ld) V[bc rows, stride ks] for decode-sized tiles, rows in pairs. */
__attribute__((target(AF_TARGET))) static void AF(small_pv)(const float *restrict P, int ld, int M, int bc,
                                                             const float *restrict V, size_t ks, int hd,
                                                             float *restrict O) {
    for (int i = 0; i < M; i += 2) {
        const float *p = P + (size_t)i * ld;
        float *o = O + (size_t)i * hd;
        int h0 = 0;
        if (i + 1 < M) {
            for (; h0 + AF_HV * AF_VW <= hd; h0 += AF_HV * AF_VW) AF(pv_rows)(p, ld, 0, bc, V, ks, hd, h0, o, 2, AF_HV);
            for (; h0 < hd; h0 += AF_VW) AF(pv_rows)(p, ld, 0, bc, V, ks, hd, h0, o, 2, 1);
        } else {
            for (; h0 + AF_HV * AF_VW <= hd; h0 += AF_HV * AF_VW) AF(pv_rows)(p, ld, 0, bc, V, ks, hd, h0, o, 1, AF_HV);
            for (; h0 < hd; h0 += AF_VW) AF(pv_rows)(p, ld, 0, bc, V, ks, hd, h0, o, 1, 1);
        }
    }
}

/* exp(x) for the softmax's x = score - running max (x <= 0, -inf or NaN): duo_vexpf's method
 * (kernels/cpu/attn_vexp.h: 2^n times the Cephes polynomial of r = x - n ln 2) with fused products,
 * about half its operations; x < -87 (and -inf) gives 0, NaN gives NaN. */
static inline __attribute__((always_inline, target(AF_TARGET))) AF(vf) AF(vexp_neg)(AF(vf) x) {
    AF(vf) xc = AF_MAX(AF_SET1(-87.0f), x); /* NaN stays NaN: the maximum's second operand */
    AF(vf) t = AF_FMA(xc, AF_SET1(1.44269504088896341f), AF_SET1(12582912.0f)); /* n in t's low bits */
    AF(vf) n = t - 12582912.0f;
    AF(vf) r = AF_FMA(n, AF_SET1(-0.693359375f), xc);
    r = AF_FMA(n, AF_SET1(2.12194440e-4f), r);
    AF(vf) p = AF_FMA(AF_SET1(1.9875691500e-4f), r, AF_SET1(1.3981999507e-3f));
    p = AF_FMA(p, r, AF_SET1(8.3334519073e-3f));
    p = AF_FMA(p, r, AF_SET1(4.1665795894e-2f));
    p = AF_FMA(p, r, AF_SET1(1.6666665459e-1f));
    p = AF_FMA(p, r, AF_SET1(5.0000001201e-1f));
    p = AF_FMA(p, r * r, r) + 1.0f;
    AF(vi) tb, sb;
    memcpy(&tb, &t, sizeof tb);
    sb = (tb - (0x4B400000 - 127)) << 23; /* 2^n as a float's bits (n in [-126, 0]) */
    AF(vf) sc, y;
    memcpy(&sc, &sb, sizeof sc);
    y = p * sc;
    AF(vi) low = x < -87.0f, yb;
    memcpy(&yb, &y, sizeof yb);
    yb &= ~low;
    memcpy(&y, &yb, sizeof y);
    return y;
}

/* Lanes of v at or past `end` (lane e stands for column c + e) replaced by `fill`. */
static inline __attribute__((always_inline, target(AF_TARGET))) AF(vf) AF(keep_before)(AF(vf) v, int c, int end,
                                                                                        float fill) {
    AF(vi) lane;
    AF_UNROLL
    for (int e = 0; e < AF_VW; e++) lane[e] = e;
    AF(vi) in = lane < end - c, vb, fb;
    AF(vf) f = AF_SET1(fill);
    memcpy(&vb, &v, sizeof vb);
    memcpy(&fb, &f, sizeof fb);
    vb = (vb & in) | (fb & ~in);
    memcpy(&v, &vb, sizeof v);
    return v;
}

/* The online-softmax step of one row of scaled scores s[u0, u1) that sees [a, b) (u0 <= a < b <= u1):
 * the running max *m and sum *l updated, s becomes exp(x - m) on [a, b) and 0 on the rest of [u0, u1);
 * returns the factor exp(m_old - m_new) the row's output must be scaled by.  Whole vectors from a, the
 * last one's lanes past b masked, so s must have room up to b + AF_VW - 1 (written: zeros). */
__attribute__((target(AF_TARGET))) static float AF(softmax_row)(float *restrict s, int u0, int u1, int a, int b,
                                                                 float *m, float *l) {
    int full = a + (b - a) / AF_VW * AF_VW; /* whole vectors [a, full), then one masked past b */
    AF(vf) vm = AF_SET1(-INFINITY);
    for (int c = a; c < full; c += AF_VW) vm = AF_MAX(vm, AF_LOAD(s + c));
    if (full < b) vm = AF_MAX(vm, AF(keep_before)(AF_LOAD(s + full), full, b, -INFINITY));
    float bm = -INFINITY;
    AF_UNROLL
    for (int e = 0; e < AF_VW; e++) bm = vm[e] > bm ? vm[e] : bm;
    float mn = bm > *m ? bm : *m;
    float alpha = duo_vexpf(*m - mn); /* 0 while *m is -inf */
    AF(vf) vs = {0}, vmn = AF_SET1(mn);
    for (int c = a; c < full; c += AF_VW) {
        AF(vf) p = AF(vexp_neg)(AF_LOAD(s + c) - vmn);
        AF_STORE(s + c, p);
        vs += p;
    }
    int zero_from = full;
    if (full < b) {
        AF(vf) p = AF(keep_before)(AF(vexp_neg)(AF_LOAD(s + full) - vmn), full, b, 0.0f);
        AF_STORE(s + full, p);
        vs += p;
        zero_from = full + AF_VW; /* [b, zero_from) is zero already */
    }
    float sum = 0;
    AF_UNROLL
    for (int e = 0; e < AF_VW; e++) sum += vs[e];
    memset(s + u0, 0, (size_t)(a - u0) * sizeof *s);
    if (u1 > zero_from) memset(s + zero_from, 0, (size_t)(u1 - zero_from) * sizeof *s);
    *l = *l * alpha + sum;
    *m = mn;
    return alpha;
}

#undef AF_CW
#undef AF_NV
/* the includer's parameters: set again for the next instruction set */
#undef AF
#undef AF_RB
#undef AF_VW
#undef AF_SV
#undef AF_HV
#undef AF_TARGET
#undef AF_FMA
#undef AF_SET1
#undef AF_MAX
#undef AF_HSUM
#undef AF_LOAD
#undef AF_STORE
#undef AF_SPLAT
#undef AF_UNROLL
