#!/usr/bin/env bash
# Adds up the summary files written by tests/run_tests.sh (SUMMARY_FILE) into one closing line.
# A suite that wrote no summary (it did not build) counts as one failure.
pass=0 fail=0 skip=0
for f in "$@"; do
    if [ -s "$f" ]; then read -r p x s < "$f"; pass=$((pass + p)); fail=$((fail + x)); skip=$((skip + s))
    else echo "FAIL: no test summary in $f (the suite did not build or run)"; fail=$((fail + 1)); fi
done
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
