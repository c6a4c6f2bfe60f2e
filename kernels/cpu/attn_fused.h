/* The float CPU attention's fused tile kernel (kernels/cpu/attention_impl.h, float instance only): the
 * scores, the online softmax and the probabilities times V of a tile's rows, a row block of ATTN_RB rows
 * at a time against a key block held transposed, in registers and without BLAS.  BLAS made many small
 * products of it (K = head_dim = 32..128 deep, 128 x 256 per block), each packing its operands again, and
 * the softmax then re-read the whole score block; here a row block's scores stay in one L1-sized strip
 * from the product through the softmax to P V.  The backward recomputes its scores with the same
 * kernel, so its probabilities are exactly the forward's.
 *
 * Register kernels for AVX-512 and for AVX2 with FMA (kernels/cpu/attn_fused_isa.h), chosen per call:
 * the widest the processor runs whose vector width divides head_dim, else the BLAS path.  Results are
 * the same bits for any thread count and any grouping of KV heads into calls (kernels/cpu/attention_impl.h);
 * they depend on the instruction set (fused products and the lane count of the sums). */

#ifndef DUO_KERNELS_CPU_ATTN_FUSED_H
#define DUO_KERNELS_CPU_ATTN_FUSED_H

#include <immintrin.h>

/* The fused kernels of one instruction set: its float lanes, keys per score chunk, and the row-block
 * kernels (kernels/cpu/attn_fused_isa.h). */
typedef struct {
    const char *name;
    int vw, cw;
    void (*scores)(const float *X, int hd, const float *Kt, int ldk, int c0, int c1, float alpha, float *S, int lds);
    void (*small_scores)(const float *Q, int M, int hd, const float *K, size_t ks, int bc, float *S, int ld,
                         float alpha);
    void (*small_pv)(const float *P, int ld, int M, int bc, const float *V, size_t ks, int hd, float *O);
    void (*pv)(const float *P, int lds, int u0, int u1, const float *V, size_t ks, int hd, float *O);
    float (*softmax_row)(float *s, int u0, int u1, int a, int b, float *m, float *l);
} attn_fused_kernels;

/* The forward's score strip: ATTN_RB rows of a block's scores, room past the last column for the
 * softmax's whole last vector. */
#define ATTN_STRIP_LD (ATTN_KEYS + 16)
#define ATTN_STRIP_BYTES ((size_t)ATTN_RB * ATTN_STRIP_LD * sizeof(float))

#define AF(name) name##_avx512
#define AF_RB ATTN_RB
#define AF_VW 16
#define AF_SV 4
#define AF_HV 4
#define AF_TARGET "avx512f"
#define AF_FMA(a, b, c) _mm512_fmadd_ps((a), (b), (c))
#define AF_SET1(x) _mm512_set1_ps(x)
#define AF_MAX(a, b) _mm512_max_ps((a), (b))
#define AF_HSUM(v) _mm512_reduce_add_ps(v)
#include "kernels/cpu/attn_fused_isa.h"

