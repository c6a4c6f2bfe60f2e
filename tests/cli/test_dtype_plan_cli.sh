#!/usr/bin/env bash
# --dtype on train, bench step, bench infer and sweep (a bad value, and bf16 with the float64 debugging
# backend, are usage errors naming both; bf16 on the CPU is bf16 weight storage); the precision in train's config.json; `bench step --plan` without a device and
# without weights (any --backend, also in a build without CUDA); train's check of the step's memory plan
# against the device's free memory, with the figure injected by DUO_FAKE_DEVICE_FREE_BYTES.
bin=${DUO_BIN:-build/duo-train}
model=tests/fixtures/retrieval-model
corpus=tests/fixtures/retrieval-corpus/corpus.jsonl.zst
pass() { echo "PASS: cli/dtype_plan_$1"; }
fail() { echo "FAIL: cli/dtype_plan_$1 ($2)"; }
T=$TMPDIR/dtype_plan
mkdir -p "$T"

train() {  # output dir, extra args...
    local out=$1
    shift
    DUO_PROGRESS=0 "$bin" train --model "$model" --dataset "$corpus" --output_dir "$out" --num_steps 5 --save_steps 5 \
        --reg_weight 1.0 --sink_size 16 --recent_size 64 --context_length_min 300 --context_length_max 400 \
        --context_lengths_num_intervals 2 --num_passkeys 1 --passkey_length 2 "$@"
}

# ---- --dtype parsing, on every command that has it ----
for cmd in train bench_step bench_infer sweep; do
    case $cmd in
    train) run() { train "$T/never" "$@"; } ;;
    bench_step) run() { "$bin" bench step --random-shape small --ctx 64 --labels 8 --sgemm-size 0 "$@"; } ;;
    bench_infer) run() { "$bin" bench infer --random-shape small --ctx 64 --new-tokens 2 "$@"; } ;;
    sweep) run() { "$bin" sweep --model "$model" --pattern "$T/none" --dataset "$corpus" "$@"; } ;;
    esac
    run --dtype fp16 >/dev/null 2>"$T/err"; rc=$?
    [ $rc -eq 2 ] && grep -q -- "--dtype must be fp32 or bf16, got 'fp16'" "$T/err" && pass "${cmd}_bad_value" ||
        fail "${cmd}_bad_value" "exit $rc: $(head -c 300 "$T/err")"
    run --dtype bf16 --backend cpu-composite-f64 >/dev/null 2>"$T/err"; rc=$?  # float64 throughout: no bf16
    [ $rc -eq 2 ] && grep -q -- "--dtype bf16" "$T/err" && grep -q -- "--backend cpu-composite-f64" "$T/err" &&
        pass "${cmd}_bf16_on_f64" || fail "${cmd}_bf16_on_f64" "exit $rc: $(head -c 300 "$T/err")"
    run --backend cpu-composite-f64 --dtype bf16 >/dev/null 2>"$T/err"; rc=$?  # the order does not matter
    [ $rc -eq 2 ] && grep -q -- "--backend cpu-composite-f64" "$T/err" && pass "${cmd}_bf16_on_f64_any_order" ||
        fail "${cmd}_bf16_on_f64_any_order" "exit $rc: $(head -c 300 "$T/err")"
done
[ ! -e "$T/never" ] && pass nothing_written_on_usage_errors || fail nothing_written_on_usage_errors "$T/never exists"

"$bin" bench step --backend cpu --dtype fp32 --random-shape small --ctx 64 --labels 8 --sgemm-size 0 >"$T/out" 2>"$T/err"; rc=$?
[ $rc -eq 0 ] && grep -q "^backend: cpu (fp32)" "$T/out" && pass bench_step_fp32_cpu || fail bench_step_fp32_cpu "exit $rc: $(head -c 300 "$T/err")"
"$bin" bench infer --backend cpu --dtype fp32 --random-shape small --ctx 64 --new-tokens 2 --sparsities 0 >"$T/out" 2>"$T/err"; rc=$?
[ $rc -eq 0 ] && grep -q "backend cpu (fp32)" "$T/out" && pass bench_infer_fp32_cpu || fail bench_infer_fp32_cpu "exit $rc: $(head -c 300 "$T/err")"
"$bin" bench step --backend cpu --dtype bf16 --random-shape small --ctx 64 --labels 8 --sgemm-size 0 >"$T/out" 2>"$T/err"; rc=$?
[ $rc -eq 0 ] && grep -q "^backend: cpu (bf16)" "$T/out" && pass bench_step_bf16_cpu || fail bench_step_bf16_cpu "exit $rc: $(head -c 300 "$T/err")"
"$bin" bench infer --backend cpu --dtype bf16 --random-shape small --ctx 64 --new-tokens 2 --sparsities 0 >"$T/out" 2>"$T/err"; rc=$?
[ $rc -eq 0 ] && grep -q "backend cpu (bf16)" "$T/out" && pass bench_infer_bf16_cpu || fail bench_infer_bf16_cpu "exit $rc: $(head -c 300 "$T/err")"

