"""Deterministic training batches: passkey samples (DESIGN section 2 format, fewer and shorter passkeys)
and plain copy tasks over the generated haystack, with a context-length curriculum."""
from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class Mix:
    copy_fraction: float = 0.0
    min_passkeys: int = 1
    max_passkeys: int = 1
    min_passkey_length: int = 2
    max_passkey_length: int = 2
    tokens_per_step: int = 2048
    # curriculum: (fraction of steps done, lowest, highest haystack length)
    stages: tuple = ((0.0, 64, 512), (0.3, 256, 1280), (0.6, 512, 2048))


def stage_range(mix, frac):
    lo, hi = mix.stages[0][1:]
    for start, a, b in mix.stages:
        if frac >= start:
            lo, hi = a, b
    return lo, hi


class BatchMaker:
    def __init__(self, builder, stream, mix, seed):
        self.b, self.stream, self.mix = builder, stream, mix
        self.rng = np.random.default_rng(seed)

    def _haystack(self, c):
        start = int(self.rng.integers(0, len(self.stream) - c - 64))
        hay = self.stream[start:start + c].tolist()
        return hay, self.stream[start + c:start + c + 64].tolist()

    def _passkey(self, c):
        m, r = self.mix, self.rng
        n = int(r.integers(m.min_passkeys, m.max_passkeys + 1))
        length = int(r.integers(m.min_passkey_length, m.max_passkey_length + 1))
        hay, pad = self._haystack(c)
        s = self.b.build(hay, pad, self.b.random_depths(r, n), self.b.random_passkeys(r, n, length))
        task = [p for span in s.answer_positions for p in span]
        return s.input_ids, task, [span[0] for span in s.answer_positions]

    def _copy(self, c):
        """BOS, haystack with a span of random passkey words and haystack tokens, sep, the span again.
        The span is long (up to half the haystack) so most of the sample trains induction."""
        r = self.rng
        hay, _ = self._haystack(c)
        m = int(r.integers(8, max(9, min(96, c // 2))))
        span = [int(t) for t in r.choice(self.b.next_word + hay[:64], m)]
        at = int(r.integers(0, max(1, len(hay) - m)))
        ids = self.b.prompt1 + hay[:at] + span + hay[at:] + self.b.sep
        task = list(range(len(ids) + 1, len(ids) + m))   # the first copied token is not predictable
        return ids + span + self.b.sep, task, []

    def batch(self, frac):
        lo, hi = stage_range(self.mix, frac)
        c = int(self.rng.integers(lo, hi + 1))
        bs = max(1, self.mix.tokens_per_step // (c + 64))
        seqs = [self._copy(c) if self.rng.random() < self.mix.copy_fraction else self._passkey(c)
                for _ in range(bs)]
        n = max(len(s[0]) for s in seqs)
        ids = torch.zeros(bs, n, dtype=torch.long)
        lm_w = torch.zeros(bs, n)     # weight of the next-token loss predicting position t
        task_w = torch.zeros(bs, n)
        first_w = torch.zeros(bs, n)  # the first answer token of each passkey: the retrieval proper
        for i, (s, task, first) in enumerate(seqs):
            ids[i, :len(s)] = torch.tensor(s)
            lm_w[i, 1:len(s)] = 1.0
            task_w[i, task] = 1.0
            first_w[i, first] = 1.0
        return ids, lm_w, task_w, first_w, c
