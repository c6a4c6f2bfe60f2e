#!/usr/bin/env bash
# duo-train sweep end to end on the bundled retrieval model (a hand-made pattern keeping its retrieval
# head, layer 1 KV head 0): the outputs (table, sweep.csv columns, one responses.jsonl line per prompt
# and pattern, PNG plots), both prefill modes, the NIAH task on the reference haystack (skipped without
# ../shared), and bad input: a pattern of another shape, a sparsity outside [0, 1], a context longer than
# the model's positions, an unknown task.
bin=${DUO_BIN:-build/duo-train}
py=${PYTHON:-python3}
model=tests/fixtures/retrieval-model
corpus=tests/fixtures/retrieval-corpus/corpus.jsonl.zst
name=cli_sweep
pass() { echo "PASS: $name/$1"; }
fail() { echo "FAIL: $name/$1 ($2)"; }
T=$(mktemp -d "${TMPDIR:-/tmp}/sweep.XXXXXX")
trap 'rm -rf "$T"' EXIT

pat="$T/pattern"
mkdir -p "$pat"
printf '1.0e-01\t1.0e-01\t1.0e-01\t1.0e-01\n8.0e-01\t1.0e-01\t1.0e-01\t1.0e-01\n1.0e-01\t1.0e-01\t1.0e-01\t1.0e-01\n1.0e-01\t1.0e-01\t1.0e-01\t1.0e-01\n' \
    >"$pat/full_attention_heads.tsv"
echo '{"sink_size": 16, "recent_size": 64}' >"$pat/config.json"

run() {  # output dir, extra args...
    local out=$1; shift
    DUO_PROGRESS=0 "$bin" sweep --model "$model" --pattern "$pat" --dataset "$corpus" --num_passkeys 1 \
        --passkey_length 2 --output_dir "$out" "$@"
}

run "$T/a" --sparsities 0,0.9375 --context_lengths 600 --samples 3 --baselines pattern,inverted \
    >"$T/out" 2>"$T/err"; rc=$?
if [ $rc -ne 0 ]; then fail run "exit $rc: $(tail -c 300 "$T/err")"
else
    pass run
    grep -q "prefill: reference" "$T/out" && pass table_names_prefill_mode || fail table_names_prefill_mode "$(head -3 "$T/out")"
    "$py" - "$T/a" "$name" <<'PY'
import csv, json, os, sys
out, name = sys.argv[1:3]
rows = list(csv.DictReader(open(os.path.join(out, "sweep.csv"))))
need = {"sparsity", "baseline", "context_length", "accuracy", "kv_bytes", "prefill_s", "decode_ms_per_token"}
miss = need - set(rows[0]) if rows else need
print(f"{'FAIL' if miss else 'PASS'}: {name}/csv_columns{f' (missing {sorted(miss)})' if miss else ''}")
by = {(float(r["sparsity"]), r["baseline"]): r for r in rows}
ok = len(rows) == 4 and all(0 <= float(r["accuracy"]) <= 1 for r in rows)
print(f"{'PASS' if ok else 'FAIL'}: {name}/csv_rows ({len(rows)} rows)")
full = by[(0.0, "pattern")]
kept = by[(0.9375, "pattern")]
# KV bytes (float32 cache): full heads keep every prompt position, the 15 streaming heads sink + recent
L, kv, hd, n = 4, 4, 32, round(float(full["prompt_tokens"]))
want_full = 2 * hd * 4 * L * kv * n
want_kept = 2 * hd * 4 * (1 * n + 15 * min(n, 16 + 64))
ok = float(full["kv_bytes"]) == want_full and float(kept["kv_bytes"]) == want_kept and float(full["kv_ratio"]) == 1
print(f"{'PASS' if ok else 'FAIL'}: {name}/kv_bytes_formula (full {full['kv_bytes']} want {want_full}, "
      f"kept {kept['kv_bytes']} want {want_kept})")
ok = float(kept["accuracy"]) >= 2 / 3 and float(by[(0.9375, "inverted")]["accuracy"]) <= 1 / 3
print(f"{'PASS' if ok else 'FAIL'}: {name}/pattern_beats_inverted ({kept['accuracy']} vs "
      f"{by[(0.9375, 'inverted')]['accuracy']})")
lines = [json.loads(l) for l in open(os.path.join(out, "responses.jsonl"))]
ok = len(lines) == 3 * 4 and all({"response", "expected", "generated_ids", "sparsity", "baseline"} <= set(l) for l in lines)
print(f"{'PASS' if ok else 'FAIL'}: {name}/responses_jsonl ({len(lines)} lines)")
png_ok = open(os.path.join(out, "accuracy_vs_sparsity.png"), "rb").read(8) == bytes([137, 80, 78, 71, 13, 10, 26, 10])
print(f"{'PASS' if png_ok else 'FAIL'}: {name}/plot_png")
PY
fi

run "$T/b" --sparsities 0.9375 --context_lengths 600 --samples 2 --baselines pattern --prefill streaming \
    --prefilling_chunk_size 128 >"$T/out" 2>"$T/err"; rc=$?
[ $rc -eq 0 ] && grep -q "prefill: streaming" "$T/out" && pass prefill_streaming_chunked ||
    fail prefill_streaming_chunked "exit $rc: $(tail -c 300 "$T/err")"

# bad input
printf '0.5\t0.5\n0.5\t0.5\n' >"$T/small.tsv"
mkdir -p "$T/small"; cp "$T/small.tsv" "$T/small/full_attention_heads.tsv"; cp "$pat/config.json" "$T/small/"
DUO_PROGRESS=0 "$bin" sweep --model "$model" --pattern "$T/small" --dataset "$corpus" --output_dir "$T/c" \
    >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "another shape" "$T/err" && pass pattern_of_another_shape || fail pattern_of_another_shape "exit $rc: $(cat "$T/err")"
run "$T/d" --sparsities 0,1.5 >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 2 ] && grep -q "outside \[0, 1\]" "$T/err" && pass sparsity_outside_unit || fail sparsity_outside_unit "exit $rc: $(cat "$T/err")"
run "$T/e" --context_lengths 5000 >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "positions" "$T/err" && pass context_beyond_positions || fail context_beyond_positions "exit $rc: $(cat "$T/err")"
run "$T/f" --task qa >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 2 ] && pass unknown_task || fail unknown_task "exit $rc"
DUO_PROGRESS=0 "$bin" sweep --model "$model" --dataset "$corpus" >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 2 ] && grep -q "pattern" "$T/err" && pass missing_pattern || fail missing_pattern "exit $rc"

# NIAH on the reference haystack (the retrieval model cannot answer it; this checks the task's plumbing)
essays=../shared/corpus/paul_graham_essays
if [ -d "$essays" ]; then
    run "$T/g" --task niah --sparsities 0,1 --context_lengths 700 --depths 0,100 --baselines pattern \
        --max_new_tokens 8 >"$T/out" 2>"$T/err" --dataset "$essays"; rc=$?
    if [ $rc -eq 0 ] && [ -f "$T/g/niah_sparsity=0.png" ] && [ -f "$T/g/niah_sparsity=1.png" ] &&
        head -1 "$T/g/sweep.csv" | grep -q rouge1_x10 && [ "$(wc -l <"$T/g/responses.jsonl")" -eq 4 ]; then
        pass niah_task
    else fail niah_task "exit $rc: $(tail -c 300 "$T/err"; ls "$T/g" 2>/dev/null)"; fi
else
    echo "SKIP: $name/niah_task (no $essays)"
fi
exit 0
