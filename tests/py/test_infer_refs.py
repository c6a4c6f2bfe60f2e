#!/usr/bin/env python3
"""tests/fixtures/infer_refs/ is self-consistent (numpy only; no torch in CI):
every case's files exist with the shapes its index gives, its inputs are well-formed, its generated
ids are the argmax of its stored logits, and transformers' greedy ids equal the sparsity-0 cases'.
Prints PASS:/FAIL: lines.
"""
import json
import os
import sys

import numpy as np

REFS = "tests/fixtures/infer_refs"
failures = 0


def report(name, problems):
    global failures
    if problems:
        failures += 1
        print(f"FAIL: test_infer_refs/{name} ({'; '.join(problems[:3])})")
    else:
        print(f"PASS: test_infer_refs/{name}")


def model_config(folder):
    return json.load(open(os.path.join(folder, "config.json")))


def check_case(c):
    p = []
    cfg = model_config(c["model"])
    layers, kvh, vocab = cfg["num_hidden_layers"], cfg["num_key_value_heads"], cfg["vocab_size"]
    pat = c["pattern"]
    if len(pat) != layers or any(len(r) != kvh or any(v not in (0, 1) for v in r) for r in pat):
        p.append(f"{c['name']}: pattern is not {layers} x {kvh} binary")
    ids, gen = c["prompt_ids"], c["generated_ids"]
    if not all(0 <= t < vocab for t in ids + gen):
        p.append(f"{c['name']}: token id out of the vocabulary")
    if not 0 <= c["decoding_simulation_length"] < len(ids):
        p.append(f"{c['name']}: decoding_simulation_length must leave a prefilled part")
    if c["prefill"] not in ("reference", "streaming"):
        p.append(f"{c['name']}: prefill {c['prefill']!r}")
    stops = [i for i, t in enumerate(gen) if t in c["eos_token_ids"]]
    if not (len(gen) == c["max_new_tokens"] and not stops or stops == [len(gen) - 1]):
        p.append(f"{c['name']}: generation neither ran to max_new_tokens nor stopped at its only EOS")
    rows, width = c["logits"]["shape"]
    path = os.path.join(REFS, c["logits"]["file"])
    if width != vocab or not 1 <= rows <= len(gen):
        p.append(f"{c['name']}: logits shape {rows} x {width}")
    elif not os.path.exists(path) or os.path.getsize(path) != rows * width * 4:
        p.append(f"{c['name']}: {path} missing or not {rows} x {width} float32")
    else:
        logits = np.fromfile(path, dtype="<f4").reshape(rows, width)
        if not np.isfinite(logits).all():
            p.append(f"{c['name']}: non-finite logits")
        elif list(np.argmax(logits, axis=1)) != gen[:rows]:
            p.append(f"{c['name']}: argmax of the logits {list(np.argmax(logits, axis=1))} != ids {gen[:rows]}")
    return p


def main():
    index = json.load(open(os.path.join(REFS, "index.json")))
    cases = index["cases"]
    names = [c["name"] for c in cases]
    report("names_unique", [] if len(set(names)) == len(names) else ["duplicate case names"])
    problems = [x for c in cases for x in check_case(c)]
    report("cases_consistent", problems)

    listed = {c["logits"]["file"] for c in cases}
    on_disk = {f for f in os.listdir(REFS) if f.endswith(".f32")}
    report("no_stray_files", [f"unlisted {f}" for f in sorted(on_disk - listed)])
    size = sum(os.path.getsize(os.path.join(REFS, f)) for f in os.listdir(REFS))
    report("fixture_small", [] if size < 1 << 20 else [f"{size} bytes"])

    # Coverage the C tests rely on.
    cov = []
    kinds = {"full": lambda c: all(all(r) for r in c["pattern"]),
             "streaming": lambda c: not any(any(r) for r in c["pattern"]),
             "mixed": lambda c: any(any(r) for r in c["pattern"]) and not all(all(r) for r in c["pattern"])}
    for k, f in kinds.items():
        if not any(f(c) for c in cases):
            cov.append(f"no {k} case")
    for mode in ("reference", "streaming"):
        if not any(c["prefill"] == mode for c in cases):
            cov.append(f"no prefill={mode} case")
    if not any(c["decoding_simulation_length"] == 0 for c in cases) or \
            not any(c["decoding_simulation_length"] > 0 for c in cases):
        cov.append("decoding_simulation_length 0 and > 0 both needed")
    groups = {model_config(c["model"])["num_attention_heads"] // model_config(c["model"])["num_key_value_heads"]
              for c in cases}
    if not {1, 2, 3} <= groups:
        cov.append(f"GQA groups {sorted(groups)}, want 1, 2 and 3")
    report("coverage", cov)

    hf = json.load(open(os.path.join(REFS, "hf_generate.json")))["runs"]
    hp = []
    for run in hf:
        full = [c for c in cases if c["model"] == run["model"] and c["prompt_ids"] == run["prompt_ids"]
                and kinds["full"](c) and c["max_new_tokens"] == run["max_new_tokens"]]
        if not full:
            hp.append(f"{run['model']}: no sparsity-0 case on its prompt")
        for c in full:
            if c["generated_ids"] != run["generated_ids"]:
                hp.append(f"{c['name']}: {c['generated_ids']} != transformers {run['generated_ids']}")
    tiny = {c["model"] for c in cases if "/models/" in c["model"]}
    hp += [f"no transformers run for {m}" for m in sorted(tiny - {r["model"] for r in hf})]
    report("hf_generate_equals_sparsity0", hp)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
