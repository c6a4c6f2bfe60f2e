/* The reference's learning-rate schedule (torch LambdaLR in duo_attn/train.py): step s of S,
 *   lr(s) = lr * min(1, max((s+1) / (S//5), 0.1), max((S-s) / (S//5), 0.1))
 * with S//5 integer division and the divisions in floating point: linear warm-up over the first fifth,
 * linear decay over the last fifth, both floored at 10% of lr. */
#ifndef DUO_TRAIN_LR_SCHEDULE_H
#define DUO_TRAIN_LR_SCHEDULE_H

/* The multiplier at 0-based step s (the lr used by the s-th update).  num_steps must be >= 5: the
 * reference divides by num_steps // 5 and fails below that; callers reject it. */
double lr_schedule_factor(long step, long num_steps);
double lr_schedule_lr(double base_lr, long step, long num_steps);

#endif
