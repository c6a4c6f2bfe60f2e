#!/usr/bin/env bash
# The prepared GPU check (issue 16), under 5 minutes on one H100/H200, on a bare machine too:
#   1. installs what the build needs (scripts/install.sh; skipped with a warning where it cannot reach a
#      package registry and the build may still work), finds the device's architecture
#      (nvidia-smi compute_cap) and builds for it alone (CUDA_ARCHS) into build-gpu-sm<arch>/;
#   2. runs tests/gpu (every primitive and op against the CPU, the step's gradient on real checkpoints,
#      20 training steps, greedy decoding) through tests/run_tests.sh;
#   3. compute-sanitizer memcheck on one training step (bundled model, fp32; the backend's self-test runs
#      under it too);
#   4. bench step --backend cuda --random-shape 8b --ctx 4096,32768 and bench infer --backend cuda;
#   5. prints one table (stage, result, seconds, detail) and exits non-zero if any stage failed.
# Full output of each stage: build-gpu-sm<arch>/gpu_check/<stage>.log.
# Environment: GPU_CHECK_SKIP_INSTALL=1 skips step 1's installs; GPU_CHECK_BENCH_SHAPE (default 8b).
set -u
cd "$(dirname "$0")/.." || exit 2
start_all=$(date +%s)
rows=()
failed=0
row() { # stage, result, seconds, detail
    rows+=("$(printf '%-34s %-5s %7s  %s' "$1" "$2" "$3" "$4")")
    [ "$2" = ok ] || failed=1
}
# run_stage NAME LOGFILE TIMEOUT CMD...: runs, records seconds and exit status in $stage_rc / $stage_s
run_stage() {
    local name=$1 log=$2 limit=$3; shift 3
    local t0=$(date +%s)
    echo "== $name: $*" >&2
    timeout "$limit" "$@" >"$log" 2>&1
    stage_rc=$?
    stage_s=$(( $(date +%s) - t0 ))
    [ $stage_rc -eq 124 ] && echo "(timed out after ${limit}s)" >>"$log"
    return $stage_rc
}

# ---- 1. install, architecture, build ---------------------------------------------------------------
if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L >/dev/null 2>&1; then
    echo "gpu_check: no GPU answers here (nvidia-smi -L failed): nothing to check" >&2
    exit 1
fi
cap=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d ' .')
gpu_name=$(nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null | head -1)
case "$cap" in ''|*[!0-9]*) cap=90 ;; esac
build=build-gpu-sm$cap
logs=$build/gpu_check
mkdir -p "$logs"
export PATH="$PATH:/usr/local/cuda/bin"

if [ "${GPU_CHECK_SKIP_INSTALL:-0}" != 1 ]; then
    if run_stage install "$logs/install.log" 300 bash scripts/install.sh; then
        row "install (scripts/install.sh)" ok "$stage_s" "packages present or installed"
    else
        # no registry on the machine: go on, the build says what is missing
        echo "gpu_check: scripts/install.sh failed (see $logs/install.log); building with what is here" >&2
        rows+=("$(printf '%-34s %-5s %7s  %s' "install (scripts/install.sh)" warn "$stage_s" "failed, built with what is here: $(tail -1 "$logs/install.log" | cut -c1-80)")")
    fi
fi

jobs=$(nproc 2>/dev/null || echo 4)
if run_stage build "$logs/build.log" 600 make -j"$jobs" BUILD="$build" CUDA_ARCHS="$cap" all; then
    row "build (CUDA_ARCHS=$cap)" ok "$stage_s" "$gpu_name"
else
    row "build (CUDA_ARCHS=$cap)" FAIL "$stage_s" "$(grep -m1 -E 'error|Error' "$logs/build.log" | cut -c1-100)"
fi
bin=$build/duo-train

if [ ! -x "$bin" ]; then
    printf '\n%-34s %-5s %7s  %s\n' stage result seconds detail
    printf '%s\n' "${rows[@]}"
    exit 1
fi

# --dtype exists once the precision plumbing is merged; without it the CUDA backend runs bf16
dtype_fp32=; dtype_bf16=
if "$bin" bench step --help 2>&1 | grep -q -- --dtype; then dtype_fp32="--dtype fp32"; dtype_bf16="--dtype bf16"; fi

# ---- 2. tests/gpu ----------------------------------------------------------------------------------
run_stage tests-gpu "$logs/tests_gpu.log" 420 tests/run_tests.sh "$build" gpu
summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$logs/tests_gpu.log" | tail -1)
if [ $stage_rc -eq 0 ] && [ -n "$summary" ] && ! grep -q '^SKIP: ' "$logs/tests_gpu.log"; then
    row "tests/gpu" ok "$stage_s" "$summary"
