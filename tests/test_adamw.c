/* AdamW + clamp + L1 term + schedule replayed against torch.optim.AdamW (values committed by
 * scripts/gen_train_reference.py): the same per-step gradients must give the same gates and moments. */
#include "tests/harness.h"
#include "train/adamw.h"
#include "train/gates.h"
#include "train/lr_schedule.h"

/* Reads "<tag> <step> v0 v1 ..." into out[n]; returns 0 on success. */
static int read_row(FILE *f, const char *tag, long step, float *out, size_t n) {
    char name[32];
    long s;
    if (fscanf(f, "%31s %ld", name, &s) != 2 || strcmp(name, tag) || s != step) return -1;
    for (size_t i = 0; i < n; i++)
        if (fscanf(f, "%f", &out[i]) != 1) return -1;
    return 0;
}

static double max_rel_diff(const float *a, const float *b, size_t n, int *bitwise) {
    double worst = 0;
    *bitwise = 1;
    for (size_t i = 0; i < n; i++) {
        if (a[i] != b[i]) *bitwise = 0;
        double d = fabs((double)a[i] - (double)b[i]) / fmax(1e-3, fabs((double)b[i]));
        if (d > worst) worst = d;
    }
    return worst;
}

TEST(replay_matches_torch) {
    FILE *f = fopen("tests/fixtures/train/adamw_torch.txt", "r");
    CHECK_MSG(f, "missing tests/fixtures/train/adamw_torch.txt");
    int layers, heads, replays = 0, clamped = 0;
    long num_steps;
    double lr, reg;
    duo_error err;
    while (fscanf(f, " replay %d %d %ld %lf %lf", &layers, &heads, &num_steps, &lr, &reg) == 5) {
        duo_gates g;
        duo_adamw opt;
        CHECK(gates_init(&g, layers, heads, 1.0f, &err) == 0);
        size_t n = gates_count(&g);
        CHECK(adamw_init(&opt, n, &err) == 0);
        float grad[64], want[64], want_m[64], want_v[64];
        double worst = 0;
        int all_bitwise = 1;
        for (long s = 0; s < num_steps; s++) {
            double want_lr;
            char tag[8];
            long ls;
            int ok = read_row(f, "grad", s, grad, n) == 0 &&
                     fscanf(f, "%7s %ld %lf", tag, &ls, &want_lr) == 3 && !strcmp(tag, "lr") &&
                     read_row(f, "gates", s, want, n) == 0 && read_row(f, "exp_avg", s, want_m, n) == 0 &&
                     read_row(f, "exp_avg_sq", s, want_v, n) == 0;
            if (!ok) { fclose(f); gates_free(&g); adamw_free(&opt); FAILF("malformed reference at step %ld", s); }
            for (size_t i = 0; i < n; i++) clamped += g.alpha[i] > 1.0f || g.alpha[i] < 0.0f;
            gates_clamp(&g);
            gates_l1_grad_add(g.alpha, n, (float)reg, grad);
            double step_lr = lr_schedule_lr(lr, s, num_steps);
            if (step_lr != want_lr) { fclose(f); gates_free(&g); adamw_free(&opt); FAILF("lr %.17g vs torch %.17g", step_lr, want_lr); }
            adamw_step(&opt, g.alpha, grad, step_lr);
            int b1, b2, b3;
            double d = fmax(max_rel_diff(g.alpha, want, n, &b1),
                            fmax(max_rel_diff(opt.exp_avg, want_m, n, &b2), max_rel_diff(opt.exp_avg_sq, want_v, n, &b3)));
            all_bitwise &= b1 && b2 && b3;
            if (d > worst) worst = d;
        }
        gates_free(&g);
        adamw_free(&opt);
        if (!all_bitwise) { fclose(f); FAILF("replay %d: gates/moments differ from torch (worst %.3g relative); expected bit-identical", replays, worst); }
        replays++;
    }
    fclose(f);
    CHECK_EQ_INT(replays, 2);
    CHECK_MSG(clamped > 0, "the reference never exercised the clamp");
}

/* First step of Adam moves every parameter by lr * sign(g) (bias correction makes m/sqrt(v) = g/|g|). */
TEST(first_step_is_lr_times_sign) {
    duo_adamw opt;
    duo_error err;
    CHECK(adamw_init(&opt, 3, &err) == 0);
    float p[3] = {0.5f, 0.5f, 0.5f}, g[3] = {3.0f, -1e-3f, 0.0f};
    adamw_step(&opt, p, g, 0.02);
    CHECK_CLOSE(p[0], 0.48, 1e-6);
    CHECK_CLOSE(p[1], 0.52, 1e-4); /* eps 1e-8 against |g| 1e-3 */
    CHECK_CLOSE(p[2], 0.5, 0);
    CHECK_EQ_INT(opt.step, 1);
    adamw_free(&opt);
}

TEST(l1_gradient_and_mean) {
    float a[4] = {0.5f, 0.0f, -0.25f, 1.0f}, g[4] = {0};
    CHECK_CLOSE(gates_l1_mean(a, 4), 1.75 / 4, 1e-15);
    gates_l1_grad_add(a, 4, 0.05f, g);
    CHECK_CLOSE(g[0], 0.0125, 1e-7);
    CHECK_CLOSE(g[1], 0.0, 0);
    CHECK_CLOSE(g[2], -0.0125, 1e-7);
    /* Finite difference of 0.05 * mean|a| at a[0] (away from the kink). */
    double h = 1e-3, base = gates_l1_mean(a, 4);
    a[0] += (float)h;
    CHECK_CLOSE(0.05 * (gates_l1_mean(a, 4) - base) / h, g[0], 1e-4);
}

TEST(clamp_to_unit_interval) {
    duo_gates g;
    duo_error err;
    CHECK(gates_init(&g, 1, 3, 1.0f, &err) == 0);
    g.alpha[0] = -0.5f; g.alpha[1] = 0.25f; g.alpha[2] = 1.5f;
    gates_clamp(&g);
    CHECK(g.alpha[0] == 0.0f && g.alpha[1] == 0.25f && g.alpha[2] == 1.0f);
    gates_free(&g);
    CHECK(gates_init(&g, 0, 3, 1.0f, &err) == -1);
}

TEST_MAIN()
