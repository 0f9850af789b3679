#!/bin/bash
# tools/bench-sign.sh BUILD_DIR [REPORT.md] — issuance (issue 5 benchmarks 1-4), on ONE throwaway
# SoftHSM token under bench/work/sign (gitignored) with an RSA-2048 and a P-256 issuing CA:
#   1. ceiling: bench/p11ceiling, raw C_SignInit + C_Sign on the CA key (1 session on 1 core,
#      and 2 sessions on 2 threads), the exact mechanism offca uses (CKM_RSA_PKCS over a SHA-256
#      DigestInfo, CKM_ECDSA over a SHA-256 hash);
#   2. `offca sign --batch` rate for 1,000 and 10,000 CSRs (intune-device template, SIDs from an
#      imported AD directory, RSA-2048 subscriber keys, every CSR signed on its own): one worker
#      pinned to one core (taskset -c 0) vs the 1-session ceiling on that core, and --workers 2
#      on both cores vs the 2-session ceiling; interleaved with the ceiling runs;
#   3. one `offca sign` process vs `openssl ca -batch` with the pkcs11 engine, same token key,
#      same CSR (vpn-server: CN + dNSName), interleaved, median ms and ratio;
#   4. the same latency with 0, 100,000 and 1,000,000 certificates in the store (bench/bulkload
#      certs: the records and audit records issuance writes) and the same number of lines in
#      openssl's index.txt;
#   5. the lint before sign per certificate (bench/lintcost on the vpn-server leaf with its CA),
#      against the time one certificate takes in the 1-worker batch of 2;
#   6. the batch before and after issue 10's gates in the same run (tools/bench-sign-base.sh):
#      the commit before them built beside this build, same CSRs, instructions per certificate
#      (callgrind) and interleaved rates.
# Every output is checked: each batch issues N (exit 0, N files), samples verify with openssl;
# each single certificate verifies. Not a pass/fail test: no timed assertions.
#
# Environment: BENCH_RUNS (3: runs per batch measurement), BENCH_SIGN_LAT_RUNS (9: latency runs
#   per tool and point), BENCH_SIGN_BATCH ("1000 10000"), BENCH_SIGN_ALGS ("rsa2048 p256"),
#   BENCH_SIGN_STORE ("0 100000 1000000": store sizes for 4), BENCH_SIGN_STORE_ALGS ("rsa2048 p256"),
#   BENCH_SIGN_BASE, BENCH_SIGN_BASE_RUNS, BENCH_SIGN_BASE_N (6: see tools/bench-sign-base.sh).
set -euo pipefail
. "$(dirname "$0")/bench-lib.sh"
B=$(realpath "${1:-build}")
REPO=$(cd "$(dirname "$0")/.." && pwd)
REPORT=${2:-$REPO/bench/work/sign.md}
RUNS=${BENCH_RUNS:-3}
LRUNS=${BENCH_SIGN_LAT_RUNS:-9}
BATCH=${BENCH_SIGN_BATCH:-1000 10000}
ALGS=${BENCH_SIGN_ALGS:-rsa2048 p256}
SIZES=${BENCH_SIGN_STORE:-0 100000 1000000}
SALGS=${BENCH_SIGN_STORE_ALGS:-rsa2048 p256}
W=$REPO/bench/work/sign
OFFCA=$B/offca
MODULE=/usr/lib/softhsm/libsofthsm2.so
ENGINE=/usr/lib/x86_64-linux-gnu/engines-3/pkcs11.so
PIN=24681357
say() { printf '%s\n' "$*" >&2; }
die() { say "bench-sign: $*"; exit 1; }

[ -x "$OFFCA" ] || die "$OFFCA missing: run make first"
[ -f "$MODULE" ] || die "SoftHSM2 missing ($MODULE): run make deps"
[ -f "$ENGINE" ] || die "pkcs11 engine missing ($ENGINE): run make deps (libengine-pkcs11-openssl)"
command -v taskset >/dev/null || die "taskset (util-linux) missing"
rm -rf "$W"; mkdir -p "$W/tokens" "$W/pub" "$W/bin" "$W/lat"; chmod 700 "$W"

