#!/usr/bin/env bash
# duo-train sweep with sharing (the default: each prompt's first forward computed once and restored for
# every pattern, a repeated mask's response reused) against --share_prefill 0 --reuse_identical 0 (every
# pattern computes everything): sweep.csv without its timing columns and every response line (by its
# key: generated_ids, kv bytes, scores, text) must be identical.  Settings: the whole prefill in one
# forward, a chunk shorter than the prompt, decoding_simulation_length 0 and 50, passkey and NIAH, two
# random seeds (the cells' sums), prefill streaming (sharing off by itself), and a sharing sweep
# interrupted by Ctrl-C then resumed.  Also checks that sharing did happen where it should.
bin=${DUO_BIN:-build/duo-train}
py=${PYTHON:-python3}
model=tests/fixtures/retrieval-model
corpus=tests/fixtures/retrieval-corpus/corpus.jsonl.zst
name=cli_sweep_share
pass() { echo "PASS: $name/$1"; }
fail() { echo "FAIL: $name/$1 ($2)"; }
T=$(mktemp -d "${TMPDIR:-/tmp}/sweep-share.XXXXXX")
trap 'rm -rf "$T"' EXIT
export DUO_PROGRESS=0

pat="$T/pattern"
mkdir -p "$pat"
printf '1.0e-01\t1.0e-01\t1.0e-01\t1.0e-01\n8.0e-01\t1.0e-01\t1.0e-01\t1.0e-01\n1.0e-01\t3.0e-01\t1.0e-01\t1.0e-01\n1.0e-01\t1.0e-01\t2.0e-01\t1.0e-01\n' \
    >"$pat/full_attention_heads.tsv"
echo '{"sink_size": 16, "recent_size": 64}' >"$pat/config.json"

sweep() {  # output dir, extra args...
    local out=$1; shift
    "$bin" sweep --model "$model" --pattern "$pat" --dataset "$corpus" --num_passkeys 1 --passkey_length 2 \
        --output_dir "$out" "$@"
}

# same OUT_A OUT_B EXPECT: sweep.csv minus timings and the lines by key minus timings and sharing marks;
# EXPECT (in B, the sharing run): "shared" -- some lines restored the first forward and some reused a
# response; "unshared" -- no line carries a sharing mark
same() {
    "$py" - "$@" <<'PY'
import csv, json, os, sys
a, b, expect = sys.argv[1:4]
skip = {"prefill_s", "decode_ms_per_token", "shared_prefill_s", "shared_prefill", "reused_from"}
def rows(d):
    return [{k: v for k, v in r.items() if k not in skip} for r in csv.DictReader(open(os.path.join(d, "sweep.csv")))]
def lines(d):
    raw = [json.loads(l) for l in open(os.path.join(d, "responses.jsonl"))]
    keyed = {}
    for l in raw:
        k = (l["sparsity"], l["baseline"], l["seed"], l["context_length"], l.get("depth_percent"), l["sample"])
        if k in keyed: sys.exit(f"two lines of {k}")
        keyed[k] = {f: v for f, v in l.items() if f not in skip}
    return raw, keyed
ra, rb = rows(a), rows(b)
(_, la), (raw_b, lb) = lines(a), lines(b)
if ra != rb: sys.exit(f"sweep.csv differs: {[x for x, y in zip(ra, rb) if x != y][:1]} vs {[y for x, y in zip(ra, rb) if x != y][:1]}")
if not la or la.keys() != lb.keys(): sys.exit(f"other responses: {len(la)} vs {len(lb)} lines")
diff = [k for k in la if la[k] != lb[k]]
if diff:
    k = diff[0]
    sys.exit(f"{len(diff)} lines differ, e.g. {k}: " + str({f: (la[k].get(f), lb[k].get(f)) for f in la[k] if la[k].get(f) != lb[k].get(f)}))
restored = sum(l.get("shared_prefill") == "restored" for l in raw_b)
computed = sum(l.get("shared_prefill") == "computed" for l in raw_b)
reused = sum("reused_from" in l for l in raw_b)
if expect == "shared" and not (restored and reused and computed):
    sys.exit(f"no sharing: {computed} computed, {restored} restored, {reused} reused")
if expect == "unshared" and (restored or computed or any("shared_prefill_s" in l for l in raw_b)):
    sys.exit(f"sharing with prefill streaming: {computed} computed, {restored} restored")
for l in raw_b:  # a reused line names a line of the same prompt whose response it repeats
    if "reused_from" in l and l["reused_from"] == "":
        sys.exit("empty reused_from")
PY
}

