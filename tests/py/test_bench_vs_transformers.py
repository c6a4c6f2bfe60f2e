#!/usr/bin/env python3
"""scripts/bench_vs_transformers.py without torch: its named shapes are duo-train's (every shape against
`duo-train bench step --plan`, the vocabulary of small and medium against `bench gemm`'s lm_head row),
it reads duo-train's real `bench infer` table, cuts and drops lengths against the positions the way
duo-train refuses them, its medians, pairwise speed-ups and target line on hand-computed figures, and
the roofline's FLOP count on a shape counted by hand and its sgemm rate read from the real bench gemm.
Prints PASS:/FAIL: lines.  Needs $DUO_BIN (tests/run_tests.sh sets it)."""
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "scripts"))
import bench_vs_transformers as bvt  # noqa: E402

BIN = os.environ.get("DUO_BIN", "build/duo-train")
failures = 0


def report(name, ok, why=""):
    global failures
    if ok:
        print(f"PASS: test_bench_vs_transformers/{name}")
    else:
        failures += 1
        print(f"FAIL: test_bench_vs_transformers/{name} ({why})")


def duo(*args):
    p = subprocess.run([BIN, *args], capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


# ---- the shapes: the plan line of each, and lm_head's N (the vocabulary) for the small ones ----
plan_re = re.compile(r"^plan: (\S+) \(layers (\d+), hidden (\d+), heads (\d+)/(\d+), head_dim (\d+), inter (\d+)\)", re.M)
for name in sorted(bvt.SHAPES):
    rc, out, err = duo("bench", "step", "--plan", "--backend", "cpu", "--random-shape", name, "--ctx", "1024")
    m = plan_re.search(out)
    c = bvt.shape_config(name)
    want = (name, c["num_hidden_layers"], c["hidden_size"], c["num_attention_heads"], c["num_key_value_heads"],
            c["head_dim"], c["intermediate_size"])
    got = m and (m.group(1), *map(int, m.groups()[1:]))
    report(f"shape_{name}", rc == 0 and got == want, f"rc {rc}, duo-train {got}, script {want}: {err}")
    if name in ("small", "medium"):
        rc, out, err = duo("bench", "gemm", "--backend", "cpu", "--size", "0", "--random-shape", name, "--tokens", "1",
                           "--threads", "1", "--repeats", "1")
        lm = [l.split() for l in out.splitlines() if l.startswith("lm_head")]
        ok = rc == 0 and len(lm) == 1 and int(lm[0][2]) == c["vocab_size"] and int(lm[0][3]) == c["hidden_size"]
        report(f"vocab_{name}", ok, f"rc {rc}: {out} {err}")
common_ok = all(bvt.shape_config(n)[k] == v for n in bvt.SHAPES for k, v in
                (("rms_norm_eps", 1e-5), ("rope_theta", 500000.0), ("max_position_embeddings", 131072)))
report("shape_common", common_ok, "eps / rope_theta / positions differ from cli/bench_shapes.c")

# ---- duo-train's own table: the sparsity-0 rows, their prefill s and decode ms/t columns ----
rc, out, err = duo("bench", "infer", "--backend", "cpu", "--random-shape", "small", "--ctx", "16,40",
                   "--sparsities", "0.5,0", "--new-tokens", "3")
try:
    rows = bvt.parse_duo_table(out)
    lines = [l.split() for l in out.splitlines() if re.match(r"^\s+\d+\s+0\.000\s", l)]
    want = {int(f[0]): (float(f[2]), float(f[4])) for f in lines}
    report("parse_table", rc == 0 and len(lines) == 2 and rows == want and set(rows) == {16, 40}, f"{rows} vs {want}")
except ValueError as e:
    report("parse_table", False, f"rc {rc}: {e} {err}")
try:
    bvt.parse_duo_table("model: x\nno table here\n")
    report("parse_table_empty", False, "no ValueError")
except ValueError:
    report("parse_table_empty", True)

# ---- lengths against the positions: the cut length is one duo-train accepts, one past it is refused ----
lengths, notes = bvt.plan_lengths([1024, 4096, 8192], 32, 4096)
report("plan_lengths", lengths == [1024, 4064] and len(notes) == 2 and "dropped" in notes[1] and "4064" in notes[0],
       f"{lengths} {notes}")
model = os.path.join(HERE, "..", "fixtures", "retrieval-model")
rc_in, _, _ = duo("bench", "infer", "--backend", "cpu", "--model", model, "--ctx", "4064", "--sparsities", "0",
                  "--new-tokens", "32")
rc_out, _, err_out = duo("bench", "infer", "--backend", "cpu", "--model", model, "--ctx", "4065", "--sparsities", "0",
                         "--new-tokens", "32")
report("plan_lengths_match_duo", rc_in == 0 and rc_out != 0 and "exceeds" in err_out, f"rc {rc_in} / {rc_out}: {err_out}")
report("plan_lengths_unbounded", bvt.plan_lengths([8192], 32, float("inf"))[0] == [8192])

# ---- medians and pairwise speed-ups; the target line ----
duo_runs = [(1.0, 10.0), (2.0, 20.0), (4.0, 10.0)]
hf_runs = [(3.0, 10.0), (2.0, 40.0), (4.0, 30.0)]
s = bvt.summarize(duo_runs, hf_runs)
want = {"duo_prefill": 2.0, "hf_prefill": 3.0, "duo_decode": 10.0, "hf_decode": 30.0, "prefill_x": 1.0, "decode_x": 2.0}
report("summarize", s == want, f"{s}")
line = bvt.verdict({1024: dict(want, prefill_x=1.6), 4096: want})
report("verdict", line == "targets: prefill >= 1.5x: missed at 4096 (met at 1024); decode >= 1.5x: met at every length",
       line)
table = bvt.format_table({1024: want})
report("table", "1024" in table and "1.00x" in table and "2.00x" in table and "30.00" in table, table)

# ---- the roofline: FLOPs counted by hand on a tiny shape, the sgemm rate read from the real bench gemm ----
# d 4, inter 6, 2 layers, heads 2/1, head_dim 2, vocab 10, 3 tokens.  Per layer and row: q and o 2*4*4 each,
# k and v 2*4*2 each, the MLP 3*2*4*6: 240; attention per head 2 products of sum_i (i+1) keys * 2*hd = 24.
tiny = bvt.model_dims({"hidden_size": 4, "intermediate_size": 6, "num_hidden_layers": 2, "num_attention_heads": 2,
                       "num_key_value_heads": 1, "head_dim": 2, "vocab_size": 10})
layer = 3 * 240 + 2 * 2 * 24
last = 3 * 32 + (240 - 32) + 2 * 2 * 3 * 2 * 2  # every row's K/V, the last row's rest and its 3-key attention
report("flops_full", bvt.prefill_flops(tiny, 3, False) == 2 * layer + 80, f"{bvt.prefill_flops(tiny, 3, False)}")
report("flops_last_row", bvt.prefill_flops(tiny, 3, True) == layer + last + 80, f"{bvt.prefill_flops(tiny, 3, True)}")
report("dims_head_dim_default", bvt.model_dims({"hidden_size": 64, "intermediate_size": 1, "num_hidden_layers": 1,
                                                "num_attention_heads": 4, "vocab_size": 1})["hd"] == 16)
rc, out, err = duo("bench", "gemm", "--backend", "cpu", "--size", "64", "--threads", "1", "--repeats", "1")
try:
    peak = bvt.parse_gemm_peak(out, 1)
    report("gemm_peak", rc == 0 and peak > 0, f"{peak}")
except ValueError as e:
    report("gemm_peak", False, f"rc {rc}: {e} {err}")
try:
    bvt.parse_gemm_peak(out, 3)
    report("gemm_peak_threads", False, "no ValueError for a thread count not run")
except ValueError:
    report("gemm_peak_threads", True)
# 100 GFLOP at a 200 GFLOP/s rate: 0.5 s; transformers at 0.7 s bounds the speed-up at 1.4x, at 1.0 s at 2x
slow = bvt.add_roofline(dict(want, duo_prefill=0.8, hf_prefill=0.7, prefill_x=0.875), 100e9, 120e9, 200.0)
fast = bvt.add_roofline(dict(want, duo_prefill=0.8, hf_prefill=1.0, prefill_x=1.25), 100e9, 120e9, 200.0)
report("roofline", abs(slow["bound_x"] - 1.4) < 1e-12 and abs(slow["duo_gflops"] - 125) < 1e-9 and
       abs(slow["hf_gflops"] - 120e9 / 0.7 / 1e9) < 1e-9 and abs(fast["bound_x"] - 2.0) < 1e-12, f"{slow} {fast}")
line = bvt.verdict({1024: slow, 4096: fast, 8192: dict(fast, prefill_x=1.6)})
report("verdict_roofline", "missed at 1024, 4096 (met at 8192)" in line and
       "beyond float32 at the sgemm rate at 1024 (1.40x)" in line and "4096 needs 75% of it, runs at 62%" in line,
       line)
table = bvt.format_table({1024: slow})
report("table_roofline", "125.0" in table and "1.40x" in table and "bound" in table, table)

sys.exit(1 if failures else 0)
