#!/usr/bin/env bash
# duo-train sweep --task longbench end to end on the bundled retrieval model: a LongBench-format folder
# built here (passkey records from `duo-train synth` in six datasets, one per metric family, with
# config/dataset2prompt.json and config/dataset2maxlen.json of its own), the pattern against the
# inverted pattern at two sparsities; the outputs (table, sweep.csv, responses.jsonl, the pred folders,
# longbench_summary.csv, PNGs, progress); the sweep's scores against LongBench's eval.py logic on its own
# pred files (tests/cli/longbench_eval_stdlib.py, itself checked here against the committed LongBench
# references; the real eval.py too when LONGBENCH_EVAL and LONGBENCH_PYTHON are set); LongBench-E;
# truncation in the middle; the chat wrapper; and every bad input of issue 17.
bin=${DUO_BIN:-build/duo-train}
py=${PYTHON:-python3}
model=tests/fixtures/retrieval-model
corpus=tests/fixtures/retrieval-corpus/corpus.jsonl.zst
evalpy=tests/cli/longbench_eval_stdlib.py
name=cli_longbench
pass() { echo "PASS: $name/$1"; }
fail() { echo "FAIL: $name/$1 ($2)"; }
T=$(mktemp -d "${TMPDIR:-/tmp}/longbench.XXXXXX")
trap 'rm -rf "$T"' EXIT

"$py" "$evalpy" --check_refs tests/fixtures/longbench/metric_refs.jsonl.gz | sed "s#^\([A-Z]*\): #\1: $name/#"

# the pattern: layer 1 KV head 0 (the retrieval head) ranks first
pat="$T/pattern"
mkdir -p "$pat"
printf '1.0e-01\t1.0e-01\t1.0e-01\t1.0e-01\n8.0e-01\t1.0e-01\t1.0e-01\t1.0e-01\n1.0e-01\t1.0e-01\t1.0e-01\t1.0e-01\n1.0e-01\t1.0e-01\t1.0e-01\t1.0e-01\n' \
    >"$pat/full_attention_heads.tsv"
echo '{"sink_size": 16, "recent_size": 64}' >"$pat/config.json"

# passkey samples as LongBench records
"$bin" synth --model "$model" --dataset "$corpus" --out "$T/s.h5" --num_samples 3 --context_length_min 600 \
    --context_length_max 600 --context_lengths_num_intervals 1 --num_passkeys 1 --passkey_length 2 \
    --buffer_size 20 >/dev/null 2>&1 || fail synth "cannot build the passkey samples"
for i in 0 1 2; do "$bin" synth --show "$T/s.h5" --index $i --model "$model" --no_color >"$T/show$i.txt" 2>&1; done
data="$T/LongBench/data"
"$py" - "$T" "$data" <<'PY'
import json, os, re, sys
T, data = sys.argv[1:3]
os.makedirs(os.path.join(data, "config"))
recs = []
for i in range(3):
    t = open(os.path.join(T, f"show{i}.txt")).read()
    book = t.split("<book>", 1)[1].split("</book>")[0].replace("[[ ", "").replace("]]", "").strip()
    key = re.search(r"Passkey:\s+(.*?)\s*\n", t).group(1)
    recs.append((book, key))
question = "Based on the content of the book, what is the first passkey to the vault?"
template = "<|im_start|> This is a very long story book: <book> {context} </book>.\n\n{input}\nPasskey:"
keys = [k for _, k in recs]
def rec(i, answers, length, all_classes=None):
    return {"input": question, "context": recs[i][0], "answers": answers, "length": length,
            "all_classes": all_classes, "_id": f"r{i}", "dataset": "x", "language": "en"}
sets = {
    "hotpotqa": [rec(i, [keys[i], "the " + keys[i] + " passkey"], 100 + i) for i in range(3)],
    "samsum": [rec(i, [keys[i] + ". A passkey"], 5000) for i in range(2)],
    "trec": [rec(i, [keys[i]], 300, keys + ["whiskey", "golf yankee"]) for i in range(3)],
    "passage_retrieval_en": [rec(i, [f"Paragraph {i + 1}"], 200) for i in range(2)],
    "passage_count": [rec(i, ["2"], 200) for i in range(2)],
    "lcc": [rec(i, [keys[i] + "()"], 9000) for i in range(2)],
}
for d, rs in sets.items():
    with open(os.path.join(data, f"{d}.jsonl"), "w") as f:
        f.write("".join(json.dumps(r) + "\n" for r in rs))
