#!/usr/bin/env python3
"""Reference outputs of the DuoAttention inference path for the C sweep's tests.

Runs scripts/duo_infer_reference.py on the table CASES below and writes tests/fixtures/infer_refs/:
  index.json          every case's inputs, its greedy ids and its logits file (format: README.md there)
  <case>.logits.f32   raw little-endian float32, rows x vocab: row 0 after the prefill and the decoding
                      simulation (it chose generated_ids[0]), row i after feeding generated_ids[i-1]
  hf_generate.json    transformers generate(do_sample=False) ids at sparsity 0, asserted equal to the
                      restatement's ids on the same prompt
Needs torch and transformers (CPU, about a minute).  Run from the repository root:
  python3 scripts/gen_infer_refs.py
"""
import json
import os
import random
import sys

import numpy as np
import torch
from tokenizers import Tokenizer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from duo_infer_reference import DuoInference, load_model  # noqa: E402
from retrieval_fixture import passkey_format, text  # noqa: E402

OUT = "tests/fixtures/infer_refs"
MODELS = "tests/fixtures/models"
RETRIEVAL = "tests/fixtures/retrieval-model"
LOGIT_ROWS = 5  # logits kept per case (the ids are kept in full)

F, S = 1, 0
# name: model folder, prompt, pattern (per layer, per KV head: 1 full, 0 streaming), sink, recent,
# prefilling_chunk_size (None: one forward), decoding_simulation_length, prefill mode, max_new_tokens
CASES = [
    # tiny-llama-gqa: 2 layers, 4 query / 2 KV heads (groups of 2), prompt 150 tokens
    ("gqa-full-c64-sim20", "gqa", "rand150", "full", 4, 16, 64, 20, "reference", 10),
    ("gqa-full-onechunk-sim0", "gqa", "rand150", "full", 4, 16, None, 0, "reference", 10),
    ("gqa-stream-c48-sim10-ref", "gqa", "rand150", "stream", 4, 16, 48, 10, "reference", 10),
    ("gqa-stream-c48-sim10-streaming", "gqa", "rand150", "stream", 4, 16, 48, 10, "streaming", 10),
    ("gqa-mixed-c64-sim25-ref", "gqa", "rand150", [[F, S], [S, F]], 8, 24, 64, 25, "reference", 10),
    ("gqa-mixed-c64-sim25-streaming", "gqa", "rand150", [[F, S], [S, F]], 8, 24, 64, 25, "streaming", 10),
    ("gqa-mixed-window-covers-all", "gqa", "rand150", [[S, F], [F, S]], 64, 512, 40, 5, "reference", 10),
    ("gqa-mixed-c500-sim0-ref", "gqa", "rand150", [[S, F], [S, F]], 4, 12, 500, 0, "reference", 10),
    ("gqa-mixed-c500-sim0-streaming", "gqa", "rand150", [[S, F], [S, F]], 4, 12, 500, 0, "streaming", 10),
    ("gqa-stream-c7-sim3", "gqa", "rand150", "stream", 2, 9, 7, 3, "reference", 10),
    # tiny-mistral-gqa-f16: 6 query / 2 KV heads (groups of 3), prompt 200 tokens
    ("mistral-full-c64-sim30", "mistral", "rand200", "full", 4, 28, 64, 30, "reference", 10),
    ("mistral-stream-c64-sim30-streaming", "mistral", "rand200", "stream", 4, 28, 64, 30, "streaming", 10),
    ("mistral-mixed-c96-sim50-ref", "mistral", "rand200", [[S, F], [F, S]], 4, 28, 96, 50, "reference", 10),
    ("mistral-mixed-c300-sim0-streaming", "mistral", "rand200", [[S, F], [F, S]], 6, 20, 300, 0, "streaming", 10),
    # tiny-llama-mha-bf16-tied: MHA (4 / 4 KV heads), tied embeddings, prompt 120 tokens
    ("mha-full-c32-sim16", "mha", "rand120", "full", 2, 10, 32, 16, "reference", 10),
    ("mha-mixed-c45-sim16-ref", "mha", "rand120", [[F, S, S, F], [S, F, S, S]], 2, 10, 45, 16, "reference", 10),
    ("mha-stream-onechunk-sim50-streaming", "mha", "rand120", "stream", 4, 30, None, 50, "streaming", 10),
    # the bundled retrieval model: 4 layers, 8 query / 4 KV heads, a real passkey prompt
    ("retrieval-full-c128-sim50", "retrieval", "passkey", "full", 16, 64, 128, 50, "reference", 8),
    ("retrieval-stream-c128-sim50", "retrieval", "passkey", "stream", 16, 64, 128, 50, "reference", 8),
    ("retrieval-mixed-c100-sim50", "retrieval", "passkey", [[F, S, S, S], [F, S, S, S], [S, S, F, S], [S, F, S, S]],
     16, 64, 100, 50, "reference", 8),
    ("retrieval-mixed-onechunk-sim0-streaming", "retrieval", "passkey",
     [[F, S, S, S], [F, S, S, S], [S, S, F, S], [S, F, S, S]], 16, 64, None, 0, "streaming", 8),
]
MODEL_DIRS = {"gqa": f"{MODELS}/tiny-llama-gqa", "mistral": f"{MODELS}/tiny-mistral-gqa-f16",
              "mha": f"{MODELS}/tiny-llama-mha-bf16-tied", "retrieval": RETRIEVAL}
