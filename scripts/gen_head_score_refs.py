#!/usr/bin/env python3
"""Reference head scores for tests/test_head_scores.c (duo-train score, issue 18).

Writes tests/fixtures/head_score_refs/head_score_refs.json:
  otf:        per case (model folder, token-id texts, q_len), the scores [layers][kv_heads] of kvpress's own
              duo_attention_on_the_fly (kvpress.presses.duo_attention_press, the installed package), with its
              BookSum loader and its tokenizer replaced by the case's texts (each text's ids as given)
  retrieval:  per case (model folder, needle prompts as ids with the needle's token span, max_new_tokens,
              EOS ids), a PyTorch restatement of Wu et al.'s retrieval score: greedy decoding with every
              head full (transformers, eager attention, KV cache); for each generated token, per layer and
              query head, the key position of the largest attention weight of the decoding query; a
              generated id among the needle's tokens is copied; a head hits when its key is a needle
              position holding that id; prompt score = hits / copied, head score = mean over prompts that
              copied, KV head score = mean over its query heads.  The generated ids, every argmax row and
              the scores are kept.  For the passkey prompts, "passkey_text" is the passkey as decoded
              text: the C test finds the needle span from it and must get the span stored here (found
              here as the passkey's token subsequence).
Needs torch, transformers, tokenizers and kvpress (pip install kvpress; CPU, under a minute).  From the
repository root:
  python3 scripts/gen_head_score_refs.py
"""
import json
import os
import random
import sys

import numpy as np
import pandas as pd
import torch
from tokenizers import Tokenizer
from transformers import AutoModelForCausalLM, BatchEncoding

import kvpress
import kvpress.presses.duo_attention_press as dap

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from retrieval_fixture import passkey_format, text  # noqa: E402

OUT = "tests/fixtures/head_score_refs"
MODELS = "tests/fixtures/models"
RETRIEVAL = "tests/fixtures/retrieval-model"
LLAMA, QWEN3 = f"{MODELS}/tiny-llama-gqa", f"{MODELS}/tiny-qwen3-headdim"


def load(path):
    return AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32, attn_implementation="eager").eval()


def kvpress_otf(model, texts, q_len):
    """kvpress's duo_attention_on_the_fly with its data and tokenizer replaced by `texts` (lists of ids)."""
    by_name = {f"text{i}": ids for i, ids in enumerate(texts)}

    class Frame:
        def to_pandas(self):
            return pd.DataFrame({"chapter": list(by_name)})

    class Tok:
        def __call__(self, t, return_tensors=None):
            ids = torch.tensor([by_name[t]])
            return BatchEncoding({"input_ids": ids, "attention_mask": torch.ones_like(ids)})

    class AutoTok:
        @staticmethod
        def from_pretrained(name):
            return Tok()

    saved = dap.load_dataset, dap.AutoTokenizer
    dap.load_dataset = lambda *a, **k: Frame()
    dap.AutoTokenizer = AutoTok
    try:
        dap.cache.clear()
        return dap.duo_attention_on_the_fly(model, num_samples=len(texts), q_len=q_len)
    finally:
        dap.load_dataset, dap.AutoTokenizer = saved
        dap.cache.clear()