# LongBench-E: the same records, lengths in all three buckets
with open(os.path.join(data, "hotpotqa_e.jsonl"), "w") as f:
    for i, n in enumerate([100, 4000, 12000]):
        f.write(json.dumps(rec(i, [keys[i]], n)) + "\n")
json.dump({d: template for d in sets}, open(os.path.join(data, "config", "dataset2prompt.json"), "w"))
json.dump({d: 6 for d in sets}, open(os.path.join(data, "config", "dataset2maxlen.json"), "w"))
PY

sweep() {  # output dir, extra args...
    local out=$1; shift
    DUO_PROGRESS=0 "$bin" sweep --task longbench --model "$model" --pattern "$pat" --dataset "$data" \
        --output_dir "$out" "$@"
}

# the main run, with the progress bar on (stderr is not a terminal: plain lines)
DUO_PROGRESS=1 "$bin" sweep --task longbench --model "$model" --pattern "$pat" --dataset "$data" --output_dir "$T/a" \
    --sparsities 0,0.9375 --baselines pattern,inverted >"$T/out" 2>"$T/err"; rc=$?
if [ $rc -ne 0 ]; then fail run "exit $rc: $(tail -c 400 "$T/err")"
else
    pass run
    grep -qi "eta" "$T/err" && grep -q "56/56" "$T/err" && pass progress_bar || fail progress_bar "$(tail -c 300 "$T/err")"
    grep -q "hotpotqa .* pattern" "$T/out" && grep -q "average score" "$T/out" && pass table ||
        fail table "$(head -5 "$T/out")"
    "$py" - "$T/a" "$name" "$evalpy" <<'PY'
import csv, importlib.util, json, os, sys
out, name, evalpy = sys.argv[1:4]
spec = importlib.util.spec_from_file_location("lbeval", evalpy)
lbeval = importlib.util.module_from_spec(spec)
spec.loader.exec_module(lbeval)
def check(test, ok, detail=""):
    print(f"{'PASS' if ok else 'FAIL'}: {name}/{test}{f' ({detail})' if detail and not ok else ''}")
rows = list(csv.DictReader(open(os.path.join(out, "sweep.csv"))))
need = {"task", "dataset", "sparsity", "baseline", "records", "prompt_tokens", "score", "score_0_4k", "kv_bytes",
        "kv_ratio", "prefill_s", "decode_ms_per_token"}
check("csv_columns", rows and need <= set(rows[0]), sorted(need - set(rows[0] if rows else {})))
check("csv_rows", len(rows) == 6 * 2 * 2 and all(r["task"] == "longbench" for r in rows), len(rows))
by = {(r["dataset"], float(r["sparsity"]), r["baseline"]): r for r in rows}
# the sweep's scores = eval.py's logic on the sweep's own pred files, dataset by dataset
bad = []
for sp in ("0", "0.9375"):
    for b in ("pattern", "inverted"):
        d = os.path.join(out, "longbench_pred", f"{b}-sp-{sp}")
        got = lbeval.evaluate(d, False)
        for f, score in got.items():
            ds = f.split("-")[0]
            if f"{score:.2f}" != by[(ds, float(sp), b)]["score"]:
                bad.append(f"{ds} {b} {sp}: eval {score} sweep {by[(ds, float(sp), b)]['score']}")
check("scores_equal_eval_py", not bad and len(got) == 6, "; ".join(bad))
lines = [json.loads(l) for l in open(os.path.join(out, "responses.jsonl"))]
check("responses_jsonl", len(lines) == 14 * 4 and all(
    {"pred", "answers", "all_classes", "length", "dataset", "score", "generated_ids"} <= set(l) for l in lines), len(lines))
