/* The float32 CPU backend with bf16 weight storage (`--dtype bf16 --backend cpu`): activations, products
 * and accumulation in float32 as the float32 table; the weights stay bf16 in memory (half the resident
 * bytes and half the decode traffic) and are widened exactly where they are read: the one-row linear
 * layer widens per vector of lanes (kernels/cpu/gemv_impl.h), the BLAS path per tile of weight rows into
 * a float scratch, RMSNorm / bias weights per element (the f32_bf16 primitives, kernels/cpu/prims_impl.h).
 * Everything that reads no weight is the float32 table's.  Included by kernels/cpu/cpu_f32.c after both
 * primitive instances. */

#include "kernels/cpu/cpu_scratch.h"

/* Weight elements widened per tile of the BLAS path: 16 MiB of float, so a layer of a 1B model is one or
 * two tiles (each tile's GEMM packs the activations again). */
#define DUO_CPU_BF16_TILE_ELEMS ((size_t)1 << 22)

typedef uint16_t gv_bf16_half __attribute__((vector_size(GV_BYTES / 2)));
typedef uint32_t gv_bf16_bits __attribute__((vector_size(GV_BYTES)));

#define GV_NAME(name) CAT(name, f32_bf16)
#define GV_WT uint16_t
#define GV_WIDEN(v, p)                                                                                       \
    do {                                                                                                     \
        gv_bf16_half h_;                                                                                     \
        memcpy(&h_, (p), sizeof h_);                                                                         \
        gv_bf16_bits b_ = __builtin_convertvector(h_, gv_bf16_bits) << 16; /* the bf16 bits, as float's */  \
        memcpy(&(v), &b_, sizeof(v));                                                                        \
    } while (0)
#define GV_WLOAD(x) duo_bf16_to_f32(x)
#include "kernels/cpu/gemv_impl.h"
#undef GV_NAME
#undef GV_WT
#undef GV_WIDEN
#undef GV_WLOAD

/* out[n] = the bf16 elements W[n] widened (exact). */
static void widen_bf16(const uint16_t *W, size_t n, float *out) {
#pragma omp parallel for schedule(static) if (DUO_CPU_PAR(n))
    for (size_t i = 0; i < n; i++) out[i] = duo_bf16_to_f32(W[i]);
}

/* Rows of a [rows][k] weight per tile, and the tile's float scratch: the calling thread's, kept between
 * calls (kernels/cpu/cpu_scratch.h); NULL and recorded when out of memory. */
static float *bf16_tile(duo_backend *be, const char *op, int rows, int k, int *tile_rows) {
    size_t per = DUO_CPU_BF16_TILE_ELEMS / (size_t)(k > 0 ? k : 1);
    *tile_rows = per < 1 ? 1 : per > (size_t)rows ? rows : (int)per;
    size_t bytes = (size_t)*tile_rows * (size_t)(k > 0 ? k : 1) * sizeof(float);
    float *s = (float *)cpu_scratch_slot(CPU_SCRATCH_BF16_TILE, bytes);
    if (!s) BACKEND_FAIL(be, op, "out of memory widening a %d x %d bf16 weight tile", *tile_rows, k);
    return s;
}

/* Y[m][nout] = X[m][k] W[nout][k]^T + beta Y, W bf16 [nout][k]. */
static void linear_f32_bf16(duo_backend *be, const void *X, size_t m, int k, const void *Wv, int nout, void *Yv,
                            double beta) {
    const uint16_t *W = Wv;
    float *Y = Yv;
    if (m == 0 || nout == 0) return;
    if (m == 1) {
        gemv_f32_bf16(X, k, W, nout, Y, (float)beta);
        return;
    }
    int rows;
    float *tile = bf16_tile(be, "linear", nout, k, &rows); /* [rows][k] */
    if (!tile) return;
    for (int j0 = 0; j0 < nout; j0 += rows) {
        int n = nout - j0 < rows ? nout - j0 : rows;
        widen_bf16(W + (size_t)j0 * k, (size_t)n * k, tile);
        gemm_par_f32(CblasTrans, (int)m, n, k, 1, X, k, tile, k, (float)beta, Y + j0, nout);
    }
}

/* dX[m][k] = dY[m][nout] W[nout][k] + beta dX: the tiles split the sum over nout (beta on the first). */
static void linear_bwd_f32_bf16(duo_backend *be, const void *dYv, size_t m, int nout, const void *Wv, int k, void *dX,
                                double beta) {
    const float *dY = dYv;
    const uint16_t *W = Wv;
    if (m == 0) return;
    if (nout == 0) { /* an empty sum */
        if (beta == 0) memset(dX, 0, m * (size_t)k * sizeof(float));
        return;
    }
    int rows;
    float *tile = bf16_tile(be, "linear_bwd", nout, k, &rows); /* [rows][k] */
    if (!tile) return;
    for (int j0 = 0; j0 < nout; j0 += rows) {
        int n = nout - j0 < rows ? nout - j0 : rows;
        widen_bf16(W + (size_t)j0 * k, (size_t)n * k, tile);
        gemm_par_f32(CblasNoTrans, (int)m, k, n, 1, dY + j0, nout, tile, k, j0 == 0 ? (float)beta : 1.0f, dX, k);
    }
}

/* RMSNorm backward on the float32 loop with the d weights widened first. */
static void rmsnorm_bwd_f32_bf16(duo_backend *be, const void *X, size_t m, int d, const void *w, double eps,
                                 const void *dY, void *dX, int accumulate) {
    float *wf = malloc((size_t)(d > 0 ? d : 1) * sizeof *wf); /* [d] */
    if (!wf) {
        BACKEND_FAIL(be, "rmsnorm_bwd", "out of memory widening %d bf16 norm weights", d);
        return;
    }
    widen_bf16(w, (size_t)d, wf);
    rmsnorm_bwd_f32(be, X, m, d, wf, eps, dY, dX, accumulate);
    free(wf);
}

static void load_tensor_f32_bf16(duo_backend *be, const duo_tensor *t, size_t first, size_t count, void *W) {
    cpu_load_tensor_as(be, t, first, count, W, DUO_E_BF16);
}

const duo_ops cpu_ops_f32_bf16 = {
    .alloc = cpu_alloc, .free = cpu_free, .upload = cpu_upload, .download = cpu_download, .sync = cpu_sync,
    .load_tensor = load_tensor_f32_bf16,
    .linear = linear_f32_bf16, .linear_bwd = linear_bwd_f32_bf16, .rmsnorm = rmsnorm_p_f32_bf16,
    .rmsnorm_bwd = rmsnorm_bwd_f32_bf16, .rope_tables = rope_tables_f32, .rope = rope_f32,
    .add_bias_rows = add_bias_rows_p_f32_bf16, .swiglu = swiglu_f32, .swiglu_bwd = swiglu_bwd_f32,
    .embed = embed_f32, .gather_rows = gather_rows_f32, .scatter_add_rows = scatter_add_rows_f32, .copy = copy_f32,
    .copy_rows = copy_rows_f32, .permute_heads = permute_heads_f32, .zero = zero_f32, .argmax_rows = argmax_rows_f32,
    .attn_fwd = attn_fwd_f32, .attn_bwd = attn_bwd_f32, .attn_argmax = attn_argmax_f32,
    .gate_blend = gate_blend_f32, .gate_blend_bwd = gate_blend_bwd_f32, .sqdiff_loss = sqdiff_loss_f32,
    .sqdiff_grad = sqdiff_grad_f32,
};
