// The CUDA backend's lifecycle: device 0, one non-blocking stream, a cuBLAS handle with its own
// workspace on that stream, the staging buffer of load_tensor; be->prims = the CUDA primitives,
// be->ops = the composite op table on them.  Creation ends with the self-test against the CPU's
// primitives, so a wrong kernel refuses to start instead of training wrong gates.
#include <stdlib.h>

#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/cuda_impl.h"
extern "C" {
#include "kernels/composite/composite.h"
}

static int device_answers(duo_error *err) {
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess) return duo_fail(err, "no CUDA device answers: %s (%s)", cudaGetErrorString(e), cudaGetErrorName(e));
    if (count == 0) return duo_fail(err, "no CUDA device answers: the driver reports 0 devices");
    return 0;
}

extern "C" int cuda_backend_ready(duo_error *err) { return device_answers(err) == 0; }

extern "C" const duo_prims *cuda_prims_table(void) { return &cuda_prims; }
extern "C" const duo_ops *cuda_ops_table(void) { return &duo_composite_ops; }

// 0, or -1 with err naming the call (the backend is then freed by the caller).
static int cuda_setup(duo_backend *be, cuda_state *s, duo_error *err) {
    cudaError_t e;
    if ((e = cudaSetDevice(0)) != cudaSuccess) return duo_fail(err, "cudaSetDevice(0): %s", cudaGetErrorString(e));
    if ((e = cudaStreamCreateWithFlags(&s->stream, cudaStreamNonBlocking)) != cudaSuccess)
        return duo_fail(err, "cudaStreamCreate: %s", cudaGetErrorString(e));
    cublasStatus_t bs = cublasCreate(&s->blas);
    if (bs != CUBLAS_STATUS_SUCCESS) {
        s->blas = NULL;
        return duo_fail(err, "cublasCreate: %s", cublasGetStatusString(bs));
    }
    if ((bs = cublasSetStream(s->blas, s->stream)) != CUBLAS_STATUS_SUCCESS)
        return duo_fail(err, "cublasSetStream: %s", cublasGetStatusString(bs));
    s->blas_ws = cuda_alloc(be, DUO_CUDA_BLAS_WORKSPACE_BYTES);
    s->stage = cuda_alloc(be, DUO_CUDA_STAGE_BYTES);
    if (backend_check(be, err)) return -1;
    if ((bs = cublasSetWorkspace(s->blas, s->blas_ws, DUO_CUDA_BLAS_WORKSPACE_BYTES)) != CUBLAS_STATUS_SUCCESS)
        return duo_fail(err, "cublasSetWorkspace: %s", cublasGetStatusString(bs));
    return 0;
}

extern "C" struct duo_backend *cuda_backend_create(int precision, duo_error *err) {
    if (device_answers(err)) return NULL;
    duo_backend *be = (duo_backend *)calloc(1, sizeof *be);
    cuda_state *s = (cuda_state *)calloc(1, sizeof *s);
    if (!be || !s) {
        free(be);
        free(s);
        duo_fail(err, "out of memory creating the CUDA backend");
        return NULL;
    }
    int bf16 = precision != DUO_PREC_FP32; // the default on a GPU is bf16, as the reference trains
    be->name = "cuda";
    be->impl = s;
    be->prims = &cuda_prims;
    be->ops = &duo_composite_ops;
    be->act_type = DUO_E_F32;
    be->act_size = sizeof(float);
    be->weight_type = bf16 ? DUO_E_BF16 : DUO_E_F32;
    be->weight_size = duo_elem_size((duo_elem)be->weight_type);
    be->weights_resident = 1;
    be->composite_workspace_bytes = DUO_CUDA_COMPOSITE_WORKSPACE_BYTES;
    if (cuda_setup(be, s, err) || cuda_selftest(be, err)) {
        duo_error_prefix(err, "CUDA backend (%s)", bf16 ? "bf16" : "fp32");
        cuda_backend_free(be);
        return NULL;
    }
    return be;
}

extern "C" void cuda_backend_free(struct duo_backend *be) {
    if (!be) return;
    cuda_state *s = cuda_st(be);
    composite_release(be);
    if (s) {
        if (s->stream) cudaStreamSynchronize(s->stream);
        if (s->blas) cublasDestroy(s->blas);
        cudaFree(s->scratch);
        cudaFree(s->stage);
        cudaFree(s->blas_ws);
        if (s->stream) cudaStreamDestroy(s->stream);
        free(s);
    }
    free(be);
}
