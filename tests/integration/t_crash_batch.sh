#!/bin/bash
# Issue 5, crash consistency: `offca sign --batch` is SIGKILLed at a random moment, over and over
# (TRIALS trials, each a fresh output directory, one store for all). After every kill: the store
# opens, every certificate file on disk is in the store (serials compared), no serial appears
# twice, every record has its audit record, `offca audit verify` passes, no output file is torn;
# then the same batch run again completes (exit 0) and every output verifies with openssl.
# Delays are drawn from $RANDOM seeded with CRASH_SEED (printed), so a failing run can be replayed
# (the kill moment itself still depends on the machine's speed).
. "$(dirname "$0")/common.sh"
TRIALS=${CRASH_TRIALS:-32}
N=${CRASH_N:-300}                # entries per batch (a run takes ~0.3-1 s since group file flushes: the kill lands inside)
SEED=${CRASH_SEED:-$$}
RANDOM=$SEED
echo "# seed $SEED, $TRIALS trials of $N entries"
offca_setup offca-crash
oc init >/dev/null
oc key generate --label ca --alg p256 >/dev/null
oc ca create-root ca --key "pkcs11:token=offca-crash;object=ca;type=private" \
    --subject CN=Crash\ Test\ CA --days 3650 >/dev/null
oc ca export ca -o "$T/ca.pem"
mkdir -p "$T/csr"
for i in 1 2 3; do
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/k$i.key" 2>/dev/null
done
for i in $(seq 1 "$N"); do
    openssl req -new -key "$T/k$((i % 3 + 1)).key" -subj "/CN=host$i" -out "$T/csr/$i.csr" 2>/dev/null
done
manifest() { # manifest DIR: one entry per CSR, outputs in DIR
    for i in $(seq 1 "$N"); do
        printf '{"csr":"%s/csr/%d.csr","san":["dns:host%d.example.com"],"out":"%s/%d.pem"}\n' \
            "$T" "$i" "$i" "$1" "$i"
    done
}
batch() { "$OFFCA" -c "$T/ca.toml" sign --ca ca --template vpn-server --batch "$1"; }
# serials_in DIR: the serial of every *.pem in DIR, one openssl pass (lower-case hex, sorted);
# a torn or foreign file makes openssl fail, so the count is checked against the file count.
serials_in() {
    cat "$1"/*.pem 2>/dev/null >"$T/all.pem"
    [ -s "$T/all.pem" ] || return 0
    openssl crl2pkcs7 -nocrl -certfile "$T/all.pem" | openssl pkcs7 -print_certs -text -noout |
        awk '/Serial Number:/ { if ($3 == "") { getline; gsub(/[ :]/, ""); print tolower($0) }
                                else print $3 }' | sort
}
store_serials() { oc --json list --ca ca | grep -o '"serial":"[0-9a-f]*"' | cut -d'"' -f4 | sort; }
issue_audits() { oc --json audit list | grep -o '"action":"cert.issue"' | wc -l; }

# Each property is checked in every trial; a failure is reported with its trial at once, and the
# property is reported ok once at the end when no trial broke it.
declare -A broken seen
props=()
prop() { # prop NAME DETAIL CONDITION...
    local name=$1 detail=$2; shift 2
    [ -n "${seen[$name]:-}" ] || { seen[$name]=1; props+=("$name"); }
    if ! "$@"; then broken[$name]=1; notok "trial $trial: $name" "$detail"; fi
}
killed_mid=0; litter=0
for trial in $(seq 1 "$TRIALS"); do
    D="$T/o$trial"; mkdir -p "$D"; manifest "$D" >"$T/m$trial.jsonl"
    ms=$((20 + RANDOM % 381))
    # exec: $! must be offca itself, not a subshell that would die alone and leave offca running
    (exec "$OFFCA" -c "$T/ca.toml" sign --ca ca --template vpn-server --batch "$T/m$trial.jsonl" \
        >"$T/run.out" 2>&1) &
    pid=$!
    sleep "$(printf '0.%03d' "$ms")"
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    rc=$?
    present=$(find "$D" -name '*.pem' | wc -l)
    [ "$rc" -eq 137 ] && [ "$present" -lt "$N" ] && killed_mid=$((killed_mid + 1))
    litter=$((litter + $(find "$D" -name '.offca-tmp-*' | wc -l)))

    prop "store opens after SIGKILL (offca list exits 0)" "offca list failed" \
        eval 'oc list --ca ca >/dev/null 2>"$T/list.err"'
    store_serials >"$T/store.txt"
    prop "no serial appears twice in the store" "$(uniq -d "$T/store.txt" | head -3)" \
        test -z "$(uniq -d "$T/store.txt")"
    serials_in "$D" >"$T/files.txt"
    prop "no torn certificate file after SIGKILL (every file parses)" \
        "$present files, $(wc -l <"$T/files.txt") certificates read" \
        test "$(wc -l <"$T/files.txt")" -eq "$present"
    missing=$(comm -23 "$T/files.txt" "$T/store.txt")
    prop "every certificate file on disk is in the store" "not in store: $missing" test -z "$missing"
    prop "no two files carry the same serial" "$(uniq -d "$T/files.txt")" \
        test -z "$(uniq -d "$T/files.txt")"
    recs=$(wc -l <"$T/store.txt"); audits=$(issue_audits)
    prop "each certificate record has exactly one cert.issue audit record" \
        "$recs records, $audits cert.issue audit records" test "$recs" -eq "$audits"
    prop "audit verify passes after SIGKILL" "$(oc audit verify 2>&1 | tail -2)" \
        eval 'oc audit verify >/dev/null 2>&1'

    batch "$T/m$trial.jsonl" >"$T/rerun.out" 2>&1; rc=$?
    prop "re-running the batch exits 0" "exit $rc: $(tail -3 "$T/rerun.out")" test "$rc" -eq 0
    prop "re-run skips exactly the files already written" "$(tail -1 "$T/rerun.out")" \
        grep -q " $present skipped" "$T/rerun.out"
    outs=$(find "$D" -name '*.pem' | wc -l)
    prop "after the re-run every output exists" "$outs of $N" test "$outs" -eq "$N"
    openssl verify -x509_strict -CAfile "$T/ca.pem" "$D"/*.pem >"$T/verify.out" 2>&1
    prop "after the re-run every output verifies (openssl verify)" "$(grep -v ': OK$' "$T/verify.out" | head -3)" \
        test "$(grep -c ': OK$' "$T/verify.out")" -eq "$N"
    store_serials >"$T/store.txt"
    serials_in "$D" >"$T/files.txt"
    missing=$(comm -23 "$T/files.txt" "$T/store.txt")
    prop "after the re-run every output is in the store" "not in store: $missing" test -z "$missing"
    prop "after the re-run no serial appears twice" "$(uniq -d "$T/store.txt" | head -3)" \
        test -z "$(uniq -d "$T/store.txt")"
done
for p in "${props[@]}"; do
    [ -z "${broken[$p]:-}" ] && ok "$p ($TRIALS trials)"
done
check "at least a third of the kills landed mid-batch ($killed_mid of $TRIALS)" \
    test "$killed_mid" -ge $((TRIALS / 3))
total=$(wc -l <"$T/store.txt"); delivered=$(find "$T" -path "$T/o*" -name '*.pem' | wc -l)
echo "# figures: $killed_mid of $TRIALS kills mid-batch; $total certificates recorded, $delivered" \
     "delivered: $((total - delivered)) committed but never written (killed between commit and" \
     "write; the re-run issued new ones); $litter temp files (.offca-tmp-*) left by kills"
t_done
