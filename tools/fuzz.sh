#!/bin/bash
# fuzz.sh SECONDS — build every libFuzzer target in tests/fuzz/ with clang (ASan+UBSan) and run
# each for SECONDS, two at a time. Seeds: tests/fuzz/seeds/<target>/ (committed, read only).
# Working corpora, logs and objects: build/fuzz/ (not committed). A crashing input is copied to
# tests/fuzz/pending/<target>/: triage it, fix the bug, then `git mv` it to tests/fuzz/regress/
# <target>/, which `make test` replays (tests/unit/ca/test_fuzz_replay.c). Prints one summary line
# per target and exits 1 when any target found something (or failed to build/run).
#   FUZZ_TARGETS="dn sid" restricts the run; FUZZ_JOBS (default 2) runs that many at once.
#   FUZZ_KEEP_GOING=1 runs libFuzzer in fork mode with -ignore_crashes=1: a known open finding does
#   not end the run early (every crashing input still lands in tests/fuzz/pending/).
set -euo pipefail
SECONDS_PER=${1:-60}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
OUT=build/fuzz
CC=${FUZZ_CC:-clang}
JOBS=${FUZZ_JOBS:-2}
TARGETS=${FUZZ_TARGETS:-csr config template dn sid manifest csv lint}
declare -A MAXLEN=([csr]=8192 [config]=4096 [template]=4096 [dn]=2048 [sid]=512 [manifest]=2048
                   [csv]=8192 [lint]=16384)

command -v "$CC" >/dev/null || { echo "fuzz: $CC not found; run 'make deps' (package clang)" >&2; exit 2; }
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
CFLAGS="-std=c11 -O1 -g -fno-omit-frame-pointer -D_GNU_SOURCE -DOPENSSL_API_COMPAT=30000 \
 -DOPENSSL_NO_DEPRECATED -I. $(pkg-config --cflags libcrypto lmdb p11-kit-1 jansson) -Wall -Wextra \
 -Wno-unused-parameter -Wno-missing-field-initializers"
LIBS="$(pkg-config --libs libcrypto lmdb jansson) -ldl -lpthread"

# ---- build: the project's sources with clang (not the gcc objects in build/), one archive --------
mkdir -p "$OUT/obj" "$OUT/bin" "$OUT/log"
SRCS=$(ls base/*.c hsm/*.c templates/*.c crl/*.c ca/*.c | grep -v '^ca/main\.c$' | grep -v '^base/faultpoint\.c$')
objs=()
for src in $SRCS tests/fuzz/targets.c; do
    obj="$OUT/obj/${src%.c}.o"
    objs+=("$obj")
    if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ] || [ -n "$(find hsm templates crl ca tests/fuzz -name '*.h' -newer "$obj" 2>/dev/null | head -n 1)" ]; then
        mkdir -p "$(dirname "$obj")"
        # shellcheck disable=SC2086
        $CC $CFLAGS $SAN -fsanitize=fuzzer-no-link -c "$src" -o "$obj" || { echo "fuzz: build failed: $src" >&2; exit 2; }
    fi
done
rm -f "$OUT/libfuzzoffca.a"
ar rcs "$OUT/libfuzzoffca.a" "${objs[@]}"
for t in $TARGETS; do
    [ -n "${MAXLEN[$t]:-}" ] || { echo "fuzz: unknown target '$t'" >&2; exit 2; }
    # shellcheck disable=SC2086
    $CC $CFLAGS $SAN -fsanitize=fuzzer -o "$OUT/bin/fuzz_$t" "tests/fuzz/fuzz_$t.c" \
        "$OUT/libfuzzoffca.a" $LIBS || { echo "fuzz: link failed: $t" >&2; exit 2; }
done

# ---- run ----------------------------------------------------------------------------------------
run_one() {
    local t=$1 corpus=$OUT/corpus/$1 art=$OUT/artifacts/$1/ log=$OUT/log/$1.log
    mkdir -p "$corpus" "$art" "tests/fuzz/seeds/$t"
    rm -f "$art"/*
    local seeds=("tests/fuzz/seeds/$t") mode=()
    [ "${FUZZ_KEEP_GOING:-0}" = 1 ] && mode=(-fork=1 -ignore_crashes=1)
    [ -d "tests/fuzz/regress/$t" ] && seeds+=("tests/fuzz/regress/$t")
    ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$OUT/bin/fuzz_$t" "${mode[@]}" -max_total_time="$SECONDS_PER" -max_len="${MAXLEN[$t]}" -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 -close_fd_mask=2 -artifact_prefix="$art" \
        "$corpus" "${seeds[@]}" >"$log" 2>&1 || true
}
export -f run_one
export OUT SECONDS_PER
export MAXLEN_DEF="$(declare -p MAXLEN)"
start=$(date +%s)
printf '%s\n' $TARGETS | xargs -P "$JOBS" -I{} bash -c 'eval "$MAXLEN_DEF"; run_one "$1"' _ {}

# ---- summary ------------------------------------------------------------------------------------
set +e +o pipefail
found=0
printf '%-9s %7s %12s %9s %6s %6s %8s  %s\n' target seconds execs exec/s cov ft corpus finding
for t in $TARGETS; do
    log=$OUT/log/$t.log
    last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    if [ -z "$execs" ]; then      # fork mode: "#N: cov: C ft: F corp: K exec/s R ... time: Ts"
        execs=$(echo "$last" | sed -n 's/^#\([0-9]*\).*/\1/p')
        secs=$(echo "$last" | sed -n 's/.* time: \([0-9]*\)s.*/\1/p')
        [ -n "$execs" ] && [ -n "$secs" ] && [ "$secs" -gt 0 ] && rate=$((execs / secs))
    fi
    cov=$(echo "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
    ft=$(echo "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
    secs=$SECONDS_PER             # what actually ran: a crash ends a non-fork run early
    [ -n "$execs" ] && [ -n "$rate" ] && [ "$rate" -gt 0 ] && secs=$((execs / rate))
    corp=$(ls "$OUT/corpus/$t" | wc -l)
    finding=none
    shopt -s nullglob
    arts=("$OUT/artifacts/$t"/*)
    shopt -u nullglob
    if [ ${#arts[@]} -gt 0 ] || ! grep -qE 'Done [0-9]* runs|^INFO: fuzzed for' "$log"; then
        found=1
        kind=$(grep -m1 -oE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer|UndefinedBehaviorSanitizer)[^ ]*( [a-z-]+)?|runtime error: .*|fuzz finding: .*' "$log" | head -n 1)
        finding="${kind:-see $log}"
        mkdir -p "tests/fuzz/pending/$t"
        for a in "${arts[@]}"; do cp "$a" "tests/fuzz/pending/$t/"; finding="$finding -> tests/fuzz/pending/$t/$(basename "$a")"; done
    fi
    printf '%-9s %7s %12s %9s %6s %6s %8s  %s\n' "$t" "$secs" "${execs:-?}" "${rate:-?}" \
        "${cov:-?}" "${ft:-?}" "$corp" "$finding"
done
echo "fuzz: wall $(( $(date +%s) - start )) s for $(echo $TARGETS | wc -w) targets, $JOBS at a time; logs in $OUT/log/"
exit $found