worst = max(abs(lbeval.record_score(l["dataset"], l["pred"], l["answers"], l["all_classes"], False) - l["score"])
            for l in lines)
check("record_scores_equal_eval_py", worst <= 1e-12, worst)
# the retrieval head answers: at 15 of 16 heads streaming the pattern keeps it, the inverted pattern does not
p, i = by[("hotpotqa", 0.9375, "pattern")], by[("hotpotqa", 0.9375, "inverted")]
check("pattern_beats_inverted", float(p["score"]) == 100 and float(i["score"]) < float(p["score"]),
      f"{p['score']} vs {i['score']}")
check("kv_smaller_when_sparse", float(p["kv_ratio"]) < 0.5 and float(by[("hotpotqa", 0.0, "pattern")]["kv_ratio"]) == 1,
      p["kv_ratio"])
summary = list(csv.DictReader(open(os.path.join(out, "longbench_summary.csv"))))
avg = {(float(r["sparsity"]), r["baseline"]): float(r["average_score"]) for r in summary}
want = sum(float(by[(d, 0.9375, "pattern")]["score"]) for d in
           ("hotpotqa", "samsum", "trec", "passage_retrieval_en", "passage_count", "lcc")) / 6
check("summary_average", len(summary) == 4 and abs(avg[(0.9375, "pattern")] - want) < 0.006, avg)
png = [f for f in ("longbench.png", "longbench_average.png", "longbench_trec.png")
       if open(os.path.join(out, f), "rb").read(8) != bytes([137, 80, 78, 71, 13, 10, 26, 10])]
check("plots_png", not png, png)
PY
    if [ -n "$LONGBENCH_EVAL" ] && [ -n "$LONGBENCH_PYTHON" ]; then  # LongBench's own eval.py, unchanged
        d="$T/a/longbench_pred/pattern-sp-0.9375"
        cp -r "$d" "$T/real"
        (cd "$(dirname "$LONGBENCH_EVAL")" && "$LONGBENCH_PYTHON" "$LONGBENCH_EVAL" --results_path "$T/real/" >/dev/null 2>&1)
        "$py" "$evalpy" --results_path "$d/" >/dev/null
        cmp -s "$T/real/result.json" "$d/result.json" && pass real_eval_py_same_result ||
            fail real_eval_py_same_result "$(cat "$T/real/result.json" 2>&1 | head -5)"
    else
        echo "SKIP: $name/real_eval_py_same_result (set LONGBENCH_EVAL=.../eval/LongBench/eval.py and LONGBENCH_PYTHON)"
    fi
fi

# LongBench-E: the _e file, the length buckets equal eval.py --e
sweep "$T/e" --longbench_e --sparsities 0.9375 --baselines pattern >"$T/out" 2>"$T/err"; rc=$?
if [ $rc -eq 0 ] && "$py" - "$T/e" "$evalpy" <<'PY'
import csv, importlib.util, os, sys
out, evalpy = sys.argv[1:3]
spec = importlib.util.spec_from_file_location("lbeval", evalpy)
lbeval = importlib.util.module_from_spec(spec)
spec.loader.exec_module(lbeval)
rows = list(csv.DictReader(open(os.path.join(out, "sweep.csv"))))
got = lbeval.evaluate(os.path.join(out, "longbench_pred", "pattern-sp-0.9375"), True)
want = got["hotpotqa-duo_attn.jsonl"]
r = rows[0]
ok = len(rows) == 1 and r["score_0_4k"] == f"{want['0-4k']:.2f}" and r["score_4_8k"] == f"{want['4-8k']:.2f}" \
    and r["score_8k_plus"] == f"{want['8k+']:.2f}"
sys.exit(0 if ok else 1)
PY
then pass longbench_e_buckets; else fail longbench_e_buckets "exit $rc: $(tail -c 300 "$T/err")"; fi

# truncation in the middle, and the chat wrapper (by model name, not for trec)
sweep "$T/t" --longbench_datasets hotpotqa,trec --max_length 200 --sparsities 0 --baselines pattern >/dev/null 2>"$T/err"; rc=$?
sweep "$T/c" --longbench_datasets hotpotqa,trec --model_name my-llama-2-model --sparsities 0 --baselines pattern \
    >"$T/out" 2>"$T/err2"; rc2=$?
