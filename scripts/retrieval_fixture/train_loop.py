"""AdamW training of the fixture model: next-token loss over everything plus a separately averaged loss
on the task tokens (passkey answers, copied spans), so the rare task tokens are not drowned out."""
import math
import time

import torch
import torch.nn.functional as F


def lr_at(step, steps, lr, warmup):
    if step < warmup:
        return lr * (step + 1) / warmup
    p = (step - warmup) / max(1, steps - warmup)
    return lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * p)))


def train(model, batches, steps, lr, warmup, device, log_every=25, task_weight=2.0, lm_weight=1.0):
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    other = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": other, "weight_decay": 0.0}],
                            lr=lr, betas=(0.9, 0.95), eps=1e-8)
    model.train()
    t0, log = time.time(), []
    for step in range(steps):
        ids, lm_w, task_w, first_w, c = batches.batch(step / steps)
        ids, lm_w, task_w = ids.to(device), lm_w.to(device), task_w.to(device)
        for g in opt.param_groups:
            g["lr"] = lr_at(step, steps, lr, warmup)
        logits = model(input_ids=ids).logits[:, :-1].float()
        ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1),
                             reduction="none").view(ids.shape[0], -1)
        lm = (ce * lm_w[:, 1:]).sum() / lm_w[:, 1:].sum()
        task = (ce * task_w[:, 1:]).sum() / task_w[:, 1:].sum().clamp(min=1)
        loss = lm_weight * lm + task_weight * task
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % log_every == 0 or step == steps - 1:
            hit = (logits.argmax(-1) == ids[:, 1:]).float()
            task_acc = (hit * task_w[:, 1:]).sum() / task_w[:, 1:].sum().clamp(min=1)
            first_acc = (hit * first_w[:, 1:].to(hit.device)).sum() / first_w[:, 1:].sum().clamp(min=1)
        if step % log_every == 0 or step == steps - 1:
            rec = dict(step=step, ctx=c, batch=int(ids.shape[0]), lm=round(lm.item(), 4),
                       task=round(task.item(), 4),
                       task_acc=round(task_acc.item(), 3), first_acc=round(first_acc.item(), 3), seconds=round(time.time() - t0, 1))
            log.append(rec)
            print("train", rec, flush=True)
    return log, time.time() - t0
