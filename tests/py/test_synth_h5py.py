#!/usr/bin/env python3
"""`duo-train synth` files read with h5py: samples equal the reference construction
(tests/fixtures/corpus/synth_small.expected.json, from scripts/gen_synth_reference.py with HF
transformers), the layout and labels are consistent, and one seed gives one byte-identical file.
Also `synth --niah --print_ids` prompts against tests/fixtures/corpus/niah_small.expected.json."""
import json
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np

BIN = os.environ.get("DUO_BIN", "build/duo-train")
EXPECTED = "tests/fixtures/corpus/synth_small.expected.json"
results = []


def report(name, ok, why=""):
    print(f"PASS: test_synth_h5py/{name}" if ok else f"FAIL: test_synth_h5py/{name} ({why})")
    results.append(ok)


def skip(name, why):
    print(f"SKIP: test_synth_h5py/{name} ({why})")


def run_synth(exp, out, seed=None):
    p = exp["params"]
    args = [BIN, "synth", "--tokenizer", exp["tokenizer"], "--dataset", exp["corpus"], "--out", out,
            "--num_samples", str(len(exp["samples"]))]
    for k, v in p.items():
        args += [f"--{k}", str(v if k != "seed" or seed is None else seed)]
    return subprocess.run(args, capture_output=True, text=True)


def check_niah():
    exp = json.load(open("tests/fixtures/corpus/niah_small.expected.json"))
    bad = []
    for pr in exp["prompts"]:
        args = [BIN, "synth", "--niah", "--haystack_dir", exp["haystack_dir"], "--tokenizer", exp["tokenizer"],
                "--context_length", str(pr["context_length"]), "--depth_percent", str(pr["depth_percent"]),
                "--print_ids"]
        for k, v in exp["params"].items():
            args += [f"--{k}", str(v)]
        r = subprocess.run(args, capture_output=True, text=True)
        line = next((l for l in r.stdout.splitlines() if l.startswith("input_ids:")), None)
        if r.returncode != 0 or line is None:
            bad.append(f"ctx {pr['context_length']} depth {pr['depth_percent']}: exit {r.returncode} {r.stderr.strip()[-200:]}")
            continue
        got = [int(x) for x in line.split()[1:]]
        if got != pr["input_ids"]:
            first = next((k for k, (a, b) in enumerate(zip(got, pr["input_ids"])) if a != b), min(len(got), len(pr["input_ids"])))
            bad.append(f"ctx {pr['context_length']} depth {pr['depth_percent']}: {len(got)} vs {len(pr['input_ids'])} tokens, first difference at {first}")
    report("niah_matches_reference", not bad, "; ".join(bad[:3]))


def main():
    tmp = os.environ.get("TMPDIR") or tempfile.gettempdir()
    help_text = subprocess.run([BIN, "synth", "--help"], capture_output=True, text=True).stdout
    if "--dataset" not in help_text:
        skip("matches_reference", f"{BIN} synth is not built")
        return 0
    exp = json.load(open(EXPECTED))
    out = os.path.join(tmp, "synth_small.h5")
    r = run_synth(exp, out)
    if r.returncode != 0:
        report("matches_reference", False, f"duo-train synth exited {r.returncode}: {r.stderr.strip()[-300:]}")
        return 1
    with h5py.File(out, "r") as f:
        ids, labels, offs = f["input_ids"][:], f["labels"][:], f["offsets"][:]
        qa, ctx_len = f["qa_start"][:], f["context_length"][:]
        needle, pkpos, ans = f["needle_pos"][:], f["passkey_pos"][:], f["answer_pos"][:]
        keys = f["passkeys"][:]
        attrs = dict(f.attrs)
        # the reference's samples, token for token
        bad = []
        for i, s in enumerate(exp["samples"]):
            got = ids[offs[i]:offs[i + 1]].tolist()
            if got != s["input_ids"]:
                first = next((k for k, (a, b) in enumerate(zip(got, s["input_ids"])) if a != b), min(len(got), len(s["input_ids"])))
                bad.append(f"sample {i}: {len(got)} vs {len(s['input_ids'])} tokens, first difference at {first}")
            elif qa[i] != s["qa_start"] or ctx_len[i] != s["context_length"]:
                bad.append(f"sample {i}: qa_start/context_length differ")
            elif [k.decode() for k in keys[i]] != s["passkeys"]:
                bad.append(f"sample {i}: passkeys differ")
        report("matches_reference", not bad, "; ".join(bad[:3]))
        # layout: labels only on the QA part, the answers are the needles' passkey tokens
        why = ""
        for i in range(len(offs) - 1):
            x, y = ids[offs[i]:offs[i + 1]], labels[offs[i]:offs[i + 1]]
            n = len(x)
            if n % 16:
                why = f"sample {i} has {n} tokens"
            elif not (np.all(y[:qa[i]] == -100) and np.array_equal(y[qa[i]:], x[qa[i]:])):
                why = f"sample {i}: labels are not exactly the QA part"
            for j in range(needle.shape[1]):
                a, b = pkpos[i, j], ans[i, j]
                if not (needle[i, j, 0] < a[0] < a[1] == needle[i, j, 1] <= qa[i] <= b[0] < b[1] <= n):
                    why = f"sample {i} passkey {j}: positions out of order"
                elif not np.array_equal(x[a[0]:a[1]], x[b[0]:b[1]]):
                    why = f"sample {i} passkey {j}: answer tokens differ from the needle's"
                elif len(keys[i, j].decode().split(" ")) != exp["params"]["passkey_length"]:
                    why = f"sample {i} passkey {j}: wrong word count"
                if j and not needle[i, j - 1, 1] < needle[i, j, 0]:
                    why = f"sample {i}: needles not in depth order"
        report("layout_and_labels", not why, why)
        ok = all(attrs[k] == v for k, v in exp["params"].items()) and attrs["format"] == "duo-train synth multi_passkey 1"
        report("parameters_as_attributes", ok, f"attributes {sorted(attrs)}")
    out2, out3 = os.path.join(tmp, "synth_small2.h5"), os.path.join(tmp, "synth_small3.h5")
    r2, r3 = run_synth(exp, out2), run_synth(exp, out3, seed=43)
    same = r2.returncode == 0 and open(out, "rb").read() == open(out2, "rb").read()
    differs = r3.returncode == 0 and open(out, "rb").read() != open(out3, "rb").read()
    report("same_seed_same_bytes", same and differs, "same seed differs" if not same else "seed 43 gave the same file")
    check_niah()
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