if [ $rc -eq 0 ] && [ $rc2 -eq 0 ] && "$py" - "$T" <<'PY'
import json, sys
T = sys.argv[1]
t = [json.loads(l) for l in open(f"{T}/t/responses.jsonl")]
c = [json.loads(l) for l in open(f"{T}/c/responses.jsonl")]
# truncated prompts: 200 tokens kept as two decoded halves, re-encoded (a few tokens either way)
ok = len(t) == 6 and all(l["truncated"] and 190 <= l["prompt_tokens"] <= 210 for l in t)
ok2 = all(not l["truncated"] and l["prompt_tokens"] > 500 for l in c)
sys.exit(0 if ok and ok2 else 1)
PY
then pass truncation_in_the_middle; else fail truncation_in_the_middle "exit $rc $rc2: $(tail -c 300 "$T/err")"; fi
grep -q 'chat wrapper \[INST\]' "$T/out" && pass chat_wrapper_by_model_name || fail chat_wrapper_by_model_name "$(head -1 "$T/out")"
sweep "$T/n" --longbench_datasets hotpotqa,trec --sparsities 0 --baselines pattern >/dev/null 2>&1
if "$py" - "$T" <<'PY'
import json, sys
T = sys.argv[1]
c = {(l["dataset"], l["index"]): l["prompt_tokens"] for l in map(json.loads, open(f"{T}/c/responses.jsonl"))}
n = {(l["dataset"], l["index"]): l["prompt_tokens"] for l in map(json.loads, open(f"{T}/n/responses.jsonl"))}
sys.exit(0 if all(c[k] > n[k] for k in c if k[0] == "hotpotqa") and all(c[k] == n[k] for k in c if k[0] == "trec") else 1)
PY
then pass chat_wrapper_not_for_trec; else fail chat_wrapper_not_for_trec "prompt lengths"; fi

# the issue-20 output rules for LongBench: Ctrl-C finishes the record and writes what is done
# (sweep.partial.csv), exit 130, no temporary file; --resume finishes it and the final files equal an
# uninterrupted run's (sweep.csv and longbench_summary.csv but for timings, the pred files byte for byte,
# responses.jsonl as a set of lines without timings)
no_temps() { [ -z "$(find "$1" -name '*.tmp.*')" ]; }
lbsweep4() { sweep "$@" --sparsities 0,0.5,0.9375,1 --baselines pattern,inverted; }
lbsweep4 "$T/whole" >/dev/null 2>"$T/err" || fail uninterrupted_run "$(tail -c 300 "$T/err")"
DUO_PROGRESS=0 "$bin" sweep --task longbench --model "$model" --pattern "$pat" --dataset "$data" --output_dir "$T/int" \
    --sparsities 0,0.5,0.9375,1 --baselines pattern,inverted >/dev/null 2>"$T/int.err" &
pid=$!
for _ in $(seq 3000); do [ -s "$T/int/responses.jsonl" ] && break; sleep 0.01; done
kill -INT $pid; wait $pid; rc=$?
n_done=$(wc -l < "$T/int/responses.jsonl" 2>/dev/null || echo 0)
if [ $rc -eq 130 ] && [ -s "$T/int/sweep.partial.csv" ] && [ ! -e "$T/int/sweep.csv" ] &&
   [ ! -e "$T/int/longbench_summary.csv" ] && no_temps "$T/int" && [ "$n_done" -ge 1 ] && [ "$n_done" -lt 112 ] &&
   grep -q "interrupted after .*--resume" "$T/int.err" && grep -q '^longbench,' "$T/int/sweep.partial.csv"; then
    pass ctrl_c_writes_partial