# ---- train records the precision it ran at ----
train "$T/fp32" --backend cpu --dtype fp32 >/dev/null 2>"$T/err"; rc=$?
if [ $rc -eq 0 ] && grep -q '"dtype": "fp32"' "$T/fp32/config.json"; then pass train_config_dtype
else fail train_config_dtype "exit $rc: $(head -c 300 "$T/err")"; fi
train "$T/bf16" --backend cpu --dtype bf16 >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 0 ] && grep -q '"dtype": "bf16"' "$T/bf16/config.json" && [ -f "$T/bf16/full_attention_heads.tsv" ] &&
    pass train_config_dtype_bf16_cpu || fail train_config_dtype_bf16_cpu "exit $rc: $(head -c 300 "$T/err")"
train "$T/default" --backend cpu >/dev/null 2>"$T/err"; rc=$?  # the CPU's default is fp32
[ $rc -eq 0 ] && grep -q '"dtype": "fp32"' "$T/default/config.json" && pass train_default_dtype_cpu ||
    fail train_default_dtype_cpu "exit $rc: $(head -c 300 "$T/err")"
# a run started with --dtype fp32 resumes without it (the CPU's default is the same precision)
train "$T/resume" --backend cpu --dtype fp32 --num_steps 6 --stop_after 3 >/dev/null 2>"$T/err" &&
    train "$T/resume" --backend cpu --num_steps 6 --resume >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 0 ] && [ -f "$T/resume/full_attention_heads.tsv" ] && pass train_resume_same_precision ||
    fail train_resume_same_precision "exit $rc: $(head -c 300 "$T/err")"

# ---- bench step --plan: no device, no weights, any backend ----
"$bin" bench step --plan --backend cuda --random-shape 8b --ctx 4096,32768,131072 --labels 900 >"$T/plan" 2>"$T/err"; rc=$?
if [ $rc -eq 0 ] && grep -q "backend cuda, dtype bf16" "$T/plan" && grep -q "989.4 TFLOP/s (H100/H200 SXM bf16 dense)" "$T/plan" &&
    grep -q "^memory, GiB:" "$T/plan"; then pass plan_8b_cuda
else fail plan_8b_cuda "exit $rc: $(head -c 300 "$T/err")"; fi
# the totals column: 32K within 80 GB, 128K within 141 GB (GiB in the table)
awk '/^memory/ {m = 1; next} /^work/ {m = 0} m && $1 == 32768 {a = $8} m && $1 == 131072 {b = $8}
     END {exit !(a > 0 && a * 1.073741824 <= 80 && b * 1.073741824 <= 141 && b > a)}' "$T/plan" &&
    pass plan_8b_targets || fail plan_8b_targets "$(cat "$T/plan")"
# the time columns follow from the FLOPs and the stated peak: FLOP s = TFLOP / 989.4
awk '/^work/ {w = 1; next} w && $1 == 4096 {ok = ($2 / 989.4 - $5) ^ 2 < 1e-5} END {exit !ok}' "$T/plan" &&
    pass plan_time_at_peak || fail plan_time_at_peak "$(cat "$T/plan")"
"$bin" bench step --plan --backend cuda --dtype fp32 --random-shape 8b --ctx 4096 --peak-tflops 100 --peak-gbps 1000 >"$T/plan32" 2>"$T/err"; rc=$?
[ $rc -eq 0 ] && grep -q "dtype fp32: weights float32" "$T/plan32" && grep -q "^peak: 100.0 TFLOP/s, 1000 GB/s$" "$T/plan32" &&
    pass plan_fp32_peaks || fail plan_fp32_peaks "exit $rc: $(head -c 300 "$T/err") $(head -3 "$T/plan32")"
# fp32 weights are twice bf16's
w16=$(awk '/^memory/ {m = 1; next} m && $1 == 4096 {print $2; exit}' "$T/plan")
w32=$(awk '/^memory/ {m = 1; next} m && $1 == 4096 {print $2; exit}' "$T/plan32")
awk -v a="$w16" -v b="$w32" 'BEGIN {exit !(a > 0 && (b - 2 * a) ^ 2 < 1e-3)}' && pass plan_fp32_weights_double ||
    fail plan_fp32_weights_double "bf16 $w16, fp32 $w32"
