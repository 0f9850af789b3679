#!/bin/bash
# tools/bench-crl.sh BUILD_DIR [REPORT.md] — CRL publication: `offca crl publish --ca X --force`
# vs `openssl ca -gencrl` (pkcs11 engine) on the SAME revocation list and the SAME SoftHSM key.
#
# One throwaway SoftHSM token under bench/work/crl (gitignored): a root CA and one issuing CA per
# key algorithm. bench/bulkload fills the offca store with issued-and-revoked records (the records
# issuance and `offca revoke` write, audit included) and appends the same revocations to the
# issuing CA's OpenSSL index.txt. For each N (ascending; the store grows between sizes) both
# tools run interleaved BENCH_RUNS times: wall time and peak RSS of the whole process; medians.
# Both outputs are checked: each verifies with the CA key and both list exactly the same entries
# (serial, revocation date, reason, invalidity date) — bench/crlcheck. Not a pass/fail test.
#
# Environment: BENCH_CRL_SIZES (default "1000 100000 1000000"), BENCH_CRL_ALGS ("rsa2048 p256"),
#              BENCH_RUNS (3). Needs: softhsm2, libengine-pkcs11-openssl, openssl, cc, and
#              (bench/rusage replaces GNU time: no extra package).
set -euo pipefail
. "$(dirname "$0")/bench-lib.sh"
B=$(realpath "${1:-build}")
REPO=$(cd "$(dirname "$0")/.." && pwd)
REPORT=${2:-$REPO/bench/work/crl.md}
SIZES=${BENCH_CRL_SIZES:-1000 100000 1000000}
ALGS=${BENCH_CRL_ALGS:-rsa2048 p256}
RUNS=${BENCH_RUNS:-3}
W=$REPO/bench/work/crl
OFFCA=$B/offca
MODULE=/usr/lib/softhsm/libsofthsm2.so
ENGINE=/usr/lib/x86_64-linux-gnu/engines-3/pkcs11.so
PIN=24681357
say() { printf '%s\n' "$*" >&2; }
die() { say "bench-crl: $*"; exit 1; }

[ -x "$OFFCA" ] || die "$OFFCA missing: run make first"
[ -f "$MODULE" ] || die "SoftHSM2 missing ($MODULE): run make deps"
[ -f "$ENGINE" ] || die "pkcs11 engine missing ($ENGINE): run make deps (libengine-pkcs11-openssl)"
rm -rf "$W"; mkdir -p "$W/tokens" "$W/pub" "$W/bin"; chmod 700 "$W"

# ---- bench helpers: built against the same archives as offca (no Makefile involvement) ----------
CFL="-std=c11 -O2 -g -Wall -Wextra -Werror -D_GNU_SOURCE -DOPENSSL_API_COMPAT=30000 -DOPENSSL_NO_DEPRECATED"
CFL="$CFL -I$REPO $(pkg-config --cflags libcrypto lmdb p11-kit-1 jansson)"
BUILD_BULK="cc $CFL -o $W/bin/bulkload $REPO/bench/bulkload.c $B/libca.a $B/libtemplates.a $B/libcrl.a $B/libhsm.a $(ls $B/libbase.a 2>/dev/null) $(pkg-config --libs libcrypto lmdb jansson) -ldl -lpthread"
$BUILD_BULK
# shellcheck disable=SC2046  # pkg-config output is meant to split into words
cc $CFL -o "$W/bin/crlcheck" "$REPO/bench/crlcheck.c" $(pkg-config --libs libcrypto)
cc $CFL -o "$W/bin/rusage" "$REPO/bench/rusage.c"
# Timer: bench/rusage, "<wall s> <peak RSS KiB>" from wait4's ru_maxrss, the same source GNU time's
# %M uses, but with millisecond wall time (GNU time's %e has 10 ms steps, too coarse at N=1,000).
TIMER=("$W/bin/rusage"); TIMER_NAME="bench/rusage (fork+exec, wait4 ru_maxrss = GNU time's %M; wall ms)"

# ---- token, store, CAs ---------------------------------------------------------------------------
bench_token_setup      # token, ca.toml, oc(), store and root CA in $W
openssl req -new -newkey rsa:2048 -nodes -keyout "$W/leaf.key" -subj /CN=vpn.bench.test \
    -out "$W/leaf.csr" 2>/dev/null
