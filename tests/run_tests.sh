#!/usr/bin/env bash
# Runs every test of one build: C test binaries (BUILD/tests/test_*), Python tests (tests/py/test_*.py)
# and CLI tests (tests/cli/test_*.sh).  Each prints PASS:/FAIL:/SKIP: lines; a program that exits
# nonzero without printing FAIL counts as one failure (a crash, a sanitizer report, a timeout).
# Usage: tests/run_tests.sh BUILD_DIR [gpu]
set -u
build=${1:-build}
mode=${2:-cpu}
cd "$(dirname "$0")/.." || exit 2
export DUO_BUILD="$build" DUO_BIN="$build/duo-train" PYTHON="${PYTHON:-python3}"
export TMPDIR=$(mktemp -d "${TMPDIR:-/tmp}/duo-tests.XXXXXX")
trap 'rm -rf "$TMPDIR"' EXIT
timeout_s=${DUO_TEST_TIMEOUT:-900}
pass=0 fail=0 skip=0
log="$build/test.log"
: > "$log"

run_one() {  # name, command...
    local name=$1; shift
    local out rc
    out=$(timeout "$timeout_s" "$@" 2>"$TMPDIR/stderr"); rc=$?
    printf '%s\n' "$out" >> "$log"
    cat "$TMPDIR/stderr" >> "$log"
    local p f s
    p=$(grep -c '^PASS: ' <<<"$out"); f=$(grep -c '^FAIL: ' <<<"$out"); s=$(grep -c '^SKIP: ' <<<"$out")
    grep -E '^(FAIL|SKIP): ' <<<"$out"
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "FAIL: $name (exit status $rc$( [ "$rc" -eq 124 ] && echo ", timed out after ${timeout_s}s"))"
        tail -n 20 "$TMPDIR/stderr" | sed 's/^/    /'
        f=1
    elif [ "$f" -gt 0 ]; then
        tail -n 20 "$TMPDIR/stderr" | sed 's/^/    /'
    fi
    pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
}

if [ "$mode" = gpu ]; then
    for t in "$build"/tests/gpu_*; do [ -x "$t" ] && run_one "$(basename "$t")" "$t"; done
else
    for t in "$build"/tests/test_*; do [ -x "$t" ] && run_one "$(basename "$t")" "$t"; done
    for t in tests/py/test_*.py; do [ -f "$t" ] && run_one "$(basename "$t")" "$PYTHON" "$t"; done
    for t in tests/cli/test_*.sh; do [ -f "$t" ] && run_one "$(basename "$t")" bash "$t"; done
fi

echo "($build: full output in $log)"
[ -n "${SUMMARY_FILE:-}" ] && echo "$pass $fail $skip" > "$SUMMARY_FILE"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