# transformers' generate at sparsity 0: (model, prompt, max_new_tokens); each must equal a "full" case.
HF_GENERATE = [("gqa", "rand150", 10), ("mistral", "rand200", 10), ("mha", "rand120", 10), ("retrieval", "passkey", 8)]


def eos_ids(model_dir, model):
    path = os.path.join(model_dir, "generation_config.json")
    eos = json.load(open(path)).get("eos_token_id") if os.path.exists(path) else model.config.eos_token_id
    return eos if isinstance(eos, list) else [eos]


def passkey_prompt():
    """A DESIGN section 2 sample with one 4-word passkey, cut after its "Passkey: "."""
    tok = Tokenizer.from_file(os.path.join(RETRIEVAL, "tokenizer.json"))
    builder = passkey_format.PasskeyBuilder(tok)
    grammar = text.Grammar(42, passkey_format.NATO + passkey_format.ORDINALS)
    hay = tok.encode(grammar.book(random.Random(7), 400), add_special_tokens=False).ids[:200]
    rng = np.random.default_rng(3)
    sample = builder.build(hay, hay, [0.3], builder.random_passkeys(rng, 1, 4))
    return sample.input_ids[:sample.answer_positions[0][0]], sample.passkeys[0]


def prompts(vocab_of):
    rng = np.random.default_rng(2024)
    out = {f"rand{n}": {m: [int(x) for x in rng.integers(3, vocab_of[m], n)] for m in ("gqa", "mistral", "mha")}
           for n in (120, 150, 200)}
    ids, passkey = passkey_prompt()
    out["passkey"] = {"retrieval": ids}
    return out, passkey


def pattern_of(spec, cfg):
    if spec in ("full", "stream"):
        return [[1 if spec == "full" else 0] * cfg.num_key_value_heads for _ in range(cfg.num_hidden_layers)]
    return spec


def main():
    torch.manual_seed(0)
    models = {k: load_model(d) for k, d in MODEL_DIRS.items()}
    vocab = {k: m.config.vocab_size for k, m in models.items()}
    table, passkey = prompts(vocab)
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        if f.endswith(".logits.f32"):
            os.remove(os.path.join(OUT, f))
    cases, full_ids = [], {}
    for name, mk, pk, spec, sink, recent, chunk, sim, mode, max_new in CASES:
        model, prompt = models[mk], table[pk][mk]
        pattern = pattern_of(spec, model.config)
        eos = eos_ids(MODEL_DIRS[mk], model)
        ids, rows = DuoInference(model, pattern, sink, recent).generate(prompt, chunk, sim, mode, max_new, eos)
        logits = torch.stack(rows[:LOGIT_ROWS]).numpy().astype("<f4")
        assert [int(np.argmax(r)) for r in logits] == ids[:len(logits)]
        logits.tofile(os.path.join(OUT, name + ".logits.f32"))
        if spec == "full":
            assert full_ids.setdefault((mk, pk), ids) == ids, f"{name}: sparsity-0 ids depend on chunking"
        cases.append({
            "name": name, "model": MODEL_DIRS[mk], "prompt_ids": prompt, "pattern": pattern,
            "sink_size": sink, "recent_size": recent, "prefilling_chunk_size": chunk,
            "decoding_simulation_length": sim, "prefill": mode, "max_new_tokens": max_new,
            "eos_token_ids": eos, "generated_ids": ids,
            "logits": {"file": name + ".logits.f32", "shape": list(logits.shape)},
        })
        print(f"{name}: prompt {len(prompt)}, generated {ids}", file=sys.stderr)

    hf = []
    for mk, pk, max_new in HF_GENERATE:
        model, prompt = models[mk], table[pk][mk]
        eos = eos_ids(MODEL_DIRS[mk], model)
        with torch.no_grad():
            out = model.generate(torch.tensor([prompt]), do_sample=False, max_new_tokens=max_new,
                                 eos_token_id=eos, pad_token_id=eos[0])
        ids = [int(x) for x in out[0, len(prompt):]]
        assert ids == full_ids[(mk, pk)], f"{mk}: transformers generate {ids} != restatement {full_ids[(mk, pk)]}"
        hf.append({"model": MODEL_DIRS[mk], "prompt_ids": prompt, "max_new_tokens": max_new,
                   "eos_token_ids": eos, "generated_ids": ids})
        print(f"HF generate {mk}: {ids}", file=sys.stderr)
    if passkey:
        print(f"retrieval passkey tokens {passkey}", file=sys.stderr)

    note = "generated by scripts/gen_infer_refs.py (restatement: scripts/duo_infer_reference.py); see README.md"
    with open(os.path.join(OUT, "index.json"), "w") as f:
        f.write('{"note": %s,\n"format": 1,\n"cases": [\n%s\n]}\n' % (
            json.dumps(note), ",\n".join(json.dumps(c) for c in cases)))
    with open(os.path.join(OUT, "hf_generate.json"), "w") as f:
        f.write('{"note": "transformers generate(do_sample=False), float32, at sparsity 0",\n"runs": [\n%s\n]}\n'
                % ",\n".join(json.dumps(h) for h in hf))


if __name__ == "__main__":
    main()