def retrieval_restatement(model, prompts, max_new, eos):
    cfg = model.config
    L, H, KVH = cfg.num_hidden_layers, cfg.num_attention_heads, cfg.num_key_value_heads
    head = np.zeros((L, H))
    used, traces = 0, []
    for p in prompts:
        ids, ns, ne = p["ids"], p["needle_start"], p["needle_end"]
        gen, rows = [], []
        with torch.no_grad():
            out = model(torch.tensor([ids]), output_attentions=True, use_cache=True)
            while True:
                g = int(torch.argmax(out.logits[0, -1]))
                rows.append([[int(torch.argmax(out.attentions[l][0, h, -1])) for h in range(H)] for l in range(L)])
                gen.append(g)
                if g in eos or len(gen) == max_new:
                    break
                out = model(torch.tensor([[g]]), past_key_values=out.past_key_values, output_attentions=True,
                            use_cache=True)
        needle = set(ids[ns:ne])
        hits, copied = np.zeros((L, H)), 0
        for t, g in enumerate(gen):
            if g not in needle:
                continue
            copied += 1
            for l in range(L):
                for h in range(H):
                    a = rows[t][l][h]
                    if ns <= a < ne and ids[a] == g:
                        hits[l, h] += 1
        if copied:
            used += 1
            head += hits / copied
        traces.append({"generated_ids": gen, "argmax": rows, "copied": copied})
    if used:
        head /= used
    kv = head.reshape(L, KVH, H // KVH).mean(axis=2)
    return traces, head, kv, used


def sub_span(ids, sub):
    for i in range(len(ids) - len(sub) + 1):
        if ids[i:i + len(sub)] == sub:
            return i, i + len(sub)
    raise ValueError("passkey tokens not in the prompt")


def passkey_prompts(n):
    """DESIGN section 2 samples with one 4-word passkey each, cut after the question's "Passkey: "."""
    tok = Tokenizer.from_file(os.path.join(RETRIEVAL, "tokenizer.json"))
    builder = passkey_format.PasskeyBuilder(tok)
    grammar = text.Grammar(42, passkey_format.NATO + passkey_format.ORDINALS)
    out = []
    for k in range(n):
        hay = tok.encode(grammar.book(random.Random(100 + k), 600), add_special_tokens=False).ids[:300 + 60 * k]
        rng = np.random.default_rng(10 + k)
        sample = builder.build(hay, hay, [0.2 + 0.3 * k], builder.random_passkeys(rng, 1, 4))
        ids = sample.input_ids[:sample.answer_positions[0][0]]
        ns, ne = sub_span(ids, sample.passkeys[0])
        out.append({"ids": ids, "needle_start": ns, "needle_end": ne,
                    "passkey_text": tok.decode(sample.passkeys[0])})
    return out


def planted_prompts(vocab, n):
    """Random ids with a random 12-token needle span (the tiny random models copy little or nothing)."""
    rng = np.random.default_rng(77)
    out = []
    for k in range(n):
        ids = [int(x) for x in rng.integers(3, vocab, 90 + 40 * k)]
        ns = 10 + 20 * k
        out.append({"ids": ids, "needle_start": ns, "needle_end": ns + 12})
    return out


def main():
    torch.manual_seed(0)
    refs = {"kvpress_version": getattr(kvpress, "__version__", "?"), "torch": torch.__version__, "otf": [],
            "retrieval": []}
    rng = np.random.default_rng(2026)
    for path in (LLAMA, QWEN3, RETRIEVAL):
        model = load(path)
        vocab = model.config.vocab_size
        texts = [[int(x) for x in rng.integers(0, vocab, n)] for n in (37, 64, 101)]
        for q_len in (50, 500):
            scores = kvpress_otf(model, texts, q_len)
            refs["otf"].append({"model": path, "texts": texts, "q_len": q_len,
                                "scores": [[float(x) for x in row] for row in scores]})
            print(f"otf {path} q_len {q_len}: {np.round(scores, 4).tolist()}", file=sys.stderr)
    cases = [(RETRIEVAL, passkey_prompts(3), 8, [1]), (LLAMA, planted_prompts(256, 2), 6, [2])]
    for path, prompts, max_new, eos in cases:
        model = load(path)
        traces, head, kv, used = retrieval_restatement(model, prompts, max_new, eos)
        refs["retrieval"].append({"model": path, "prompts": prompts, "max_new_tokens": max_new, "eos_token_ids": eos,
                                  "traces": traces, "head_scores": head.tolist(), "kv_scores": kv.tolist(),
                                  "prompts_used": used})
        print(f"retrieval {path}: used {used}, copied {[t['copied'] for t in traces]}, kv {np.round(kv, 3).tolist()}",
              file=sys.stderr)
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "head_score_refs.json"), "w") as f:
        json.dump(refs, f)
        f.write("\n")


if __name__ == "__main__":
    main()
