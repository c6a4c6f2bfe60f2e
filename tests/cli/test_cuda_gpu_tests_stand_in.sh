#!/usr/bin/env bash
# The GPU op test (tests/gpu/gpu_ops.c) run without a GPU on its stand-in, the CPU composite backends
# (DUO_GPU_TESTS_ON=cpu-composite): the same case table, comparisons and tolerances it applies to CUDA,
# so the test itself stays right between GPU runs.  (gpu_step's whole-path checks take minutes on two
# cores: `DUO_GPU_TESTS_ON=cpu-composite build/tests/gpu_step` runs them by hand.)  Builds without the
# GPU tests (no CUDA: the ASan build) skip.
build=${DUO_BUILD:-build}
t=$build/tests/gpu_ops
if [ ! -x "$t" ]; then
    echo "SKIP: cli/gpu_tests_stand_in ($t is not built: a build without CUDA)"
    exit 0
fi
out=$(DUO_GPU_TESTS_ON=cpu-composite "$t" 2>"${TMPDIR:-/tmp}/stand_in.err"); rc=$?
n=$(grep -c '^PASS: ' <<<"$out")
if [ $rc -eq 0 ] && [ "$n" -eq 2 ] && ! grep -q '^\(FAIL\|SKIP\): ' <<<"$out"; then
    echo "PASS: cli/gpu_tests_stand_in_ops"
else
    echo "FAIL: cli/gpu_tests_stand_in_ops (exit $rc: $(grep -E '^(FAIL|SKIP): ' <<<"$out" | head -2 | tr '\n' ' '))"
fi
exit 0