# compare NAME EXPECT ARGS...: the sweep both ways
compare() {
    local n=$1 expect=$2; shift 2
    sweep "$T/$n.off" --share_prefill 0 --reuse_identical 0 "$@" >/dev/null 2>"$T/err" ||
        { fail "$n" "unshared run: $(tail -c 300 "$T/err")"; return; }
    sweep "$T/$n.on" "$@" >/dev/null 2>"$T/err" || { fail "$n" "shared run: $(tail -c 300 "$T/err")"; return; }
    if [ "$expect" = shared ] && ! grep -q "prefill shared across patterns" "$T/err"; then
        fail "$n" "no shared prefill summary: $(tail -c 300 "$T/err")"; return
    fi
    local why
    why=$(same "$T/$n.off" "$T/$n.on" "$expect" 2>&1) && pass "$n" || fail "$n" "$why"
}

pk=(--sparsities 0,0.9375,1 --baselines pattern,random,inverted --random_patterns 2 --context_lengths 400,600 --samples 2)
compare chunk0_sim50 shared "${pk[@]}"
compare chunk0_sim0 shared "${pk[@]}" --decoding_simulation_length 0
compare chunk96_sim50 shared "${pk[@]}" --prefilling_chunk_size 96
compare chunk96_sim0 shared "${pk[@]}" --prefilling_chunk_size 96 --decoding_simulation_length 0
compare niah_chunk64 shared --task niah --sparsities 0,0.5,1 --context_lengths 300 --depths 0,50 --max_new_tokens 8 \
    --prefilling_chunk_size 64 --decoding_simulation_length 20
compare prefill_streaming unshared --sparsities 0.5,0.9375 --context_lengths 400 --samples 2 --prefill streaming \
    --prefilling_chunk_size 96

# Ctrl-C in a sharing sweep, then --resume: equal to the unshared uninterrupted run
"$bin" sweep --model "$model" --pattern "$pat" --dataset "$corpus" --num_passkeys 1 --passkey_length 2 \
    --output_dir "$T/int" "${pk[@]:0:6}" --context_lengths 400 --samples 4 >/dev/null 2>"$T/int.err" &
pid=$!
for _ in $(seq 3000); do [ -f "$T/int/responses.jsonl" ] && [ "$(wc -l <"$T/int/responses.jsonl")" -ge 5 ] && break; sleep 0.01; done
kill -INT $pid; wait $pid; rc=$?
n_done=$(wc -l <"$T/int/responses.jsonl" 2>/dev/null || echo 0)
if [ $rc -eq 130 ] && [ "$n_done" -ge 5 ] && [ "$n_done" -lt 48 ] && [ -s "$T/int/sweep.partial.csv" ]; then
    sweep "$T/int" "${pk[@]:0:6}" --context_lengths 400 --samples 4 --resume >/dev/null 2>"$T/err"; rc=$?
    sweep "$T/int.off" "${pk[@]:0:6}" --context_lengths 400 --samples 4 --share_prefill 0 --reuse_identical 0 \
        >/dev/null 2>>"$T/err"
    why=$(same "$T/int.off" "$T/int" shared 2>&1)
    [ $rc -eq 0 ] && [ -z "$why" ] && pass resume_after_interrupt || fail resume_after_interrupt "exit $rc: $why $(tail -c 200 "$T/err")"
else
    fail resume_after_interrupt "interrupt: exit $rc, $n_done lines: $(tail -c 300 "$T/int.err")"
fi

# the flags take 0 or 1
sweep "$T/bad" --share_prefill 2 >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 2 ] && grep -q "share_prefill" "$T/err" && pass flag_range || fail flag_range "exit $rc: $(cat "$T/err")"
exit 0