# ---- bench helpers ------------------------------------------------------------------------------
CFL="-std=c11 -O2 -g -Wall -Wextra -Werror -D_GNU_SOURCE -DOPENSSL_API_COMPAT=30000 -DOPENSSL_NO_DEPRECATED"
CFL="$CFL -I$REPO $(pkg-config --cflags libcrypto lmdb p11-kit-1 jansson)"
LIBS="$(pkg-config --libs libcrypto lmdb jansson) -ldl -lpthread"
BUILD_BULK="cc $CFL -o $W/bin/bulkload $REPO/bench/bulkload.c $B/libca.a $B/libtemplates.a $B/libcrl.a $B/libhsm.a $(ls $B/libbase.a 2>/dev/null) $LIBS"
BUILD_CEIL="cc $CFL -o $W/bin/p11ceiling $REPO/bench/p11ceiling.c -ldl -lpthread"
$BUILD_BULK
$BUILD_CEIL
# shellcheck disable=SC2086
cc $CFL -o "$W/bin/mkcsrs" "$REPO/bench/mkcsrs.c" $LIBS
cc $CFL -o "$W/bin/rusage" "$REPO/bench/rusage.c"
# shellcheck disable=SC2086
cc $CFL -o "$W/bin/lintcost" "$REPO/bench/lintcost.c" "$B/libtemplates.a" "$B/libbase.a" $LIBS

# ---- token, store, CAs, directory ----------------------------------------------------------------
bench_token_setup      # token, ca.toml, oc(), store and root CA in $W
oc ca export root -o "$W/root.pem"
openssl req -new -newkey rsa:2048 -nodes -keyout "$W/leaf.key" -subj /CN=vpn.bench.test \
    -out "$W/leaf.csr" 2>/dev/null
MAXN=0; for n in $BATCH; do [ "$n" -gt "$MAXN" ] && MAXN=$n; done
say "bench-sign: making $MAXN CSRs"
"$W/bin/mkcsrs" "$W/csrs" "$MAXN" 16
oc directory import "$W/csrs/ad.csv" >/dev/null
for alg in $ALGS; do
    ca=iss-$alg
    oc ca create-issuing "$ca" --parent root --key "$(oc key generate --label "$ca" --alg "$alg")" \
        --subject "CN=Bench Issuing CA $alg,O=offca bench" --path-len 0 >/dev/null
    oc ca export "$ca" -o "$W/$ca.pem"
    cat "$W/$ca.pem" "$W/root.pem" >"$W/$ca-chain.pem"
    oc sign --ca "$ca" --template vpn-server --csr "$W/leaf.csr" --san dns:vpn.bench.test \
        --der -o "$W/$ca-leaf.der" >/dev/null
    d=$W/ossl-$alg; mkdir -p "$d/new"
    : >"$d/index.txt"; echo 'unique_subject = no' >"$d/index.txt.attr"; echo 1000 >"$d/serial"
    # engine from OPENSSL_CONF at start-up (see tools/bench-crl.sh for why not in openssl.cnf)
    engine_cnf "$d/engine.cnf"
    # what offca's vpn-server certificate carries: KU, EKU serverAuth, SAN, SKID, AKID, CDP, AIA
    cat >"$d/openssl.cnf" <<CNF
[ca]
default_ca = bench
[bench]
dir = $d
database = \$dir/index.txt
new_certs_dir = \$dir/new
serial = \$dir/serial
certificate = $W/$ca.pem
unique_subject = no
default_md = sha256
default_days = 365
policy = policy_any
x509_extensions = leaf
copy_extensions = none
[policy_any]
commonName = supplied
[leaf]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:vpn.bench.test
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
crlDistributionPoints = URI:http://127.0.0.1:18299/pki/$ca.crl
authorityInfoAccess = caIssuers;URI:http://127.0.0.1:18299/pki/$ca.crt
CNF
done

