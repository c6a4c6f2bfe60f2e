#!/usr/bin/env bash
# duo-train score (issue 18) end to end on the bundled retrieval model, and sweep --compare:
#   - retrieval (passkey prompts) and ablation write train's layout (a TSV of 4 x 4 values in [0, 1], a
#     config.json with sink_size, recent_size, method, seconds, a PNG heat map), name the retrieval head
#     (layer 1, KV head 0; the fixture's record: drop 1.0) on top, and `export` takes the folder as is;
#   - otf on a few capped texts writes the same layout;
#   - sweep --compare runs the score folders as named baselines (table, sweep.csv, the plot);
#   - bad input, refused before work: an unknown method, --samples 0 (or with NIAH prompts), a model without weights, a model
#     without a tokenizer, a --compare folder without a pattern or of another shape (both shapes named),
#     a taken --compare name;
#   - the output folder, as train's: an earlier score or a trained pattern is not replaced without --overwrite,
#     a model folder never, a locked folder is refused.
bin=${DUO_BIN:-build/duo-train}
py=${PYTHON:-python3}
model=tests/fixtures/retrieval-model
corpus=tests/fixtures/retrieval-corpus/corpus.jsonl.zst
name=cli_score
pass() { echo "PASS: $name/$1"; }
fail() { echo "FAIL: $name/$1 ($2)"; }
T=$(mktemp -d "${TMPDIR:-/tmp}/score.XXXXXX")
trap 'rm -rf "$T"' EXIT
export DUO_PROGRESS=0
common=(--model "$model" --dataset "$corpus" --sink_size 16 --recent_size 64 --num_passkeys 1 --passkey_length 2)

check_layout() {  # test name, folder, method
    "$py" - "$2" "$3" "$name/$1" <<'PY'
import json, os, sys
d, method, name = sys.argv[1:4]
rows = [[float(x) for x in l.split("\t")] for l in open(os.path.join(d, "full_attention_heads.tsv")) if l.strip()]
cfg = json.load(open(os.path.join(d, "config.json")))
png = open(os.path.join(d, "full_attention_heads.png"), "rb").read(8)
bad = []
if len(rows) != 4 or any(len(r) != 4 for r in rows): bad.append(f"shape {len(rows)} rows")
if any(not (0 <= v <= 1) for r in rows for v in r): bad.append("a value outside [0, 1]")
if cfg.get("method") != method or cfg.get("sink_size") != 16 or cfg.get("recent_size") != 64: bad.append(f"config {cfg}")
if not isinstance(cfg.get("seconds"), (int, float)) or cfg["seconds"] <= 0: bad.append("no seconds")
if png != b"\x89PNG\r\n\x1a\n": bad.append("no PNG")
print(f"FAIL: {name} ({'; '.join(bad)})" if bad else f"PASS: {name}")
PY
}

top_is_retrieval_head() {  # test name, folder
    "$py" - "$2" "$name/$1" <<'PY'
import sys, os
d, name = sys.argv[1:3]
v = [[float(x) for x in l.split("\t")] for l in open(os.path.join(d, "full_attention_heads.tsv")) if l.strip()]
best = max((v[l][h], -l, -h) for l in range(4) for h in range(4))
top = (-best[1], -best[2])
others = max(v[l][h] for l in range(4) for h in range(4) if (l, h) != (1, 0))
ok = top == (1, 0) and v[1][0] > others
print(f"{'PASS' if ok else 'FAIL'}: {name} (top head {top}, value {v[1][0]:.3f}, next {others:.3f})")
PY
}

if "$bin" score "${common[@]}" --method retrieval --prompts passkey --samples 3 --context_lengths 700 \
        --output_dir "$T/ret" >"$T/out" 2>"$T/err"; then
    pass retrieval_runs
    check_layout retrieval_layout "$T/ret" retrieval
    top_is_retrieval_head retrieval_ranks_the_retrieval_head_first "$T/ret"
    grep -q "score retrieval: .* s on the" "$T/out" && pass retrieval_prints_its_time || fail retrieval_prints_its_time "$(tail -2 "$T/out")"
    if "$bin" export --pattern "$T/ret" --sparsity 0.5 >"$T/exp" 2>&1; then pass export_takes_a_score_folder
    else fail export_takes_a_score_folder "$(tail -c 300 "$T/exp")"; fi
else
    fail retrieval_runs "$(tail -c 300 "$T/err")"
fi

if "$bin" score "${common[@]}" --method ablation --samples 2 --context_lengths 700 --output_dir "$T/abl" \
        >"$T/out" 2>"$T/err"; then
    pass ablation_runs
    check_layout ablation_layout "$T/abl" ablation
    top_is_retrieval_head ablation_names_the_retrieval_head "$T/abl"
else
    fail ablation_runs "$(tail -c 300 "$T/err")"
fi

if "$bin" score "${common[@]}" --method otf --samples 3 --max_tokens 300 --q_len 100 --output_dir "$T/otf" \
        >"$T/out" 2>"$T/err"; then
    pass otf_runs
    check_layout otf_layout "$T/otf" otf
else
    fail otf_runs "$(tail -c 300 "$T/err")"
fi

# sweep --compare: the score folders as baselines, named
if [ -f "$T/ret/full_attention_heads.tsv" ] && [ -f "$T/otf/full_attention_heads.tsv" ]; then
    if "$bin" sweep --model "$model" --pattern "$T/abl" --dataset "$corpus" --num_passkeys 1 --passkey_length 2 \
            --sparsities 0,0.9375 --context_lengths 700 --samples 2 --baselines pattern \
            --compare "retr=$T/ret,$T/otf" --output_dir "$T/sweep" >"$T/out" 2>"$T/err"; then
        "$py" - "$T/sweep" "$T/out" "$name" <<'PY'
