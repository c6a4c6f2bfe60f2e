#include "train/lr_schedule.h"

double lr_schedule_factor(long step, long num_steps) {
    long fifth = num_steps / 5;
    if (fifth <= 0) return 1.0; /* unreachable through the CLI, which rejects num_steps < 5 */
    double up = (double)(step + 1) / (double)fifth;
    double down = (double)(num_steps - step) / (double)fifth;
    if (up < 0.1) up = 0.1;
    if (down < 0.1) down = 0.1;
    double f = 1.0;
    if (up < f) f = up;
    if (down < f) f = down;
    return f;
}

double lr_schedule_lr(double base_lr, long step, long num_steps) {
    return base_lr * lr_schedule_factor(step, num_steps);
}
