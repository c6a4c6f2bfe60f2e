#!/usr/bin/env bash
# The CLI's usage contract: --help for every command exits 0, bad usage exits 2 with one message.
bin=${DUO_BIN:-build/duo-train}
check() {  # name, expected status, command...
    local name=$1 want=$2; shift 2
    "$@" >/dev/null 2>"$TMPDIR/err"; local rc=$?
    if [ "$rc" -eq "$want" ]; then echo "PASS: cli/$name"; else echo "FAIL: cli/$name (exit $rc, expected $want: $(head -c 300 "$TMPDIR/err"))"; fi
}
check help 0 "$bin" --help
check no_command 2 "$bin"
check unknown_command 2 "$bin" frobnicate
for c in train synth export sweep bench inspect; do check "${c}_help" 0 "$bin" "$c" --help; done
check bench_unknown 2 "$bin" bench nothing
