#!/bin/bash
# make valgrind: integration scripts with the real offca under valgrind memcheck. A definite leak
# or a memory error makes offca exit 99, which the scripts' exit-code assertions then report.
# Usage: tools/valgrind.sh BUILD_DIR [SCRIPT...]   (default: hierarchy, issuance, CRL scripts)
set -u
B=${1:-build}; shift || true
scripts=("$@")
[ ${#scripts[@]} -gt 0 ] || scripts=(tests/integration/t_hierarchy.sh tests/integration/t_issue.sh tests/integration/t_crl_cron.sh)
# one wrapper per binary: the production build ($OFFCA) and the test build ($OFFCA_TEST_BIN)
wrap=$(mktemp /tmp/offca-vg.XXXXXX); twrap=$(mktemp /tmp/offca-vgt.XXXXXX); trap 'rm -f "$wrap" "$twrap"' EXIT
for w in "$wrap:offca" "$twrap:offca-test"; do
    cat >"${w%%:*}" <<W
#!/bin/sh
OFFCA_STORE_MAP_MB=${OFFCA_STORE_MAP_MB:-1024} exec valgrind -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 \\
    --suppressions=$PWD/tests/valgrind.supp --log-file=$PWD/$B/valgrind.%p.log \\
    $PWD/$B/${w#*:} "\$@"
W
    chmod +x "${w%%:*}"
done
rm -f "$B"/valgrind.*.log
fail=0
for s in "${scripts[@]}"; do
    OFFCA_SANITIZER=1 OFFCA="$wrap" OFFCA_TEST_BIN="$twrap" bash "$s" >"$B/valgrind-$(basename "$s").out" 2>&1 || fail=1
    tail -n 1 "$B/valgrind-$(basename "$s").out" | sed "s|^|$(basename "$s"): |"
done
# Any report valgrind wrote names the problem; an empty log is a clean run.
bad=$(find "$B" -name 'valgrind.*.log' -size +0 | head -20)
if [ -n "$bad" ]; then echo "valgrind reports:"; head -n 40 $bad; fail=1; fi
[ $fail -eq 0 ] && echo "valgrind: no memory errors, no definite leaks"
exit $fail
