#!/usr/bin/env bash
# --backend on train and bench step: cpu runs; cuda in a build without CUDA is a usage error (exit 2,
# saying so); cuda in a CUDA build on a machine where no GPU answers fails with the driver's reason
# (exit 1); anything else is a usage error.  Which build this is comes from `duo-train --help`.
bin=${DUO_BIN:-build/duo-train}
model=tests/fixtures/retrieval-model
corpus=tests/fixtures/retrieval-corpus/corpus.jsonl.zst
pass() { echo "PASS: cli/backend_$1"; }
fail() { echo "FAIL: cli/backend_$1 ($2)"; }

backends=$("$bin" --help | sed -n 's/^Backends in this build: \(.*\)\.$/\1/p')
[ -n "$backends" ] && pass listed_in_help || fail listed_in_help "no 'Backends in this build' line in --help"

gpu=0
command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1 && gpu=1

train() {  # backend, output dir
    DUO_PROGRESS=0 "$bin" train --model "$model" --dataset "$corpus" --output_dir "$2" --num_steps 5 --save_steps 5 \
        --reg_weight 1.0 --sink_size 16 --recent_size 64 --context_length_min 300 --context_length_max 400 \
        --context_lengths_num_intervals 2 --num_passkeys 1 --passkey_length 2 --backend "$1"
}

train cpu "$TMPDIR/bk_cpu" >"$TMPDIR/out" 2>"$TMPDIR/err"; rc=$?
if [ $rc -eq 0 ] && [ -f "$TMPDIR/bk_cpu/full_attention_heads.tsv" ]; then pass train_cpu
else fail train_cpu "exit $rc: $(head -c 300 "$TMPDIR/err")"; fi

train tpu "$TMPDIR/bk_bad" >/dev/null 2>"$TMPDIR/err"; rc=$?
[ $rc -eq 2 ] && grep -q "cpu or cuda" "$TMPDIR/err" && pass unknown_is_usage_error || fail unknown_is_usage_error "exit $rc: $(head -c 300 "$TMPDIR/err")"

for cmd in train bench; do
    if [ $cmd = train ]; then train cuda "$TMPDIR/bk_cuda" >/dev/null 2>"$TMPDIR/err"; rc=$?
    else "$bin" bench step --backend cuda --random-shape small --ctx 64 --labels 8 --sgemm-size 0 >/dev/null 2>"$TMPDIR/err"; rc=$?; fi
    case "$backends" in
    *cuda*)
        if [ $gpu -eq 1 ]; then echo "SKIP: cli/backend_cuda_without_gpu_$cmd (a GPU answers here)"
        elif [ $rc -eq 1 ] && grep -qi "cuda" "$TMPDIR/err"; then pass "cuda_without_gpu_$cmd"
        else fail "cuda_without_gpu_$cmd" "exit $rc (want 1 and the driver's reason): $(head -c 300 "$TMPDIR/err")"; fi ;;
    *)
        if [ $rc -eq 2 ] && grep -q "built without CUDA" "$TMPDIR/err"; then pass "cuda_not_built_$cmd"
        else fail "cuda_not_built_$cmd" "exit $rc (want 2, 'built without CUDA'): $(head -c 300 "$TMPDIR/err")"; fi ;;
    esac
done

# bench step on the CPU names the backend it ran on
"$bin" bench step --backend cpu --random-shape small --ctx 64 --labels 8 --sgemm-size 0 >"$TMPDIR/out" 2>"$TMPDIR/err"; rc=$?
[ $rc -eq 0 ] && grep -q "^backend: cpu" "$TMPDIR/out" && pass bench_cpu || fail bench_cpu "exit $rc: $(head -c 300 "$TMPDIR/err")"
exit 0
