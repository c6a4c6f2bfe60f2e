#include "train/gates.h"

#include "kernels/gate.h"

#include <math.h>
#include <stdlib.h>

int gates_init(duo_gates *g, int num_layers, int num_kv_heads, float initial_value, duo_error *err) {
    g->alpha = NULL;
    g->num_layers = g->num_kv_heads = 0;
    if (num_layers <= 0 || num_kv_heads <= 0)
        return duo_fail(err, "gates: need at least one layer and one KV head, got %d x %d", num_layers, num_kv_heads);
    if (!isfinite(initial_value))
        return duo_fail(err, "gates: initial value must be finite");
    size_t n = (size_t)num_layers * (size_t)num_kv_heads;
    g->alpha = malloc(n * sizeof *g->alpha);
    if (!g->alpha) return duo_fail(err, "gates: out of memory for %zu gates", n);
    for (size_t i = 0; i < n; i++) g->alpha[i] = initial_value;
    g->num_layers = num_layers;
    g->num_kv_heads = num_kv_heads;
    return 0;
}

void gates_free(duo_gates *g) {
    free(g->alpha);
    g->alpha = NULL;
    g->num_layers = g->num_kv_heads = 0;
}

size_t gates_count(const duo_gates *g) { return (size_t)g->num_layers * (size_t)g->num_kv_heads; }

void gates_clamp(duo_gates *g) {
    size_t n = gates_count(g);
    for (size_t i = 0; i < n; i++) g->alpha[i] = gate_clamp_f(g->alpha[i]);
}

double gates_l1_mean(const float *alpha, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += fabs((double)alpha[i]);
    return n ? s / (double)n : 0.0;
}

void gates_l1_grad_add(const float *alpha, size_t n, float weight, float *grad) {
    float per_gate = weight / (float)n;
    for (size_t i = 0; i < n; i++) {
        float a = alpha[i];
        grad[i] += a > 0.0f ? per_gate : a < 0.0f ? -per_gate : 0.0f;
    }
}
