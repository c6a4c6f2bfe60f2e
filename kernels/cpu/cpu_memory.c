/* The CPU backend's memory and lifecycle: backend memory is host memory. */
#include <stdlib.h>
#include <string.h>

#include "kernels/backend.h"
#include "kernels/cpu/cpu_backend.h"
#include "kernels/prims.h"

void *cpu_alloc(duo_backend *be, size_t bytes) {
    void *p = malloc(bytes ? bytes : 1);
    if (!p) BACKEND_FAIL(be, "alloc", "out of memory for %zu bytes", bytes);
    return p;
}

void cpu_free(duo_backend *be, void *p) { free(p); }

void cpu_upload(duo_backend *be, void *dst, const void *src, size_t bytes) {
    if (bytes) memcpy(dst, src, bytes);
}

void cpu_download(duo_backend *be, void *dst, const void *src, size_t bytes) {
    if (bytes) memcpy(dst, src, bytes);
}

void cpu_sync(duo_backend *be) {}

duo_backend *backend_cpu_create(int f64, duo_error *err) {
    duo_backend *be = calloc(1, sizeof *be);
    if (!be) {
        duo_fail(err, "out of memory creating the CPU backend");
        return NULL;
    }
    be->ops = f64 ? &cpu_ops_f64 : &cpu_ops_f32;
    be->name = f64 ? "cpu-f64" : "cpu";
    be->act_size = be->weight_size = f64 ? sizeof(double) : sizeof(float);
    be->act_type = be->weight_type = f64 ? DUO_E_F64 : DUO_E_F32;
    be->composite_workspace_bytes = DUO_CPU_COMPOSITE_WORKSPACE_BYTES;
    return be;
}

duo_backend *backend_cpu_bf16_create(duo_error *err) {
    duo_backend *be = backend_cpu_create(0, err);
    if (!be) return NULL;
    be->ops = &cpu_ops_f32_bf16;
    be->weight_type = DUO_E_BF16;
    be->weight_size = duo_elem_size(DUO_E_BF16);
    return be;
}

void cpu_memset0(duo_backend *be, void *dst, size_t bytes) {
    if (bytes) memset(dst, 0, bytes);
}
