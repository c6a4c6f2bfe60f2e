/* The CPU linear layer's one-row path (decode: kernels/cpu/gemv_impl.h) against a double loop and against
 * the BLAS GEMM path (the same row run with m = 2), float32 and float64, at sizes that are not multiples
 * of the vector lanes or of the four-row groups, with beta 0 (Y not read: NaN there stays out) and
 * beta 1, and at a size where the rows are split over the OpenMP team. */
#include <math.h>
#include <stdint.h>

#include "kernels/backend.h"
#include "kernels/cpu/cpu_backend.h"
#include "tests/harness.h"

static double lrand(uint64_t *s) {
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(*s >> 11) / 9007199254740992.0 * 2 - 1;
}

/* max over j of |Y[j] - ref_j| / (sum_i |W[j][i] x[i]| + |beta y0_j|): the error relative to what a
 * sum of those terms can round to. */
typedef struct {
    double vs_loop, vs_gemm;
} lin_err;

static int run_case(duo_backend *be, int k, int nout, double beta, lin_err *e) {
    int f64 = be->act_size == sizeof(double);
    size_t es = be->act_size;
    uint64_t seed = 99 + (uint64_t)k * 131 + (uint64_t)nout;
    double *x = malloc((size_t)k * sizeof *x), *w = malloc((size_t)nout * k * sizeof *w),
           *y0 = malloc((size_t)nout * sizeof *y0);
    void *X = malloc(2 * (size_t)k * es), *W = malloc((size_t)nout * k * es), *Y = malloc((size_t)nout * es),
         *Y2 = malloc(2 * (size_t)nout * es);
    if (!x || !w || !y0 || !X || !W || !Y || !Y2) return -1;
    for (int i = 0; i < k; i++) x[i] = lrand(&seed);
    for (size_t i = 0; i < (size_t)nout * k; i++) w[i] = lrand(&seed) * 0.5;
    for (int j = 0; j < nout; j++) y0[j] = lrand(&seed);
    for (int r = 0; r < 2; r++)
        for (int i = 0; i < k; i++) {
            if (f64) ((double *)X)[r * k + i] = x[i];
            else ((float *)X)[r * k + i] = (float)x[i];
        }
    for (size_t i = 0; i < (size_t)nout * k; i++) {
        if (f64) ((double *)W)[i] = w[i];
        else ((float *)W)[i] = (float)w[i];
    }
    for (int r = 0; r < 2; r++)
        for (int j = 0; j < nout; j++) {
            double v = beta == 0 ? NAN : y0[j]; /* beta 0 must not read Y */
            if (f64) {
                if (!r) ((double *)Y)[j] = v;
                ((double *)Y2)[r * nout + j] = v;
            } else {
                if (!r) ((float *)Y)[j] = (float)v;
                ((float *)Y2)[r * nout + j] = (float)v;
            }
        }
    be->ops->linear(be, X, 1, k, W, nout, Y, beta);  /* the one-row path */
    be->ops->linear(be, X, 2, k, W, nout, Y2, beta); /* BLAS */
    e->vs_loop = e->vs_gemm = 0;
    for (int j = 0; j < nout; j++) {
        double ref = beta * (beta == 0 ? 0 : (f64 ? y0[j] : (float)y0[j])), mag = fabs(ref);
        for (int i = 0; i < k; i++) {
            double xi = f64 ? x[i] : (float)x[i], wi = f64 ? w[(size_t)j * k + i] : (float)w[(size_t)j * k + i];
            ref += wi * xi;
            mag += fabs(wi * xi);
        }
        double got = f64 ? ((double *)Y)[j] : ((float *)Y)[j];
        double gemm = f64 ? ((double *)Y2)[j] : ((float *)Y2)[j];
        double gemm1 = f64 ? ((double *)Y2)[nout + j] : ((float *)Y2)[nout + j];
        if (!isfinite(got) || gemm != gemm1) { /* NaN read from Y, or the two GEMM rows differ */
            e->vs_loop = e->vs_gemm = INFINITY;
            break;
        }
        double el = fabs(got - ref) / (mag > 0 ? mag : 1), eg = fabs(got - gemm) / (mag > 0 ? mag : 1);
        if (el > e->vs_loop) e->vs_loop = el;
        if (eg > e->vs_gemm) e->vs_gemm = eg;
    }
    free(x), free(w), free(y0), free(X), free(W), free(Y), free(Y2);
    return backend_check(be, NULL);
}

static void check_sizes(test_ctx *t, int f64) {
    static const int ks[] = {1, 3, 15, 16, 17, 31, 64, 255, 1000};
    static const int nouts[] = {1, 2, 3, 4, 5, 7, 9, 130};
    double tol = f64 ? 1e-13 : 2e-6; /* k <= 1000 float sums: a few ulps of the magnitude */
    duo_backend *be = backend_cpu_create(f64, NULL);
    CHECK(be);
    for (size_t a = 0; a < sizeof ks / sizeof *ks; a++)
        for (size_t b = 0; b < sizeof nouts / sizeof *nouts; b++)
            for (int beta = 0; beta <= 1; beta++) {
                lin_err e;
                CHECK(!run_case(be, ks[a], nouts[b], beta, &e));
                CHECK_MSG(e.vs_loop <= tol && e.vs_gemm <= 2 * tol, "%s k %d nout %d beta %d: %.3g vs loop, %.3g vs gemm",
                          be->name, ks[a], nouts[b], beta, e.vs_loop, e.vs_gemm);
            }
    backend_free(be);
}

TEST(one_row_linear_matches_loop_and_gemm_f32) { check_sizes(t, 0); }
TEST(one_row_linear_matches_loop_and_gemm_f64) { check_sizes(t, 1); }

/* nout * k above the team threshold: the rows are split over threads, odd split points included. */
TEST(one_row_linear_split_over_threads) {
    for (int f64 = 0; f64 <= 1; f64++) {
        duo_backend *be = backend_cpu_create(f64, NULL);
        CHECK(be);
        lin_err e;
        CHECK(!run_case(be, 1031, 1027, 1, &e));
        CHECK_MSG(e.vs_loop <= (f64 ? 1e-13 : 4e-6) && e.vs_gemm <= (f64 ? 2e-13 : 8e-6), "%s: %.3g vs loop, %.3g vs gemm",
                  be->name, e.vs_loop, e.vs_gemm);
        backend_free(be);
    }
}

TEST_MAIN()