/* The sum of an AVX2 vector's 8 lanes. */
__attribute__((target("avx2,fma"))) static inline float attn_hsum_avx2(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

#define AF(name) name##_avx2
#define AF_RB ATTN_RB
#define AF_VW 8
#define AF_SV 2
#define AF_HV 2
#define AF_TARGET "avx2,fma"
#define AF_FMA(a, b, c) _mm256_fmadd_ps((a), (b), (c))
#define AF_SET1(x) _mm256_set1_ps(x)
#define AF_MAX(a, b) _mm256_max_ps((a), (b))
#define AF_HSUM(v) attn_hsum_avx2(v)
#include "kernels/cpu/attn_fused_isa.h"

static const attn_fused_kernels attn_fused_avx512 = {
    "avx512", 16, 64, scores_rb_avx512, small_scores_avx512, small_pv_avx512, pv_rb_avx512, softmax_row_avx512};
static const attn_fused_kernels attn_fused_avx2 = {
    "avx2", 8, 16, scores_rb_avx2, small_scores_avx2, small_pv_avx2, pv_rb_avx2, softmax_row_avx2};

/* The widest of the sets the processor runs (and duo_cpu_attn_isa_cap allows) whose lanes divide hd; NULL:
 * the BLAS path. */
static inline const attn_fused_kernels *attn_fused_pick(int hd) {
#if defined(__x86_64__)
    int cap = duo_cpu_attn_isa_cap;
    if (cap >= 2 && hd % 16 == 0 && __builtin_cpu_supports("avx512f")) return &attn_fused_avx512;
    if (cap >= 1 && hd % 8 == 0 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return &attn_fused_avx2;
#endif
    (void)hd;
    return NULL;
}

/* Kt[hd][ATTN_KEYS] = the bc key rows Kb (stride ks) transposed, columns [bc, bc rounded up to cw) zero. */
static void attn_fused_pack_t(const float *Kb, size_t ks, int bc, int hd, int cw, float *Kt) {
    for (int c = 0; c < bc; c++) {
        const float *k = Kb + (size_t)c * ks;
        for (int d = 0; d < hd; d++) Kt[(size_t)d * ATTN_KEYS + c] = k[d];
    }
    int end = (bc + cw - 1) / cw * cw;
    if (end > bc)
        for (int d = 0; d < hd; d++) memset(Kt + (size_t)d * ATTN_KEYS + bc, 0, (size_t)(end - bc) * sizeof *Kt);
}

/* S[Mp][ATTN_KEYS] = alpha X[Mp][hd] Kt^T (Kt[hd][ldk]) over the block's columns [0, bc rounded up to cw). */
static void attn_fused_scores_all(const attn_fused_kernels *k, const float *X, int Mp, int hd, const float *Kt, int ldk,
                                  int bc, float alpha, float *S) {
    int end = (bc + k->cw - 1) / k->cw * k->cw;
    for (int i = 0; i < Mp; i += ATTN_RB)
        k->scores(X + (size_t)i * hd, hd, Kt, ldk, 0, end, alpha, S + (size_t)i * ATTN_KEYS, ATTN_KEYS);
}

/* A call's keys transposed once for all its tiles (each tile packing every key block it sees again was a
 * twentieth of a long prefill): per KV head g, Kt[g][d][ld] = X[row][g hd + d] for rows < nk, zeros up
 * to ld = nk rounded up to 64, plus 64 (a block's last chunk reads up to 63 columns past it).  Only up to
 * ATTN_KT_MAX_BYTES (per copy) for a call: longer key sets pack per tile. */
#define ATTN_KT_MAX_BYTES ((size_t)64 << 20)
static inline size_t attn_fused_ld(size_t nk) { return (nk + 63) / 64 * 64 + 64; }
static inline int attn_fused_call_fits(size_t nk, int kvh, int hd, int copies) {
    return attn_fused_ld(nk) * (size_t)kvh * (size_t)hd * sizeof(float) * (size_t)copies <= ATTN_KT_MAX_BYTES;
}

/* Xt[KVH][hd][ld] = X[nk][KVH hd] (rows of stride ks) transposed as above, on the team's threads. */
static void attn_fused_transpose(const float *X, size_t ks, size_t nk, int kvh, int hd, float *Xt) {
    size_t ld = attn_fused_ld(nk);
    long chunks = (long)(ld / 64); /* 64-column chunks: the last one or two all zeros */
#pragma omp parallel for schedule(static) collapse(2) if (DUO_CPU_PAR(nk * (size_t)kvh * hd))
    for (int g = 0; g < kvh; g++)
        for (long ch = 0; ch < chunks; ch++) {
            size_t c0 = (size_t)ch * 64, c1 = c0 + 64, cn = c1 < nk ? c1 : nk; /* copy [c0, cn), zero [cn, c1) */
            if (cn < c0) cn = c0;
            float *xt = Xt + (size_t)g * hd * ld;
            for (size_t c = c0; c < cn; c++) {
                const float *x = X + c * ks + (size_t)g * hd;
                for (int d = 0; d < hd; d++) xt[(size_t)d * ld + c] = x[d];
            }
            if (cn < c1)
                for (int d = 0; d < hd; d++) memset(xt + (size_t)d * ld + cn, 0, (c1 - cn) * sizeof *xt);
        }
}

#endif
