#!/bin/sh
# Run every unit-test binary given and every tests/integration/t_*.sh, sum what they report, and
# end with exactly one line "N passed, N failed". Exit 1 when anything failed.
#   cmocka binaries report "[  PASSED  ] N test(s)." and "[  FAILED  ] N test(s)...";
#   integration scripts (tests/integration/lib.sh) report "# N passed, N failed".
# A binary or script that dies without reporting counts as one failure.
# OFFCA_SKIP_INTEGRATION=1 runs unit tests only; OFFCA_TEST_FILTER=REGEX selects integration scripts.
# Scripts get OFFCA (BUILD_DIR/offca, the production binary) and OFFCA_TEST_BIN (BUILD_DIR/offca-test,
# the test build with the clock override and the fault points).
B=${1:-build}; shift
passed=0; failed=0
log=$(mktemp); trap 'rm -f "$log"' EXIT
count() { # $1 = pattern prefix, file $log
    sed -n "s/^$1 *\([0-9][0-9]*\).*/\1/p" "$log" | tail -n 1
}
for bin in "$@"; do
    "$bin" >"$log" 2>&1; rc=$?
    p=$(count '\[  PASSED  \]'); f=$(count '\[  FAILED  \]')
    p=${p:-0}; f=${f:-0}
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    [ "$p" -eq 0 ] && [ "$f" -eq 0 ] && f=1
    if [ "$f" -ne 0 ]; then echo "FAIL $bin"; grep -E '^\[  (FAILED|  ERROR)|FAIL|rror' "$log" | head -20; else echo "ok   $bin ($p)"; fi
    passed=$((passed + p)); failed=$((failed + f))
done
if [ "${OFFCA_SKIP_INTEGRATION:-0}" != 1 ]; then
    for t in tests/integration/t_*.sh; do
        [ -f "$t" ] || continue
        if [ -n "${OFFCA_TEST_FILTER:-}" ] && ! echo "$t" | grep -Eq "$OFFCA_TEST_FILTER"; then continue; fi
        OFFCA="$PWD/$B/offca" OFFCA_TEST_BIN="$PWD/$B/offca-test" bash "$t" >"$log" 2>&1; rc=$?
        line=$(grep -E '^# [0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
        p=$(echo "$line" | sed -n 's/^# \([0-9]*\) passed.*/\1/p'); p=${p:-0}
        f=$(echo "$line" | sed -n 's/.* \([0-9]*\) failed.*/\1/p'); f=${f:-0}
        if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
        if [ "$f" -ne 0 ]; then echo "FAIL $t"; grep -E '^(not ok|#)' "$log" | head -30; tail -n 15 "$log"; else echo "ok   $t ($p)"; fi
        grep -E '^# skip' "$log" | head -3
        passed=$((passed + p)); failed=$((failed + f))
    done
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