"$bin" bench step --plan --backend cpu --model "$model" --ctx 512 --labels 32 >"$T/plancpu" 2>"$T/err"; rc=$?
[ $rc -eq 0 ] && grep -q "one layer held at a time" "$T/plancpu" && grep -q "^memory, MiB:" "$T/plancpu" &&
    pass plan_checkpoint_config_only || fail plan_checkpoint_config_only "exit $rc: $(head -c 300 "$T/err")"
# the CPU's plan with bf16 weights: half of its fp32 weights
"$bin" bench step --plan --backend cpu --dtype bf16 --random-shape 8b --ctx 4096 >"$T/plancpu16" 2>"$T/err"; rc=$?
"$bin" bench step --plan --backend cpu --dtype fp32 --random-shape 8b --ctx 4096 >"$T/plancpu32" 2>>"$T/err"; rc2=$?
c16=$(awk '/^memory/ {m = 1; next} m && $1 == 4096 {print $2; exit}' "$T/plancpu16")
c32=$(awk '/^memory/ {m = 1; next} m && $1 == 4096 {print $2; exit}' "$T/plancpu32")
[ $rc -eq 0 ] && [ $rc2 -eq 0 ] && awk -v a="$c16" -v b="$c32" 'BEGIN {exit !(a > 0 && (b - 2 * a) ^ 2 < 1e-3 * b)}' &&
    pass plan_bf16_on_cpu_half_weights || fail plan_bf16_on_cpu_half_weights "exit $rc/$rc2: bf16 $c16, fp32 $c32 $(head -c 300 "$T/err")"
"$bin" bench step --plan --random-shape 8b --peak-tflops -1 >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 2 ] && grep -q "peak-tflops" "$T/err" && pass plan_bad_peak || fail plan_bad_peak "exit $rc: $(head -c 300 "$T/err")"
"$bin" bench step --plan --random-shape 9b >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 2 ] && grep -q "8b" "$T/err" && pass plan_unknown_shape || fail plan_unknown_shape "exit $rc: $(head -c 300 "$T/err")"

# ---- the memory check, with the device's free memory injected ----
DUO_FAKE_DEVICE_FREE_BYTES=1000 train "$T/small_dev" --backend cpu >/dev/null 2>"$T/err"; rc=$?
if [ $rc -eq 1 ] && grep -q "(1000 bytes) free" "$T/err" && grep -Eq "needs [0-9.]+ MiB \([0-9]+ bytes\) of device memory" "$T/err" &&
    [ ! -e "$T/small_dev" ]; then pass memory_check_refuses_with_both_figures
else fail memory_check_refuses_with_both_figures "exit $rc: $(head -c 400 "$T/err")"; fi
DUO_FAKE_DEVICE_FREE_BYTES=100000000000 train "$T/big_dev" --backend cpu >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 0 ] && [ -f "$T/big_dev/full_attention_heads.tsv" ] && pass memory_check_passes_when_it_fits ||
    fail memory_check_passes_when_it_fits "exit $rc: $(head -c 300 "$T/err")"
DUO_FAKE_DEVICE_FREE_BYTES=lots train "$T/bad_fake" --backend cpu >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "DUO_FAKE_DEVICE_FREE_BYTES=lots is not a number" "$T/err" && pass memory_check_bad_figure ||
    fail memory_check_bad_figure "exit $rc: $(head -c 300 "$T/err")"
# a dataset file: the plan is made for its longest sample
"$bin" synth --model "$model" --dataset "$corpus" --out "$T/s.h5" --num_samples 4 --context_length_min 100 \
    --context_length_max 800 --context_lengths_num_intervals 4 --num_passkeys 2 --passkey_length 3 >/dev/null 2>&1
longest=0
for i in 0 1 2 3; do
    n=$("$bin" synth --show "$T/s.h5" --index $i 2>/dev/null | sed -n 's/^sample [0-9]* (index [0-9]*): \([0-9]*\) tokens.*/\1/p')
    [ -n "$n" ] && [ "$n" -gt "$longest" ] && longest=$n
done
DUO_PROGRESS=0 DUO_FAKE_DEVICE_FREE_BYTES=1000 "$bin" train --model "$model" --dataset "$T/s.h5" --output_dir "$T/h5_dev" \
    --num_steps 5 --backend cpu >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && [ "$longest" -gt 0 ] && grep -q "for samples of $longest tokens" "$T/err" && pass memory_check_dataset_longest_sample ||
    fail memory_check_dataset_longest_sample "exit $rc, longest $longest: $(head -c 400 "$T/err")"
exit 0
