#!/usr/bin/env python3
"""Pattern export against numpy, the oracle the reference itself uses:
- our full_attention_heads TSV text is byte-identical to numpy.savetxt(delimiter="\\t") and loadtxt reads it;
- `duo-train export` loads every published pattern in ../shared/reference/attn_patterns, and sparsity 0.5
  selects the same heads as the reference's quantile rule (sparsify_attention_heads, restated below);
- threshold mode equals `clip(gates) >= T`, and the output directory loads the way load_attn_pattern does.
Prints PASS:/FAIL:/SKIP: lines.  Needs $DUO_BIN and $DUO_BUILD (tests/run_tests.sh sets them).
"""
import io
import json
import os
import re
import subprocess
import sys
import tempfile

import numpy as np

BUILD = os.environ.get("DUO_BUILD", "build")
BIN = os.environ.get("DUO_BIN", os.path.join(BUILD, "duo-train"))
SHARED = os.environ.get("DUO_SHARED", "../shared")
failures = 0


def report(name, ok, why=""):
    global failures
    if ok is None:
        print(f"SKIP: test_export_numpy/{name} ({why})")
    elif ok:
        print(f"PASS: test_export_numpy/{name}")
    else:
        failures += 1
        print(f"FAIL: test_export_numpy/{name} ({why})")


def load_attn_pattern(d):
    """What duo_attn.utils.load_attn_pattern does (restated)."""
    heads = np.loadtxt(os.path.join(d, "full_attention_heads.tsv"), dtype=float, delimiter="\t")
    heads = np.clip(heads, 0, 1)
    cfg = json.load(open(os.path.join(d, "config.json")))
    return heads, cfg["sink_size"], cfg["recent_size"]


def reference_sparsify(heads, sparsity, rng):
    """The reference's sparsify_attention_heads by sparsity: tie-breaking noise, quantile, >=."""
    noisy = heads + rng.uniform(0, 1e-6, heads.shape)
    threshold = np.quantile(noisy, sparsity)
    return (noisy >= threshold).astype(float)


def test_tsv_bytes_match_savetxt(tmp):
    exe = os.path.join(BUILD, "tests", "test_export")
    if not os.access(exe, os.X_OK):
        return report("tsv_bytes_match_savetxt", False, f"{exe} missing")
    env = dict(os.environ, DUO_TSV_SAMPLE_DIR=tmp)
    out = subprocess.run([exe, "tsv_sample_for_numpy"], env=env, capture_output=True, text=True)
    if "PASS:" not in out.stdout:
        return report("tsv_bytes_match_savetxt", False, f"helper failed: {out.stdout} {out.stderr}")
    values = np.fromfile(os.path.join(tmp, "sample.f32"), dtype=np.float32).reshape(7, 9)
    ours = open(os.path.join(tmp, "sample.tsv"), "rb").read()
    buf = io.BytesIO()
    np.savetxt(buf, values.astype(np.float64), delimiter="\t")
    if ours != buf.getvalue():
        a, b = ours.decode().split("\n"), buf.getvalue().decode().split("\n")
        diff = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), None)
        return report("tsv_bytes_match_savetxt", False, f"differs from numpy at line {diff}")
    back = np.loadtxt(os.path.join(tmp, "sample.tsv"), dtype=float, delimiter="\t")
    ok = back.shape == (7, 9) and np.array_equal(back.astype(np.float32), values)
    report("tsv_bytes_match_savetxt", ok, "loadtxt did not give the values back")


def published_patterns():
    root = os.path.join(SHARED, "reference", "attn_patterns")
    if not os.path.isdir(root):
        return None
    found = []
    for dirpath, _, files in os.walk(root):
        if "full_attention_heads.tsv" in files and "config.json" in files:
            found.append(dirpath)
    return sorted(found)


def run_export(pattern, out, *mode):
    r = subprocess.run([BIN, "export", "--pattern", pattern, "--output", out, *mode],
                       capture_output=True, text=True)
    m = re.search(r"achieved sparsity: ([0-9.]+)", r.stdout)
    return r.returncode, (float(m.group(1)) if m else None), r.stderr


