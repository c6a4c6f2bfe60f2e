/* The LR schedule against torch's LambdaLR with the reference's lambda (values committed by
 * scripts/gen_train_reference.py), plus the schedule's shape. */
#include "tests/harness.h"
#include "train/lr_schedule.h"

TEST(matches_torch_lambdalr) {
    FILE *f = fopen("tests/fixtures/train/lr_schedule_torch.txt", "r");
    CHECK_MSG(f, "missing tests/fixtures/train/lr_schedule_torch.txt");
    char line[256];
    double base = 0;
    long num_steps = 0, checked = 0, tables = 0;
    while (fgets(line, sizeof line, f)) {
        long s;
        double lr;
        if (sscanf(line, "schedule %lf %ld", &base, &num_steps) == 2) { tables++; continue; }
        if (sscanf(line, "%ld %lf", &s, &lr) != 2) { fclose(f); FAILF("bad line: %s", line); }
        double got = lr_schedule_lr(base, s, num_steps);
        if (got != lr) {
            fclose(f);
            FAILF("S=%ld step %ld: lr %.17g, torch %.17g", num_steps, s, got, lr);
        }
        checked++;
    }
    fclose(f);
    CHECK_EQ_INT(tables, 5);
    CHECK(checked > 2000);
}

TEST(shape_warmup_plateau_decay) {
    long S = 2000;
    CHECK_CLOSE(lr_schedule_factor(0, S), 0.1, 0);           /* 1/400 floored at 0.1 */
    CHECK_CLOSE(lr_schedule_factor(39, S), 0.1, 0);          /* 40/400 */
    CHECK_CLOSE(lr_schedule_factor(199, S), 0.5, 1e-15);     /* 200/400 */
    CHECK_CLOSE(lr_schedule_factor(399, S), 1.0, 0);
    CHECK_CLOSE(lr_schedule_factor(1000, S), 1.0, 0);
    CHECK_CLOSE(lr_schedule_factor(1600, S), 1.0, 0);        /* 400/400 */
    CHECK_CLOSE(lr_schedule_factor(1800, S), 0.5, 1e-15);
    CHECK_CLOSE(lr_schedule_factor(1999, S), 0.1, 0);
    for (long s = 1; s < S; s++) {
        double a = lr_schedule_factor(s - 1, S), b = lr_schedule_factor(s, S);
        if (s <= 400) CHECK(b >= a);
        if (s > 1600) CHECK(b <= a);
    }
}

TEST_MAIN()
