#!/bin/bash
# tools/bench-keygate.sh BUILD_DIR FRAGMENT.md — the key gate's CPU cost per key (bench/keygate.c
# linked against BUILD_DIR/libtemplates.a and libbase.a): keygate_check on the SubjectPublicKeyInfo of fresh
# RSA-2048/3072/4096, P-256 and P-384 keys, KEYGATE_ITERS checks each (default 5000), the median
# of BENCH_RUNS runs (default 3). The program exits non-zero if the gate refuses a good key.
set -euo pipefail
B=$(realpath "$1")
OUT=$2
REPO=$(cd "$(dirname "$0")/.." && pwd)
W=$REPO/bench/work/keygate
ITERS=${KEYGATE_ITERS:-5000}
RUNS=${BENCH_RUNS:-3}
. "$REPO/tools/bench-lib.sh"
mkdir -p "$W"
CFL="-std=c11 -O2 -D_GNU_SOURCE -DOPENSSL_API_COMPAT=30000 -DOPENSSL_NO_DEPRECATED -I$REPO"
cc $CFL -o "$W/keygate" "$REPO/bench/keygate.c" "$B/libtemplates.a" "$B/libbase.a" $(pkg-config --libs libcrypto) -lpthread
for r in $(seq "$RUNS"); do "$W/keygate" "$ITERS" >"$W/run$r.txt"; done
{
    echo "## Key gate: cost per key"
    echo
    echo "CPU time of one keygate_check (templates/keygate.c: strict SPKI parse, exponent, small"
    echo "factors up to 751, ROCA fingerprint, $(awk '/^#define KEYGATE_FERMAT_ROUNDS/ {print $3}' "$REPO/templates/template.h") Fermat rounds, EC point decode and on-curve"
    echo "check, canonical re-encoding and its SHA-256), median of $RUNS runs of $ITERS checks. The"
    echo "budget is 50 µs per RSA-2048 key."
    echo
    echo "| key | µs per check |"
    echo "|---|---:|"
    for k in rsa2048 rsa3072 rsa4096 p256 p384; do
        echo "| $k | $(cat "$W"/run*.txt | awk -v k=$k '$1 == k {print $2}' | median) |"
    done
    echo
    echo "Command: \`bash tools/bench-keygate.sh build FRAGMENT.md\` (KEYGATE_ITERS, BENCH_RUNS)."
} >"$OUT"
