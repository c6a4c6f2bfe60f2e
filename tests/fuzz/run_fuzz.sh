#!/usr/bin/env bash
# `make fuzz`: short, bounded libFuzzer sessions over the file parsers.
#
#   tests/fuzz/run_fuzz.sh [SECONDS] [TARGET...]      (default 20 s per target, every target)
#
# TARGET is a name (fuzz_corpus) or a path to a target source.
#
# The library sources are compiled by clang with -fsanitize=fuzzer-no-link,address,undefined into
# build-fuzz/ (through the Makefile's own rules, so the file list and flags stay in one place); each
# tests/fuzz/fuzz_<name>.c is linked with -fsanitize=fuzzer,address,undefined and run for SECONDS from
# a scratch copy of its seeds tests/fuzz/corpus/fuzz_<name>/ (new inputs never land in the repository).
# A crash, sanitizer report, leak, hang (-timeout) or memory blow-up (-rss_limit_mb) fails the target;
# its reproducer is kept under build-fuzz/artifacts/ and its log under build-fuzz/logs/.
# Prints PASS:/FAIL: lines and exits nonzero if any target failed.
set -u
seconds=${1:-20}
shift || true
cd "$(dirname "$0")/../.." || exit 2
case $seconds in '' | *[!0-9]*) echo "run_fuzz: SECONDS must be a whole number, got '$seconds'" >&2; exit 2 ;; esac

CLANG=${CLANG:-clang}
OUT=${FUZZ_BUILD:-build-fuzz}
if ! command -v "$CLANG" >/dev/null 2>&1; then
    echo "run_fuzz: $CLANG not found (libFuzzer needs clang)" >&2
    exit 2
fi

if [ $# -gt 0 ]; then
    targets=()
    for name in "$@"; do
        case $name in */*) targets+=("$name") ;; *) targets+=("tests/fuzz/${name%.c}.c") ;; esac
    done
else
    targets=(tests/fuzz/fuzz_*.c)
fi
if [ $# -eq 0 ] && [ ! -e "${targets[0]}" ]; then
    echo "run_fuzz: no fuzz targets (tests/fuzz/fuzz_*.c)"
    exit 0
fi

LIB_SAN="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
EXE_SAN="-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
# Clang warns about things GCC does not; warnings must not stop fuzzing, so no -Werror here.
FUZZ_WARN="-Wall -Wextra -Wno-unused-parameter"
make_vars=(BUILD="$OUT" CC="$CLANG" OPT="-O1 -g" SANFLAGS="$LIB_SAN" WARN="$FUZZ_WARN" HAVE_NVCC=)

mkdir -p "$OUT"
echo "run_fuzz: building the library with $CLANG into $OUT/"
if ! make --no-print-directory -j2 "${make_vars[@]}" "$OUT/libduo.a" >"$OUT/build.log" 2>&1; then
    tail -n 30 "$OUT/build.log" >&2
    echo "FAIL: fuzz/build (the library does not compile with $CLANG; see $OUT/build.log)"
    exit 1
fi

# The compile and link flags, read from the Makefile so they cannot drift from it.
make_var() {
    make --no-print-directory -s -f Makefile -f - "${make_vars[@]}" "print-$1" <<'EOF'
print-%:
	@echo '$($*)'
EOF
}
CFLAGS=$(make_var CFLAGS) || exit 1
LDLIBS=$(make_var LDLIBS) || exit 1

mkdir -p "$OUT/fuzz" "$OUT/logs" "$OUT/artifacts"
scratch=$(mktemp -d "${TMPDIR:-/tmp}/duo-fuzz.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

pass=0 fail=0
for src in "${targets[@]}"; do
    name=$(basename "$src" .c)
    bin="$OUT/fuzz/$name"
    log="$OUT/logs/$name.log"
    if [ ! -f "$src" ]; then
        echo "FAIL: fuzz/$name (no such target: $src)"
        fail=$((fail + 1))
        continue
    fi
    # shellcheck disable=SC2086  # the flag strings are word lists
    if ! "$CLANG" $CFLAGS $EXE_SAN "$src" "$OUT/libduo.a" -o "$bin" $LDLIBS >"$log" 2>&1; then
        echo "FAIL: fuzz/$name (does not build; see $log)"
        tail -n 15 "$log" | sed 's/^/    /'
        fail=$((fail + 1))
        continue
    fi
    work="$scratch/$name"
    mkdir -p "$work"
    [ -d "tests/fuzz/corpus/$name" ] && cp -R "tests/fuzz/corpus/$name/." "$work/"
    nseeds=$(find "$work" -type f | wc -l)
    art="$OUT/artifacts/$name-"
    touch "$scratch/$name.start"  # artifacts newer than this are this run's
    # -timeout: one input taking more than 10 s is a hang.  The outer timeout only guards the runner.
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:allocator_may_return_null=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        timeout $((seconds + 120)) "$bin" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
        -artifact_prefix="$art" -print_final_stats=1 "$work" >>"$log" 2>&1
    rc=$?
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -n 1)
    if [ "$rc" -eq 0 ]; then
        echo "PASS: fuzz/$name (${runs:-?} runs in ${seconds}s from $nseeds seeds)"
        pass=$((pass + 1))
    else
        found=$(find "$OUT/artifacts" -name "$name-*" -newer "$scratch/$name.start" 2>/dev/null | head -n 1)
        echo "FAIL: fuzz/$name (exit $rc${found:+; reproduce with $bin $found}; log $log)"
        grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error)' "$log" | head -n 5 | sed 's/^/    /'
        fail=$((fail + 1))
    fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