def test_published_patterns(tmp):
    pats = published_patterns()
    if pats is None:
        return report("published_patterns_sparsity_0.5", None, "../shared/reference/attn_patterns absent")
    if not pats:
        return report("published_patterns_sparsity_0.5", False, "no pattern found")
    for i, p in enumerate(pats):
        name = os.path.relpath(p, os.path.join(SHARED, "reference", "attn_patterns"))
        heads, sink, recent = load_attn_pattern(p)
        out = os.path.join(tmp, f"s{i}")
        rc, achieved, err = run_export(p, out, "--sparsity", "0.5")
        if rc != 0:
            return report("published_patterns_sparsity_0.5", False, f"{name}: exit {rc}: {err.strip()}")
        ours, osink, orecent = load_attn_pattern(out)
        if ours.shape != heads.shape or (osink, orecent) != (sink, recent):
            return report("published_patterns_sparsity_0.5", False, f"{name}: shape/config changed")
        # The reference's rule, with its random tie-breaking, several times: our choice must agree on
        # every head that is not tied with the quantile, and the count of streaming heads must be equal.
        rng = np.random.default_rng(0)
        plain_threshold = np.quantile(heads, 0.5)
        untied = np.abs(heads - plain_threshold) > 2e-6
        for _ in range(5):
            ref = reference_sparsify(heads.copy(), 0.5, rng)
            if ref.sum() != ours.sum():
                return report("published_patterns_sparsity_0.5", False,
                              f"{name}: {int(ours.sum())} full heads, reference {int(ref.sum())}")
            if not np.array_equal(ref[untied], ours[untied]):
                return report("published_patterns_sparsity_0.5", False, f"{name}: different heads selected")
        if abs(achieved - (1 - ours.mean())) > 1e-6:
            return report("published_patterns_sparsity_0.5", False, f"{name}: printed sparsity {achieved}")
        # threshold mode: exactly clip(gates) >= 0.5
        out_t = os.path.join(tmp, f"t{i}")
        rc, achieved_t, err = run_export(p, out_t, "--threshold", "0.5")
        if rc != 0:
            return report("published_patterns_sparsity_0.5", False, f"{name} threshold: exit {rc}: {err.strip()}")
        ours_t, _, _ = load_attn_pattern(out_t)
        if not np.array_equal(ours_t, (heads >= 0.5).astype(float)):
            return report("published_patterns_sparsity_0.5", False, f"{name}: threshold mode differs")
    report("published_patterns_sparsity_0.5", True)


def test_other_sparsities(tmp):
    """Random gates (no ties): every sparsity gives exactly the reference's heads."""
    rng = np.random.default_rng(7)
    d = os.path.join(tmp, "rand")
    os.makedirs(d)
    heads = rng.uniform(-0.1, 1.1, (6, 5)).astype(np.float32).astype(np.float64)
    np.savetxt(os.path.join(d, "full_attention_heads.tsv"), heads, delimiter="\t")
    json.dump({"sink_size": 16, "recent_size": 64}, open(os.path.join(d, "config.json"), "w"))
    clipped = np.clip(heads, 0, 1)
    for s in [0.0, 0.1, 0.25, 0.3, 0.5, 0.75, 0.9, 1.0]:
        out = os.path.join(tmp, f"r{s}")
        rc, achieved, err = run_export(d, out, "--sparsity", repr(s))
        if rc != 0:
            return report("random_gates_all_sparsities", False, f"s={s}: {err.strip()}")
        ours, _, _ = load_attn_pattern(out)
        if s <= 0:
            ref = np.ones_like(clipped)
        elif s >= 1:
            ref = np.zeros_like(clipped)
        else:
            ref = reference_sparsify(clipped.copy(), s, rng)
        if not np.array_equal(ours, ref):
            return report("random_gates_all_sparsities", False, f"s={s}: heads differ from the reference rule")
    report("random_gates_all_sparsities", True)


def test_usage_errors(tmp):
    r = subprocess.run([BIN, "export", "--pattern", tmp], capture_output=True, text=True)
    r2 = subprocess.run([BIN, "export", "--pattern", tmp, "--sparsity", "0.5", "--threshold", "0.5"],
                        capture_output=True, text=True)
    r3 = subprocess.run([BIN, "export", "--pattern", os.path.join(tmp, "nope"), "--sparsity", "0.5"],
                        capture_output=True, text=True)
    ok = r.returncode == 2 and r2.returncode == 2 and r3.returncode == 1 and "full_attention_heads.tsv" in r3.stderr
    report("usage_errors", ok, f"exit {r.returncode}/{r2.returncode}/{r3.returncode}: {r3.stderr.strip()}")


def main():
    if not os.access(BIN, os.X_OK):
        print(f"FAIL: test_export_numpy/setup ({BIN} not built)")
        return 1
    with tempfile.TemporaryDirectory(dir=os.environ.get("TMPDIR")) as tmp:
        test_tsv_bytes_match_savetxt(tmp)
        test_published_patterns(tmp)
        test_other_sparsities(tmp)
        test_usage_errors(tmp)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