# ---- measurement helpers -------------------------------------------------------------------------
timed() { # timed OUTFILE CMD...: append "<s> <KiB>" of CMD to OUTFILE
    local out=$1; shift
    "$W/bin/rusage" "$W/t.tmp" "$@" >"$W/t.out" 2>"$W/t.err" </dev/null ||
        { cat "$W/t.err" >&2; die "failed: $*"; }
    tail -n1 "$W/t.tmp" >>"$out"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.2fx", a / b; else print "-"}'; }
ms() { awk -v s="$1" 'BEGIN {printf "%.1f", s * 1000}'; }
ceiling() { # ceiling ALG THREADS SIGS: "<sigs/s>"
    local pin=""; [ "$2" -eq 1 ] && pin="taskset -c 0"
    $pin "$W/bin/p11ceiling" "$MODULE" offca-bench "$W/pin" "iss-$1" "$3" "$2" | cut -d' ' -f1
}
seq_run=0
batch_run() { # batch_run ALG N WORKERS [CORES]: "<certs/s>", after checking every output
    local alg=$1 n=$2 wk=$3 cores=${4:-2} d m pin=""
    seq_run=$((seq_run + 1)); d=$W/out/$seq_run; m=$W/m-$seq_run.jsonl; mkdir -p "$d"
    head -n "$n" "$W/csrs/m.jsonl" | sed "s|$W/csrs/out/|$d/|" >"$m"
    [ "$cores" -eq 1 ] && pin="taskset -c 0"
    rm -f "$W/b.tmp"
    timed "$W/b.tmp" $pin "$OFFCA" -c "$W/ca.toml" sign --ca "iss-$alg" --template intune-device \
        --batch "$m" --workers "$wk"
    grep -q "batch $m: $n issued, 0 skipped (output exists), 0 failed" "$W/t.out" ||
        die "batch $alg N=$n workers=$wk: $(cat "$W/t.out" "$W/t.err" | tail -3)"
    [ "$(find "$d" -name '*.pem' | wc -l)" -eq "$n" ] || die "batch $alg N=$n: not $n files"
    openssl verify -x509_strict -CAfile "$W/root.pem" -untrusted "$W/iss-$alg.pem" \
        "$d/00001.pem" "$d/$(printf %05d "$n").pem" >/dev/null || die "batch $alg: outputs do not verify"
    rm -f "$m"     # outputs stay until the end: deleting 10,000 files slows the next run's creates
    awk -v n="$n" -v s="$(cut -d' ' -f1 "$W/b.tmp")" 'BEGIN {printf "%.1f", n / s}'
}

{
    echo "### Issuance (issue 5 items 1-4)"
    echo
    echo "Timer: bench/rusage (fork+exec, wall ms). Medians of $RUNS interleaved runs (ceiling, batch,"
    echo "ceiling, batch, ...) for 1-2, of $LRUNS interleaved runs (offca, openssl, offca, ...) for 3-4."
    echo "Ceiling = bench/p11ceiling: raw C_SignInit + C_Sign on the CA key, the mechanism offca uses;"
    echo "'1 core' = one session, pinned with taskset -c 0 like the one-worker batch; '2 cores' = two"
    echo "threads with a session each. Batch = \`offca sign --batch\` (intune-device, SID from the"
    echo "imported directory, RSA-2048 CSRs each verified), whole process (start, login, 64-certificate"
    echo "group commits, files flushed after each commit); rate = N / wall time; ratio = batch rate /"
    echo "ceiling rate on the same cores."
    echo
    echo "#### 1-2. Ceiling and batch rate"
    echo
    echo "'--workers 1, 1 core' runs the whole process pinned to core 0 (signing thread + writer thread"
    echo "share it); '--workers 1, 2 cores' lets the writer (commit, file flush) run beside the signer."
    echo
    echo "| key | N | ceiling 1 session, 1 core | --workers 1, 1 core | ratio | --workers 1, 2 cores | ratio | ceiling 2 sessions, 2 cores | --workers 2 | ratio | 2 workers / 1 worker (2 cores) |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
} >"$REPORT"

for alg in $ALGS; do
    for n in $BATCH; do
        rm -f "$W"/c1.txt "$W"/c2.txt "$W"/b1.txt "$W"/b1w.txt "$W"/b2.txt
        [ "$alg" = rsa2048 ] && sigs=2000 || sigs=20000
        for r in $(seq "$RUNS"); do
            ceiling "$alg" 1 "$sigs" >>"$W/c1.txt"
            { batch_run "$alg" "$n" 1 1; echo; } >>"$W/b1.txt"
            { batch_run "$alg" "$n" 1 2; echo; } >>"$W/b1w.txt"
            ceiling "$alg" 2 "$sigs" >>"$W/c2.txt"
            { batch_run "$alg" "$n" 2 2; echo; } >>"$W/b2.txt"
            say "bench-sign: $alg N=$n run $r: ceiling $(tail -n1 "$W/c1.txt")/s, 1 worker $(tail -n1 "$W/b1.txt")/s (1 core) $(tail -n1 "$W/b1w.txt")/s (2 cores); ceiling 2 sessions $(tail -n1 "$W/c2.txt")/s, 2 workers $(tail -n1 "$W/b2.txt")/s"
        done
        c1=$(median <"$W/c1.txt"); c2=$(median <"$W/c2.txt")
        b1=$(grep . "$W/b1.txt" | median); b1w=$(grep . "$W/b1w.txt" | median)
        b2=$(grep . "$W/b2.txt" | median)
        printf '| %s | %s | %s/s | %s/s | %s | %s/s | %s | %s/s | %s/s | %s | %s |\n' "$alg" "$n" \
            "$c1" "$b1" "$(ratio "$b1" "$c1")" "$b1w" "$(ratio "$b1w" "$c1")" "$c2" "$b2" \
            "$(ratio "$b2" "$c2")" "$(ratio "$b2" "$b1w")" >>"$REPORT"
        echo "$b1w" >"$W/rate-$alg.txt"
    done
done

# ---- 5: the lint before sign, per certificate -----------------------------------------------
{
    echo
    echo "#### 5. Lint before sign, per certificate"
    echo
    echo "bench/lintcost: lint_cert on the vpn-server leaf with its CA as issuer (all rules), median"
    echo "of 3 runs of 2,000; for scale, the one TBS encoding every signature needs anyway (cert_build"
    echo "encodes it once, lints, and has the token sign those bytes). share = lint x the 1-worker"
    echo "batch rate (2 cores) of 1-2: the part of a batch certificate's time the lint adds."
    echo
    echo "| key | lint | TBS encoding (not added) | share of a batch certificate |"
    echo "|---|---:|---:|---:|"
    for alg in $ALGS; do
        rm -f "$W/lc.txt"
        for r in 1 2 3; do
            "$W/bin/lintcost" "$W/iss-$alg-leaf.der" "$W/iss-$alg.pem" 2000 >>"$W/lc.txt" ||
                die "lintcost $alg: the leaf does not lint clean"
        done
        l=$(cut -d' ' -f1 "$W/lc.txt" | median); e=$(cut -d' ' -f2 "$W/lc.txt" | median)
        printf '| %s | %s us | %s us | %s |\n' "$alg" "$l" "$e" "$(awk -v l="$l" -v e="$e" \
            -v r="$(cat "$W/rate-$alg.txt" 2>/dev/null || echo 0)" \
            'BEGIN {if (r > 0) printf "%.1f%%", l * r / 1e4; else print "-"}')"
    done
} >>"$REPORT"

# ---- 6: the batch before and after issue 10's gates --------------------------------------------
# shellcheck source=tools/bench-sign-base.sh
. "$REPO/tools/bench-sign-base.sh"

# ---- 3 and 4: one certificate per process, offca vs openssl ca, against store size -----------
lat_point() { # lat_point ALG SIZE: one table row
    local alg=$1 size=$2 d=$W/ossl-$1 i
    rm -f "$W/lo.txt" "$W/ls.txt"
    for r in $(seq "$LRUNS"); do
        i=$alg-$size-$r
        timed "$W/lo.txt" "$OFFCA" -c "$W/ca.toml" sign --ca "iss-$alg" --template vpn-server \
            --csr "$W/leaf.csr" --san dns:vpn.bench.test -o "$W/lat/o-$i.pem"
        timed "$W/ls.txt" env OPENSSL_CONF="$d/engine.cnf" openssl ca -batch -config "$d/openssl.cnf" \
            -engine pkcs11 -keyform engine -notext \
            -keyfile "pkcs11:token=offca-bench;object=iss-$alg;type=private;pin-value=$PIN" \
            -in "$W/leaf.csr" -out "$W/lat/s-$i.pem"
        for t in o s; do
            openssl verify -x509_strict -CAfile "$W/root.pem" -untrusted "$W/iss-$alg.pem" \
                "$W/lat/$t-$i.pem" >/dev/null || die "$W/lat/$t-$i.pem does not verify"
        done
    done
    lo=$(cut -d' ' -f1 "$W/lo.txt" | median); ls=$(cut -d' ' -f1 "$W/ls.txt" | median)
    printf '| %s | %s | %s ms | %s ms | %s |\n' "$alg" "$size" "$(ms "$lo")" "$(ms "$ls")" \
        "$(ratio "$ls" "$lo")" >>"$W/lat.md"
    echo "$lo" >"$W/lat-$alg-$size"
}
: >"$W/lat.md"
for alg in $ALGS; do lat_point "$alg" 0; done
declare -A LOADED
for alg in $SALGS; do LOADED[$alg]=0; done
for size in $SIZES; do
    [ "$size" -eq 0 ] && continue
    for alg in $SALGS; do
        add=$((size - LOADED[$alg]))
        say "bench-sign: iss-$alg: loading $add more certificates (total $size)"
        [ "$alg" = rsa2048 ] && seed=17 || seed=29   # distinct serials per CA
        "$W/bin/bulkload" certs "$W/store" "iss-$alg" "$W/iss-$alg-leaf.der" "$seed" "${LOADED[$alg]}" \
            "$add" "$W/ossl-$alg/index.txt"
        LOADED[$alg]=$size
        lat_point "$alg" "$size"
    done
done
{
    echo
    echo "#### 3-4. One certificate per process: offca sign vs openssl ca -batch, against store size"
    echo
    echo "Same token key, same CSR (RSA-2048, CN + dNSName), same extensions (KU, EKU serverAuth,"
    echo "SAN, SKID, AKID, CDP, AIA; offca: vpn-server template). 'store' = certificates bulk-loaded"
    echo "into offca's store (bench/bulkload certs: record + audit record each) and the same number of"
    echo "V lines in openssl's index.txt (plus the few dozen issued by the runs before). Ratio ="
    echo "openssl ca time / offca time (higher is better for offca); both outputs verified."
    echo
    echo "| key | store | offca sign | openssl ca -batch (pkcs11 engine) | ratio |"
    echo "|---|---:|---:|---:|---:|"
    cat "$W/lat.md"
    echo
    for alg in $SALGS; do
        base=$(cat "$W/lat-$alg-0"); line="Flatness ($alg, offca latency / empty store):"
        for size in $SIZES; do
            [ "$size" -eq 0 ] && continue
            line="$line $size: $(ratio "$(cat "$W/lat-$alg-$size")" "$base")"
        done
        echo "$line."
    done
    echo
    echo "Commands (paths under bench/work/sign):"
    echo
    echo '```'
    echo "$BUILD_CEIL" | sed "s|$REPO/||g"
    echo "$BUILD_BULK" | sed "s|$REPO/||g"
    echo "bench/mkcsrs DIR $MAXN 16     # CSRs, manifest, AD CSV; offca directory import DIR/ad.csv"
    echo "taskset -c 0 bench/p11ceiling $MODULE offca-bench PINFILE iss-ALG SIGS 1"
    echo "bench/p11ceiling $MODULE offca-bench PINFILE iss-ALG SIGS 2"
    echo "taskset -c 0 offca -c ca.toml sign --ca iss-ALG --template intune-device --batch M.jsonl --workers 1"
    echo "offca -c ca.toml sign --ca iss-ALG --template intune-device --batch M.jsonl --workers 1"
    echo "offca -c ca.toml sign --ca iss-ALG --template intune-device --batch M.jsonl --workers 2"
    echo "offca -c ca.toml sign --ca iss-ALG --template vpn-server --csr leaf.csr --san dns:vpn.bench.test -o OUT.pem"
    echo "OPENSSL_CONF=ossl-ALG/engine.cnf openssl ca -batch -config ossl-ALG/openssl.cnf -engine pkcs11 -keyform engine -notext -keyfile 'pkcs11:token=offca-bench;object=iss-ALG;type=private;pin-value=...' -in leaf.csr -out OUT.pem"
    echo "bench/bulkload certs store iss-ALG leaf.der SEED START COUNT ossl-ALG/index.txt"
    echo "bench/lintcost iss-ALG-leaf.der iss-ALG.pem 2000"
    echo '```'
} >>"$REPORT"
cat "$REPORT"