else
    first=$(grep -m1 -E '^(FAIL|SKIP): ' "$logs/tests_gpu.log" | cut -c1-160)
    row "tests/gpu" FAIL "$stage_s" "${summary:-no summary (exit $stage_rc)}; ${first}"
fi

# ---- 3. compute-sanitizer memcheck on one step -----------------------------------------------------
find_sanitizer() {
    command -v compute-sanitizer 2>/dev/null && return
    local c
    for c in "${CUDA_HOME:-/usr/local/cuda}"/bin/compute-sanitizer /usr/local/cuda*/bin/compute-sanitizer \
             build-tools/cuda-tools-venv/lib/python3*/site-packages/nvidia/cu*/compute-sanitizer/compute-sanitizer; do
        [ -x "$c" ] && { echo "$c"; return; }
    done
}
san=$(find_sanitizer)
if [ -z "$san" ] && [ -x build-tools/cuda-tools-venv/bin/pip ]; then
    major=$(nvcc --version 2>/dev/null | sed -n 's/.*release \([0-9]*\)\..*/\1/p')
    timeout 120 build-tools/cuda-tools-venv/bin/pip install -q "nvidia-cuda-sanitizer-api==${major:-13}.*" \
        >"$logs/sanitizer_install.log" 2>&1
    san=$(find_sanitizer)
fi
if [ -z "$san" ]; then
    row "memcheck (one step, fp32)" FAIL 0 "no compute-sanitizer (CUDA toolkit, or PyPI nvidia-cuda-sanitizer-api)"
else
    run_stage memcheck "$logs/memcheck.log" 300 "$san" --tool memcheck --error-exitcode 3 --leak-check full \
        "$bin" bench step --backend cuda $dtype_fp32 --model tests/fixtures/retrieval-model --ctx 300 --labels 8 \
        --steps 0 --sink-size 16 --recent-size 64 --sgemm-size 0
    errs=$(grep -m1 -E 'ERROR SUMMARY' "$logs/memcheck.log")
    if [ $stage_rc -eq 0 ]; then row "memcheck (one step, fp32)" ok "$stage_s" "${errs:-no errors}"
    else row "memcheck (one step, fp32)" FAIL "$stage_s" "exit $stage_rc: ${errs:-$(tail -1 "$logs/memcheck.log" | cut -c1-110)}"; fi
fi

# The reason a command gave: its last "duo-train: ..." line, else its last line.
reason() { { grep -E '^duo-train|[Ee]rror' "$1" || tail -1 "$1"; } | tail -1 | cut -c1-120; }

# ---- 4. benchmarks ---------------------------------------------------------------------------------
shape=${GPU_CHECK_BENCH_SHAPE:-8b}
bench_detail() { # file, column: "ctx: value" for each table row of a bench output
    awk -v col="$2" '/^ *[0-9]+ +[0-9.]+/ {printf "%s%s: %s", sep, $1, $col; sep="; "}' "$1"
}
if run_stage bench-step "$logs/bench_step.log" 300 "$bin" bench step --backend cuda $dtype_bf16 --random-shape "$shape" \
    --ctx 4096,32768 --sgemm-size 0; then
    row "bench step $shape 4K,32K (bf16)" ok "$stage_s" "s/step at ctx $(bench_detail "$logs/bench_step.log" 2)"
else
    row "bench step $shape 4K,32K (bf16)" FAIL "$stage_s" "exit $stage_rc: $(reason "$logs/bench_step.log")"
fi
if run_stage bench-infer "$logs/bench_infer.log" 240 "$bin" bench infer --backend cuda $dtype_bf16 --random-shape "$shape" \
    --ctx 4096 --new-tokens 32; then
    row "bench infer $shape 4K (bf16)" ok "$stage_s" "decode ms/token at ctx $(bench_detail "$logs/bench_infer.log" 6) (sparsity 0, 0.5)"
else
    row "bench infer $shape 4K (bf16)" FAIL "$stage_s" "exit $stage_rc: $(reason "$logs/bench_infer.log")"
fi

# ---- 5. the table ------------------------------------------------------------------------------------
echo
echo "gpu_check on $gpu_name (sm_$cap), $(( $(date +%s) - start_all )) s; logs in $logs/"
printf '%-34s %-5s %7s  %s\n' stage result seconds detail
printf '%s\n' "${rows[@]}"
[ $failed -eq 0 ] && echo "gpu_check: all stages passed" || echo "gpu_check: FAILED"
exit $failed
