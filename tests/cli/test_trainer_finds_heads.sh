#!/usr/bin/env bash
# Issue 5 item 4, the trainer finds the heads: a short CPU training run of `duo-train train` on the
# retrieval fixture (the README's demo, shortened; samples built on the fly from its bundled corpus)
# must give its largest gates to the heads whose ablation breaks retrieval (the record's drop >= 0.5: each
# ranks among the top k gates, k = the number of such heads, ties within 0.02 counting), and the gates
# must separate (median <= 0.5).
# The oracle is independent of the trainer: the record's ablation was measured in PyTorch by
# scripts/make_retrieval_fixture.py. reg_weight 1.0 (DESIGN §1: small models need more than 0.05).
# The demo ends with a sweep of the trained pattern (issue 10): keeping the retrieval head alone (15/16
# streaming) must keep passkey accuracy within 0.2 of full attention (few prompts here), and every head
# streaming, and the inverted pattern at 15/16, must lose it (<= 0.25).
bin=${DUO_BIN:-build/duo-train}
py=${PYTHON:-python3}
model=tests/fixtures/retrieval-model
corpus=tests/fixtures/retrieval-corpus/corpus.jsonl.zst
steps=${FIND_HEADS_STEPS:-60}
name=cli_find_heads

if [ ! -f "$model/retrieval_record.json" ] || [ ! -f "$corpus" ]; then
    echo "SKIP: $name (no retrieval fixture in $model)"; exit 0
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/find-heads.XXXXXX")
trap 'rm -rf "$T"' EXIT

# The run is the README's demo (scripts/demo.sh), shortened: 60 steps at 600-900 haystack tokens.
if ! DUO_BIN="$bin" DUO_PROGRESS=0 DEMO_STEPS="$steps" DEMO_CTX_MIN=600 DEMO_CTX_MAX=900 \
        DEMO_SWEEP_SPARSITIES=0,0.9375,1 DEMO_SWEEP_CTX=1000 DEMO_SWEEP_SAMPLES=4 DEMO_SWEEP_RANDOM=1 \
        scripts/demo.sh "$T/demo" >"$T/out" 2>"$T/err"; then
    echo "FAIL: $name/demo (exit $?: $(tail -c 300 "$T/err"))"; exit 0
fi
"$py" - "$T/demo/pattern/full_attention_heads.tsv" "$model/retrieval_record.json" "$name" <<'EOF'
import json, sys
import numpy as np
tsv, rec_path, name = sys.argv[1:4]
gates = np.loadtxt(tsv, delimiter="\t", ndmin=2)
drop = np.array(json.load(open(rec_path))["head_ablation"]["drop_exact"])
if gates.shape != drop.shape:
    print(f"FAIL: {name}/shape (gates {gates.shape}, ablation {drop.shape})"); sys.exit(0)
table = ", ".join(f"({l},{h}) gate {gates[l, h]:.3f} drop {drop[l, h]:+.2f}"
                  for l, h in sorted(np.ndindex(*gates.shape), key=lambda i: -gates[i]))
key = [i for i in np.ndindex(*drop.shape) if drop[i] >= 0.5]
if not key:
    print(f"FAIL: {name}/retrieval_heads (the record has no head with drop >= 0.5)"); sys.exit(0)
kth = np.sort(gates.ravel())[::-1][len(key) - 1]
missed = [i for i in key if gates[i] < kth - 0.02]
if missed:
    print(f"FAIL: {name}/retrieval_heads_on_top (not among the top {len(key)}: {missed}; {table})")
else:
    print(f"PASS: {name}/retrieval_heads_on_top ({len(key)} head(s) with drop >= 0.5: {key})")
med = float(np.median(gates))
if med <= 0.5:
    print(f"PASS: {name}/gates_separate (median {med:.3f})")
else:
    print(f"FAIL: {name}/gates_separate (median {med:.3f} > 0.5; {table})")
print(f"# {name}: {table}")
EOF
"$py" - "$T/demo/sweep/sweep.csv" "$name" <<'EOF'
import csv, sys
path, name = sys.argv[1:3]
rows = list(csv.DictReader(open(path)))
acc = {(float(r["sparsity"]), r["baseline"]): float(r["accuracy"]) for r in rows}
full = acc.get((0.0, "pattern"))
kept = acc.get((0.9375, "pattern"))
if full is None or kept is None:
    print(f"FAIL: {name}/sweep_rows (missing rows in {path}: {sorted(acc)})"); sys.exit(0)
print(f"{'PASS' if full >= 0.75 and kept >= full - 0.2 else 'FAIL'}: {name}/sweep_pattern_keeps_retrieval "
      f"(full attention {full:.2f}, retrieval head alone {kept:.2f})")
low = {k: v for k, v in acc.items() if k in ((1.0, "pattern"), (0.9375, "inverted"))}
print(f"{'PASS' if len(low) == 2 and max(low.values()) <= 0.25 else 'FAIL'}: {name}/sweep_streaming_and_inverted_lose_it "
      f"({low})")
EOF
