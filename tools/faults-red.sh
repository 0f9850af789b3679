#!/bin/bash
# tools/faults-red.sh [REV]: replay every fault test of this tree (tests/integration/t_faults_*.sh:
# wrong PIN, token gone, file modes, hostile publish dir, validity, clock, damaged store, outputs
# after the commit, exact audit) together against the offca built from REV (default HEAD).
# Against a commit from before the fixes (e.g. 43e2214) they fail: the red half of red/green;
# against HEAD they pass. The build of REV lives in a temporary worktree, removed at the end.
# Exit 0 when every check passed.
set -uo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
REV=$(git -C "$REPO" rev-parse --verify "${1:-HEAD}^{commit}") || { echo "faults-red: no such commit: ${1:-HEAD}" >&2; exit 2; }
W=$(mktemp -d /tmp/offca-red.XXXXXX)
trap 'git -C "$REPO" worktree remove --force "$W/src" >/dev/null 2>&1; rm -rf "$W"' EXIT
git -C "$REPO" worktree add -q --detach "$W/src" "$REV" || exit 2
make -C "$W/src" -j2 build/offca >"$W/build.log" 2>&1 || { echo "faults-red: building $REV failed (see below)" >&2; tail -5 "$W/build.log" >&2; exit 2; }
make -C "$W/src" -j2 build/offca-test >/dev/null 2>&1 || true     # older commits have no test build
BIN=$W/src/build
TBIN=$BIN/offca-test; [ -x "$TBIN" ] || TBIN=$BIN/offca
echo "faults-red: the fault tests of $(git -C "$REPO" rev-parse --short HEAD) against offca ${REV:0:12}"
passed=0; failed=0
for t in "$REPO"/tests/integration/t_faults_*.sh; do
    out=$(cd "$REPO" && OFFCA="$BIN/offca" OFFCA_TEST_BIN="$TBIN" bash "$t" 2>&1)
    line=$(grep -E '^# [0-9]+ passed, [0-9]+ failed' <<<"$out" | tail -n 1)
    p=$(sed -n 's/^# \([0-9]*\) passed.*/\1/p' <<<"$line"); f=$(sed -n 's/.* \([0-9]*\) failed.*/\1/p' <<<"$line")
    [ -n "$line" ] || { p=0; f=1; }
    printf '%-28s %4s passed, %4s failed\n' "$(basename "$t")" "$p" "$f"
    passed=$((passed + p)); failed=$((failed + f))
done
echo "faults-red: $passed passed, $failed failed against ${REV:0:12}"
[ "$failed" -eq 0 ]