declare -A URI
seed=1
for alg in $ALGS; do
    ca=iss-$alg
    URI[$alg]=$(oc key generate --label "$ca" --alg "$alg")
    oc ca create-issuing "$ca" --parent root --key "${URI[$alg]}" \
        --subject "CN=Bench Issuing CA $alg,O=offca bench" --path-len 0 >/dev/null
    oc ca export "$ca" -o "$W/$ca.pem"
    # one real certificate from this CA: its DER is reused for every bulk-loaded record
    oc sign --ca "$ca" --template vpn-server --csr "$W/leaf.csr" --san dns:vpn.bench.test \
        --der -o "$W/$ca-leaf.der" >/dev/null
    d=$W/ossl-$alg; mkdir -p "$d"
    : >"$d/index.txt"; echo 'unique_subject = no' >"$d/index.txt.attr"; echo 1000 >"$d/crlnumber"
    # the engine is loaded from OPENSSL_CONF at start-up (engine.cnf); loading it again from the
    # -config file after -engine fails ("dynamic_load:init failed"), so ca.cnf has no engine part
    engine_cnf "$d/engine.cnf"
    cat >"$d/openssl.cnf" <<CNF
[ca]
default_ca = bench
[bench]
dir = $d
database = \$dir/index.txt
crlnumber = \$dir/crlnumber
certificate = $W/$ca.pem
unique_subject = no
default_md = sha256
default_crl_days = 9
crl_extensions = crl_ext
[crl_ext]
authorityKeyIdentifier = keyid:always
CNF
    seed=$((seed + 1)); echo $seed >"$W/seed-$alg"
done

# ---- measurement ---------------------------------------------------------------------------------
timed() { # timed OUTFILE CMD...: append "<s> <KiB>" of CMD to OUTFILE
    local out=$1; shift
    "${TIMER[@]}" "$W/t.tmp" "$@" >/dev/null 2>"$W/t.err" </dev/null || { cat "$W/t.err" >&2; die "failed: $*"; }
    tail -n1 "$W/t.tmp" >>"$out"
}
rss_split() { # rss_split CMD...: run once more, sampling /proc/PID/status every 10 ms: "anonKiB fileKiB"
    "$@" >/dev/null 2>&1 </dev/null & local pid=$! a=0 f=0 x y
    while kill -0 "$pid" 2>/dev/null; do
        read -r x y < <(awk '/^RssAnon/ {a=$2} /^RssFile/ {f=$2} END {print a+0, f+0}' \
                        "/proc/$pid/status" 2>/dev/null || echo 0 0)
        [ "${x:-0}" -gt "$a" ] && a=$x; [ "${y:-0}" -gt "$f" ] && f=$y
        sleep 0.01
    done
    wait "$pid" || die "failed: $*"
    echo "$a $f"
}
offca_cmd() { echo "$OFFCA -c $W/ca.toml crl publish --ca iss-$1 --force"; }
ossl_cmd() {
    local d=$W/ossl-$1
    echo "openssl ca -config $d/openssl.cnf -gencrl -engine pkcs11 -keyform engine -keyfile pkcs11:token=offca-bench;object=iss-$1;type=private;pin-value=$PIN -out $d/crl.pem"
}
mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.1fx", a / b; else print "-"}'; }