else fail ctrl_c_writes_partial "exit $rc, $n_done lines: $(tail -c 300 "$T/int.err"); $(ls "$T/int" | tr '\n' ' ')"; fi
cp -r "$T/int" "$T/int_copy"
lbsweep4 "$T/int" --resume >/dev/null 2>"$T/err"; rc=$?
same_lb() {  # two LongBench sweep folders hold the same results
    "$py" - "$@" <<'PY'
import csv, json, os, sys
a, b = sys.argv[1:3]
timing = ("prefill_s", "decode_ms_per_token", "shared_prefill_s", "shared_prefill")
if len(sys.argv) > 3:  # sharing against not sharing: the marks of a reused response differ too
    timing += ("reused_from",)
def rows(d, f):
    return [{k: v for k, v in r.items() if k not in timing} for r in csv.DictReader(open(os.path.join(d, f)))]
def lines(d):
    return sorted(json.dumps({k: v for k, v in json.loads(l).items() if k not in timing}, sort_keys=True)
                  for l in open(os.path.join(d, "responses.jsonl")))
def preds(d):
    root = os.path.join(d, "longbench_pred")
    return {os.path.join(s, f): open(os.path.join(root, s, f), "rb").read()
            for s in sorted(os.listdir(root)) for f in sorted(os.listdir(os.path.join(root, s)))}
bad = [w for w, ok in (("sweep.csv", rows(a, "sweep.csv") == rows(b, "sweep.csv")),
                       ("summary", rows(a, "longbench_summary.csv") == rows(b, "longbench_summary.csv")),
                       ("responses", lines(a) == lines(b) and len(lines(a)) == 112),
                       ("preds", preds(a) == preds(b) and len(preds(a)) == 6 * 8)) if not ok]
print(" ".join(bad))
sys.exit(1 if bad else 0)
PY
}
if [ $rc -eq 0 ] && [ ! -e "$T/int/sweep.partial.csv" ] && no_temps "$T/int" && same_lb "$T/whole" "$T/int" >"$T/diff"; then
    pass resume_equals_uninterrupted
else fail resume_equals_uninterrupted "exit $rc: $(cat "$T/diff") $(tail -c 300 "$T/err")"; fi
# sharing (each record's first forward computed once and restored for every pattern, a repeated mask's
# response reused) against computing everything per pattern: the same results, pred files byte for byte
lbsweep4 "$T/unshared" --share_prefill 0 --reuse_identical 0 >/dev/null 2>"$T/err"; rc=$?
restored=$(grep -c '"shared_prefill":"restored"' "$T/whole/responses.jsonl")
reused=$(grep -c '"reused_from"' "$T/whole/responses.jsonl")
if [ $rc -eq 0 ] && [ "$restored" -gt 0 ] && [ "$reused" -gt 0 ] && ! grep -q shared_prefill "$T/unshared/responses.jsonl" &&
    same_lb "$T/unshared" "$T/whole" loose >"$T/diff"; then pass sharing_equals_unshared
else fail sharing_equals_unshared "exit $rc, $restored restored, $reused reused: $(cat "$T/diff") $(tail -c 300 "$T/err")"; fi
# resuming with other data is refused (another record under the same identity), and so are lines of another sweep
cp -r "$T/int_copy" "$T/int_other"
"$py" - "$T/int_other/responses.jsonl" <<'PY'
import json, sys
ls = [json.loads(l) for l in open(sys.argv[1])]
ls[0]["_id"] = "another record"
open(sys.argv[1], "w").write("".join(json.dumps(l) + "\n" for l in ls))
PY
lbsweep4 "$T/int_other" --resume >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "responses.jsonl: the response of .*dataset=.* other data or options" "$T/err" &&
    pass resume_other_record_refused || fail resume_other_record_refused "exit $rc: $(head -c 300 "$T/err")"
sweep "$T/int_copy" --resume --sparsities 0 --baselines pattern --longbench_datasets trec >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "responses.jsonl holds [0-9]* responses this sweep would not run" "$T/err" &&
    pass resume_other_sweep_refused || fail resume_other_sweep_refused "exit $rc: $(head -c 300 "$T/err")"
