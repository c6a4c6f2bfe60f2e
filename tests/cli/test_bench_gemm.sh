#!/usr/bin/env bash
# duo-train bench gemm: the square product and a model's projection shapes (q, k/v, o, gate/up, down,
# lm_head at each --tokens row count) from a named shape and from a checkpoint's config.json, every row
# checked exact against the double dot product; GFLOP/s = 2 M N K / time; one row per thread count;
# usage errors.  The "medium" named shape: its numbers in `bench step --plan`.
bin=${DUO_BIN:-build/duo-train}
model=tests/fixtures/retrieval-model
pass() { echo "PASS: cli/bench_gemm_$1"; }
fail() { echo "FAIL: cli/bench_gemm_$1 ($2)"; }
T=$TMPDIR/bench_gemm
mkdir -p "$T"

# rows "shape M N K threads" of an output, sorted, against the expected ones
rows() { awk '$NF == "exact" { print $1, $2, $3, $4, $5 }' "$1" | sort; }

# ---- small: H 256, heads 8/4 of 32, inter 768, vocab 1000 ----
"$bin" bench gemm --backend cpu --size 256 --random-shape small --tokens 8,1 --threads 1 --repeats 2 >"$T/small" 2>"$T/err"; rc=$?
want=$(for M in 8 1; do printf '%s\n' "q_proj $M 256 256 1" "k_proj/v_proj $M 128 256 1" "o_proj $M 256 256 1" \
    "gate/up_proj $M 768 256 1" "down_proj $M 256 768 1" "lm_head $M 1000 256 1"; done; echo "square 256 256 256 1")
if [ $rc -eq 0 ] && [ "$(rows "$T/small")" = "$(sort <<<"$want")" ] && [ "$(grep -c ' exact$' "$T/small")" -eq 13 ]; then
    pass small_shapes
else fail small_shapes "rc $rc: $(cat "$T/small" "$T/err")"; fi

# GFLOP/s of the square row is 2 N^3 / best time (to the 4 printed decimals of ms), above zero
if awk '$1 == "square" { ms = $6; g = $7; want = 2 * $2 * $3 * $4 / (ms / 1000) / 1e9;
        ok = ms > 0 && g > 0 && (g - want) / want < 0.002 && (want - g) / want < 0.002 } END { exit !ok }' "$T/small"; then
    pass gflops_arithmetic
else fail gflops_arithmetic "$(grep square "$T/small")"; fi

# ---- a checkpoint's config.json: hidden 256, heads 8/4 of 32, inter 512, vocab 2048 ----
"$bin" bench gemm --backend cpu --size 0 --model "$model" --tokens 4 --threads 1 --repeats 1 >"$T/ckpt" 2>"$T/err"; rc=$?
want=$(printf '%s\n' "q_proj 4 256 256 1" "k_proj/v_proj 4 128 256 1" "o_proj 4 256 256 1" "gate/up_proj 4 512 256 1" \
    "down_proj 4 256 512 1" "lm_head 4 2048 256 1" | sort)
if [ $rc -eq 0 ] && [ "$(rows "$T/ckpt")" = "$want" ]; then pass checkpoint_shapes
else fail checkpoint_shapes "rc $rc: $(cat "$T/ckpt" "$T/err")"; fi

# ---- one row per thread count ----
"$bin" bench gemm --backend cpu --size 64 --threads 1,2 --repeats 1 >"$T/thr" 2>"$T/err"; rc=$?
if [ $rc -eq 0 ] && [ "$(rows "$T/thr" | tr '\n' ';')" = "square 64 64 64 1;square 64 64 64 2;" ]; then pass threads
else fail threads "rc $rc: $(cat "$T/thr" "$T/err")"; fi

# ---- medium: hidden 1024, 8 layers, 16/8 heads of 64, inter 2816, vocab 32000 ----
"$bin" bench step --plan --backend cpu --random-shape medium --ctx 1024 >"$T/plan" 2>"$T/err"; rc=$?
if [ $rc -eq 0 ] && grep -q '^plan: medium (layers 8, hidden 1024, heads 16/8, head_dim 64, inter 2816)' "$T/plan"; then
    pass medium_shape
else fail medium_shape "rc $rc: $(head -2 "$T/plan") $(cat "$T/err")"; fi
"$bin" bench gemm --backend cpu --size 0 --random-shape medium --tokens 1 --threads 1 --repeats 1 >"$T/medium" 2>"$T/err"; rc=$?
if [ $rc -eq 0 ] && [ "$(rows "$T/medium" | grep -E '^(lm_head|k_proj)')" = "$(printf 'k_proj/v_proj 1 512 1024 1\nlm_head 1 32000 1024 1')" ]; then
    pass medium_vocab
else fail medium_vocab "rc $rc: $(cat "$T/medium" "$T/err")"; fi

# ---- usage errors: exit 2 with a message naming the option ----
usage() {  # name, expected text, args...
    local name=$1 text=$2
    shift 2
    "$bin" bench gemm --backend cpu "$@" >/dev/null 2>"$T/err"; local rc=$?
    if [ $rc -eq 2 ] && grep -q -- "$text" "$T/err"; then pass "usage_$name"; else fail "usage_$name" "rc $rc: $(cat "$T/err")"; fi
}
usage tokens0 "--tokens" --random-shape small --tokens 0
usage threads0 "--threads" --threads 0
usage both "at most one of" --model "$model" --random-shape small
usage nothing "nothing to run" --size 0
usage shape "unknown --random-shape 'tiny'" --random-shape tiny
usage extra "unexpected argument" stray
# the float64 debugging backend has no bf16; the CPU's bf16 stores the operand bf16 (widened exactly)
"$bin" bench gemm --backend cpu-composite-f64 --dtype bf16 --size 64 >/dev/null 2>"$T/err"; rc=$?
if [ $rc -eq 2 ] && grep -q "bf16" "$T/err"; then pass usage_bf16_f64; else fail usage_bf16_f64 "rc $rc: $(cat "$T/err")"; fi
"$bin" bench gemm --backend cpu --dtype bf16 --size 128 --threads 1 --repeats 1 >"$T/bf16" 2>"$T/err"; rc=$?
if [ $rc -eq 0 ] && grep -q "weights bf16" "$T/bf16" && grep -q "^square  *128  *128  *128  *1 .* exact$" "$T/bf16"; then
    pass cpu_bf16
else
    fail cpu_bf16 "rc $rc: $(cat "$T/bf16" "$T/err")"
fi
