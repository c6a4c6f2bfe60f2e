#!/usr/bin/env python3
"""Writes small reference files for the trainer's optimiser tests, computed with PyTorch itself.

  tests/fixtures/train/lr_schedule_torch.txt  torch LambdaLR (the reference's lambda) lr per step
  tests/fixtures/train/adamw_torch.txt        a short gate-training replay: clamp, torch.optim.AdamW,
                                              L1 term through autograd, LambdaLR schedule

Run from the repository root: python3 scripts/gen_train_reference.py   (needs torch, numpy)
The C tests (tests/test_lr_schedule.c, tests/test_adamw.c) replay the same inputs and compare.
"""
import numpy as np
import torch

OUT = "tests/fixtures/train"


def reference_lambda(num_steps):
    # The schedule of duo_attn/train.py, restated here (integer num_steps // 5, float divisions).
    return lambda step: min(1, max((step + 1) / (num_steps // 5), 0.1),
                            max((num_steps - step) / (num_steps // 5), 0.1))


def lr_table(f, base_lr, num_steps):
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.AdamW([p], lr=base_lr, weight_decay=0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda=reference_lambda(num_steps))
    f.write(f"schedule {base_lr!r} {num_steps}\n")
    for s in range(num_steps):
        f.write(f"{s} {opt.param_groups[0]['lr']!r}\n")
        opt.step()
        sched.step()


def adamw_replay(f, layers, heads, num_steps, lr, reg_weight, grad_scale, seed):
    rng = np.random.default_rng(seed)
    grads = (rng.standard_normal((num_steps, layers, heads)) * grad_scale).astype(np.float32)
    gates = torch.nn.Parameter(torch.ones(layers, heads, dtype=torch.float32))
    opt = torch.optim.AdamW([gates], lr=lr, weight_decay=0, foreach=False)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda=reference_lambda(num_steps))
    f.write(f"replay {layers} {heads} {num_steps} {lr!r} {reg_weight!r}\n")
    for s in range(num_steps):
        with torch.no_grad():
            gates.clamp_(0, 1)
        distill_grad = torch.from_numpy(grads[s])
        # loss = <distill_grad, gates> + reg_weight * mean|gates|: its gradient is distill_grad + L1 term
        loss = (distill_grad * gates).sum() + reg_weight * gates.abs().mean()
        loss.backward()
        f.write(f"grad {s} " + " ".join("%.9e" % v for v in grads[s].ravel()) + "\n")
        f.write(f"lr {s} {opt.param_groups[0]['lr']!r}\n")
        opt.step()
        sched.step()
        opt.zero_grad()
        f.write(f"gates {s} " + " ".join("%.9e" % v for v in gates.detach().numpy().ravel()) + "\n")
        st = opt.state[gates]
        f.write(f"exp_avg {s} " + " ".join("%.9e" % v for v in st["exp_avg"].numpy().ravel()) + "\n")
        f.write(f"exp_avg_sq {s} " + " ".join("%.9e" % v for v in st["exp_avg_sq"].numpy().ravel()) + "\n")


def main():
    with open(f"{OUT}/lr_schedule_torch.txt", "w") as f:
        for base_lr, n in [(0.02, 2000), (0.02, 10), (0.1, 17), (0.05, 5), (0.02, 7)]:
            lr_table(f, base_lr, n)
    with open(f"{OUT}/adamw_torch.txt", "w") as f:
        # Gradients large enough that some gates leave [0,1] and the clamp matters.
        adamw_replay(f, 3, 4, 10, 0.02, 0.05, 0.5, 1)
        adamw_replay(f, 2, 8, 25, 0.1, 1.0, 2.0, 2)


if __name__ == "__main__":
    main()