# an earlier LongBench sweep is an earlier sweep: refused without --resume / --overwrite, --overwrite clears
# it whole (the pred folder too); a folder holding only LongBench's summary or its pred folder counts too
sweep "$T/whole" --sparsities 0 --baselines pattern >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "holds an earlier sweep" "$T/err" && pass earlier_sweep_refused ||
    fail earlier_sweep_refused "exit $rc: $(head -c 300 "$T/err")"
mkdir -p "$T/only_sum" "$T/only_pred/longbench_pred"; echo x > "$T/only_sum/longbench_summary.csv"
sweep "$T/only_sum" --sparsities 0 --baselines pattern --longbench_datasets trec >/dev/null 2>"$T/err"; rc=$?
sweep "$T/only_pred" --sparsities 0 --baselines pattern --longbench_datasets trec >/dev/null 2>"$T/err2"; rc2=$?
[ $rc -eq 1 ] && [ $rc2 -eq 1 ] && grep -q "longbench_summary.csv" "$T/err" && grep -q "longbench_pred" "$T/err2" &&
    pass longbench_files_are_a_sweep || fail longbench_files_are_a_sweep "exit $rc $rc2: $(head -c 300 "$T/err")"
sweep "$T/whole" --sparsities 0 --baselines pattern --longbench_datasets trec --overwrite >/dev/null 2>"$T/err"; rc=$?
if [ $rc -eq 0 ] && [ "$(ls "$T/whole/longbench_pred")" = "pattern-sp-0" ] &&
   [ "$(ls "$T/whole/longbench_pred/pattern-sp-0")" = "trec-duo_attn.jsonl" ] &&
   [ "$(wc -l < "$T/whole/responses.jsonl")" -eq 3 ] && [ ! -e "$T/whole/longbench_hotpotqa.png" ]; then
    pass overwrite_clears_longbench
else fail overwrite_clears_longbench "exit $rc: $(ls -R "$T/whole" | head -c 300) $(head -c 300 "$T/err")"; fi

# --compare (issue 18) in LongBench: a compare folder is a baseline of its own in the table, sweep.csv,
# the summary, the pred folders and responses.jsonl; the pattern's own folder compared scores as the pattern;
# sparsities that print alike with %g stay distinct (issue 20)
sweep "$T/cmp" --longbench_datasets hotpotqa,trec --sparsities 0.9999999,1 --baselines pattern,inverted \
    --compare "same=$pat" >"$T/out" 2>"$T/err"; rc=$?
if [ $rc -eq 0 ] && "$py" - "$T/cmp" <<'PY'
import csv, json, os, sys
out = sys.argv[1]
rows = list(csv.DictReader(open(os.path.join(out, "sweep.csv"))))
by = {(r["dataset"], r["sparsity"], r["baseline"]): r for r in rows}
summary = {(r["sparsity"], r["baseline"]) for r in csv.DictReader(open(os.path.join(out, "longbench_summary.csv")))}
preds = sorted(os.listdir(os.path.join(out, "longbench_pred")))
lines = [json.loads(l) for l in open(os.path.join(out, "responses.jsonl"))]
ok = len(rows) == 2 * 2 * 3 and {r["sparsity"] for r in rows} == {"0.9999999", "1"}
ok = ok and all(by[(d, sp, "same")]["score"] == by[(d, sp, "pattern")]["score"] for d in ("hotpotqa", "trec")
                for sp in ("0.9999999", "1"))
ok = ok and summary == {(sp, b) for sp in ("0.9999999", "1") for b in ("pattern", "inverted", "same")}
ok = ok and preds == sorted(f"{b}-sp-{sp}" for sp in ("0.9999999", "1") for b in ("pattern", "inverted", "same"))
ok = ok and sum(l["baseline"] == "same" for l in lines) == 12 and len(lines) == 36
sys.exit(0 if ok else 1)
PY
then pass compare_baseline; else fail compare_baseline "exit $rc: $(tail -c 300 "$T/err") $(head -c 600 "$T/cmp/sweep.csv")"; fi
grep -q "hotpotqa .* same" "$T/out" && pass compare_in_table || fail compare_in_table "$(head -c 300 "$T/out")"