import csv, os, sys
d, out, name = sys.argv[1:4]
rows = list(csv.DictReader(open(os.path.join(d, "sweep.csv"))))
names = {r["baseline"] for r in rows}
table = open(out).read()
ok = names == {"pattern", "retr", "otf"} and len(rows) == 6 and " retr " in table and " otf " in table
print(f"{'PASS' if ok else 'FAIL'}: {name}/sweep_compare_named_in_csv_and_table ({sorted(names)}, {len(rows)} rows)")
acc = {(r["sparsity"], r["baseline"]): float(r["accuracy"]) for r in rows}
ok = acc.get(("0.9375", "retr")) == 1.0
print(f"{'PASS' if ok else 'FAIL'}: {name}/retrieval_score_keeps_retrieval_at_15_of_16_streaming ({acc})")
ok = os.path.getsize(os.path.join(d, "accuracy_vs_sparsity.png")) > 1000
print(f"{'PASS' if ok else 'FAIL'}: {name}/sweep_compare_plot")
PY
    else
        fail sweep_compare "$(tail -c 300 "$T/err")"
    fi
fi

# bad input: exit status, the message, and nothing written
expect() {  # test name, expected status, pattern in stderr, command...
    local t=$1 want=$2 pat=$3; shift 3
    "$@" >"$T/bad.out" 2>"$T/bad.err"; local rc=$?
    if [ $rc -eq "$want" ] && grep -q -- "$pat" "$T/bad.err"; then pass "$t"
    else fail "$t" "exit $rc, wanted $want and '$pat': $(tail -c 200 "$T/bad.err")"; fi
}
expect unknown_method 2 "otf, retrieval or ablation" "$bin" score "${common[@]}" --method magic --output_dir "$T/x1"
expect samples_with_niah_prompts 2 "prompts passkey" "$bin" score "${common[@]}" --method retrieval --samples 3 \
    --output_dir "$T/x1"
expect zero_samples 2 "samples" "$bin" score "${common[@]}" --method otf --samples 0 --output_dir "$T/x2"
mkdir -p "$T/noweights" && cp "$model/config.json" "$T/noweights/"
expect model_without_weights 1 "noweights" "$bin" score --model "$T/noweights" --dataset "$corpus" --method otf --output_dir "$T/x3"
expect model_without_tokenizer 1 "tokenizer" "$bin" score --model tests/fixtures/models/tiny-llama-gqa --dataset "$corpus" \
    --method otf --output_dir "$T/x4"
[ ! -e "$T/x1" ] && [ ! -e "$T/x2" ] && [ ! -e "$T/x3" ] && [ ! -e "$T/x4" ] && pass bad_input_writes_nothing \
    || fail bad_input_writes_nothing "$(ls "$T")"
mkdir -p "$T/empty" "$T/small"
printf '1\t0\n0\t1\n' >"$T/small/full_attention_heads.tsv"
sw=("$bin" sweep --model "$model" --pattern "$T/abl" --dataset "$corpus" --output_dir "$T/x5")
expect compare_folder_without_pattern 1 "holds no pattern" "${sw[@]}" --compare "$T/empty"
expect compare_folder_of_another_shape 1 "2 x 2 gates, .* has 4 layers x 4 KV heads" "${sw[@]}" --compare "$T/small"
expect compare_name_taken 2 "'random' is taken" "${sw[@]}" --compare "random=$T/otf"
[ ! -e "$T/x5" ] && pass bad_compare_writes_nothing || fail bad_compare_writes_nothing "x5 exists"

# the output folder, as train's: an earlier score (or training) is not replaced unasked, a model folder
# never, and two writers are not let into one folder
otf=("$bin" score "${common[@]}" --method otf --samples 2 --max_tokens 200 --q_len 50)
if [ -f "$T/otf/full_attention_heads.tsv" ]; then
    cp "$T/otf/full_attention_heads.tsv" "$T/otf.tsv"
    expect rerun_over_earlier_score_refused 1 "holds an earlier run .*pass --overwrite" "${otf[@]}" --output_dir "$T/otf"
    cmp -s "$T/otf.tsv" "$T/otf/full_attention_heads.tsv" && pass refused_rerun_keeps_the_scores \
        || fail refused_rerun_keeps_the_scores "full_attention_heads.tsv changed"
    if "${otf[@]}" --output_dir "$T/otf" --overwrite >"$T/out" 2>"$T/err"; then pass overwrite_replaces_the_score
    else fail overwrite_replaces_the_score "$(tail -c 300 "$T/err")"; fi
fi
mkdir -p "$T/trained"
printf '{"exp_name": "x", "reg_weight": 0.05, "sink_size": 16}\n' >"$T/trained/config.json"
printf '0.5\t0.5\n' >"$T/trained/full_attention_heads.tsv"
expect score_over_trained_pattern_refused 1 "holds an earlier run" "${otf[@]}" --output_dir "$T/trained"
grep -q "0.5" "$T/trained/full_attention_heads.tsv" && pass refused_score_keeps_the_trained_gates \
    || fail refused_score_keeps_the_trained_gates "the TSV changed"
cp -r "$model" "$T/modelcopy"
expect score_into_model_folder_refused 1 "looks like a model folder" "${otf[@]}" --output_dir "$T/modelcopy" --overwrite
mkdir -p "$T/busy"
exec 9>"$T/busy/.duo-train.lock"
flock 9 && echo "$$" >&9
expect score_into_locked_folder_refused 1 "in use by another" "${otf[@]}" --output_dir "$T/busy"
exec 9>&-