{
    echo "### CRL publication (issue 4 Scale, issue 5 item 5)"
    echo
    echo "Timer: $TIMER_NAME; whole-process wall time and peak RSS; median of $RUNS interleaved runs"
    echo "(offca, openssl, offca, openssl, ...). Revoked entries: 20-byte serials (offca's shape),"
    echo "reasons mixed (1/4 none, 1/4 keyCompromise of which half with an invalidity date, the rest"
    echo "superseded / cessationOfOperation / affiliationChanged). Both CRLs are checked: each verifies"
    echo "with the CA key and both list exactly the same entries (serial, date, reason, invalidity)."
    echo "Speed ratio = openssl time / offca time; RSS ratio = openssl RSS / offca RSS (higher is better"
    echo "for offca). 'verify share' = bench/crlcheck on the offca CRL alone (d2i_X509_CRL +"
    echo "X509_CRL_verify: what the read-back check cost until crl/verify.c, which no longer decodes the"
    echo "entries; kept as a reference for that cost). 'RSS split' = one more"
    echo "offca run sampled every 10 ms from /proc/PID/status: peak RssAnon (heap) / peak RssFile (mostly"
    echo "the LMDB map pages the revoked-index walk touched; clean page cache, shared, reclaimable)."
    echo
    echo "| key | N | CRL size offca / openssl | offca time | offca peak RSS | openssl ca time | openssl peak RSS | speed ratio | RSS ratio | offca peak RSS split: anon / LMDB map | verify share: time / peak RSS |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
} >"$REPORT"
declare -A LOADED
for alg in $ALGS; do LOADED[$alg]=0; done
for n in $SIZES; do
    for alg in $ALGS; do
        ca=iss-$alg; d=$W/ossl-$alg
        add=$((n - LOADED[$alg]))
        say "bench-crl: $ca: loading $add more revoked records (total $n)"
        t0=$(date +%s.%N)
        "$W/bin/bulkload" "$W/store" "$ca" "$W/$ca-leaf.der" "$(cat "$W/seed-$alg")" \
            "${LOADED[$alg]}" "$add" "$d/index.txt"
        say "bench-crl: loaded in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}') s"
        LOADED[$alg]=$n
        rm -f "$W/o.txt" "$W/s.txt"
        for r in $(seq "$RUNS"); do
            timed "$W/o.txt" "$OFFCA" -c "$W/ca.toml" crl publish --ca "$ca" --force
            timed "$W/s.txt" env OPENSSL_CONF="$d/engine.cnf" openssl ca -config "$d/openssl.cnf" \
                -gencrl -engine pkcs11 -keyform engine \
                -keyfile "pkcs11:token=offca-bench;object=$ca;type=private;pin-value=$PIN" \
                -out "$d/crl.pem"
            say "bench-crl: $ca N=$n run $r: offca $(tail -n1 "$W/o.txt")  openssl $(tail -n1 "$W/s.txt")"
        done
        openssl crl -in "$d/crl.pem" -outform DER -out "$d/crl.der"   # ca -gencrl writes PEM only
        got=$("$W/bin/crlcheck" "$W/$ca.pem" "$W/pub/$ca.crl" "$d/crl.der") ||
            die "$ca N=$n: the two CRLs are not valid CRLs of the same list"
        [ "$got" = "entries $n" ] || die "$ca N=$n: crlcheck says '$got', expected 'entries $n'"
        openssl crl -inform DER -in "$W/pub/$ca.crl" -noout -CAfile "$W/$ca.pem" 2>&1 |
            grep -q 'verify OK' || die "$ca N=$n: openssl crl does not verify offca's CRL"
        rm -f "$W/v.txt"; timed "$W/v.txt" "$W/bin/crlcheck" "$W/$ca.pem" "$W/pub/$ca.crl"
        ot=$(cut -d' ' -f1 "$W/o.txt" | median); om=$(cut -d' ' -f2 "$W/o.txt" | median)
        st=$(cut -d' ' -f1 "$W/s.txt" | median); sm=$(cut -d' ' -f2 "$W/s.txt" | median)
        read -r vt vm <"$W/v.txt"
        read -r pa pf < <(rss_split "$OFFCA" -c "$W/ca.toml" crl publish --ca "$ca" --force)
        osz=$(stat -c %s "$W/pub/$ca.crl"); ssz=$(stat -c %s "$d/crl.der")
        printf '| %s | %s | %s / %s MB | %s s | %s MiB | %s s | %s MiB | %s | %s | %s / %s MiB | %s s / %s MiB |\n' \
            "$alg" "$n" "$(awk -v b="$osz" 'BEGIN {printf "%.2f", b / 1e6}')" \
            "$(awk -v b="$ssz" 'BEGIN {printf "%.2f", b / 1e6}')" "$ot" "$(mib "$om")" "$st" \
            "$(mib "$sm")" "$(ratio "$st" "$ot")" "$(ratio "$sm" "$om")" "$(mib "$pa")" "$(mib "$pf")" \
            "$vt" "$(mib "$vm")" >>"$REPORT"
    done
done
{
    echo
    echo "Commands (per run; paths under bench/work/crl):"
    echo
    echo '```'
    echo "$BUILD_BULK" | sed "s|$REPO/||g"
    for alg in $ALGS; do
        offca_cmd "$alg" | sed "s|$REPO/||g"
        echo "OPENSSL_CONF=$W/ossl-$alg/engine.cnf $(ossl_cmd "$alg")" | sed "s|$REPO/||g"
    done
    echo "bench/crlcheck CA.pem offca.crl openssl.crl   # validity + same entries"
    echo '```'
} >>"$REPORT"
cat "$REPORT"