# bad input: each an error naming the file, line, field or value, before any model work (no output folder)
bad() {  # test name, expected exit, expected message, sweep args...
    local t=$1 want=$2 msg=$3; shift 3
    rm -rf "$T/bad"
    sweep "$T/bad" "$@" >/dev/null 2>"$T/err"; local rc=$?
    # no output written: no folder, or (an error found while building the prompts, after the output folder
    # was checked and locked) a folder holding nothing but the lock
    if [ $rc -eq "$want" ] && grep -qF -- "$msg" "$T/err" && [ -z "$(ls -A "$T/bad" 2>/dev/null | grep -vx .duo-train.lock)" ]; then pass "$t"
    else fail "$t" "exit $rc, want $want and '$msg': $(head -c 300 "$T/err")"; fi
}
B="$T/B"
mkbad() { rm -rf "$B"; cp -r "$data" "$B"; }
mkbad; printf '{"input": "q", "context": "c", "answers": ["a"], "length": 1, "all_classes": null}\nnot json\n' >"$B/hotpotqa.jsonl"
bad not_json_lines 1 "hotpotqa.jsonl:2: not a JSON object" --dataset "$B" --longbench_datasets hotpotqa
mkbad; printf '{"input": "q", "answers": ["a"], "length": 1, "all_classes": null}\n' >"$B/hotpotqa.jsonl"
bad record_missing_field 1 'hotpotqa.jsonl:1: the record has no field "context"' --dataset "$B" --longbench_datasets hotpotqa
mkbad; "$py" -c "import json,sys; p=sys.argv[1]; d=json.load(open(p)); d['trec']='Q: {contxt}'; json.dump(d, open(p,'w'))" "$B/config/dataset2prompt.json"
bad unknown_placeholder 1 "unknown placeholder {contxt}" --dataset "$B" --longbench_datasets trec
mkbad; "$py" -c "import json,sys; p=sys.argv[1]; d=json.load(open(p)); d['trec']='Q: {input} }'; json.dump(d, open(p,'w'))" "$B/config/dataset2prompt.json"
bad template_single_brace 1 "a single '}'" --dataset "$B" --longbench_datasets trec
mkbad; "$py" -c "import json,sys; p=sys.argv[1]; d=json.load(open(p)); del d['lcc']; json.dump(d, open(p,'w'))" "$B/config/dataset2maxlen.json"
bad dataset_not_in_config 1 'no generation length for dataset "lcc"' --dataset "$B"
mkbad; : >"$B/samsum.jsonl"
bad empty_dataset 1 "samsum.jsonl: no records" --dataset "$B"
bad max_length_below_generation 1 "--max_length 3 is smaller than the generation length 6" --max_length 3
bad jieba_dataset_refused 1 "'dureader' is scored on jieba" --longbench_datasets hotpotqa,dureader
bad unknown_dataset 1 "'qa' is not a LongBench dataset" --longbench_datasets qa
bad dataset_file_missing 1 "musique.jsonl: no such file" --longbench_datasets musique
mkbad; rm -r "$B/config"
bad config_missing 1 "dataset2prompt.json" --dataset "$B"
mkbad; printf '{"input": "q", "context": "c", "answers": "a", "length": 1, "all_classes": null}\n' >"$B/hotpotqa.jsonl"
bad answers_not_a_list 1 'hotpotqa.jsonl:1: field "answers" is not a list' --dataset "$B" --longbench_datasets hotpotqa
bad chat_wrap_value 2 "--chat_wrap must be auto, none or llama2" --chat_wrap chatml
# a prompt truncated to the default budget (4096 positions - 6 new tokens) grows by the [INST] wrapper
mkbad; "$py" -c "
import json, sys
r = json.loads(open(sys.argv[1]).readline()); r['context'] = ' '.join([r['context']] * 9)
open(sys.argv[1], 'w').write(json.dumps(r) + '\\n')" "$B/hotpotqa.jsonl"
bad prompt_beyond_positions_after_wrapper 1 "hotpotqa.jsonl:1: the prompt has" --dataset "$B" --longbench_datasets hotpotqa \
    --model_name llama-2-test
exit 0
