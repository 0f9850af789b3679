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
# serials_in FILE...: the serial of every certificate in the files, one openssl pass (lower-case hex, sorted);
# a torn or foreign file makes openssl fail, so the count is checked against the file count.
serials_in() {
    cat "$@" 2>/dev/null >"$T/all.pem"
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
killed_mid=0; litter=0; staged=0; recovered=0
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
    staged=$((staged + $(find "$D" -name '.*.offca-stage-*' | wc -l)))

    prop "store opens after SIGKILL (offca list exits 0)" "offca list failed" \
        eval 'oc list --ca ca >/dev/null 2>"$T/list.err"'
    store_serials >"$T/store.txt"
    prop "no serial appears twice in the store" "$(uniq -d "$T/store.txt" | head -3)" \
        test -z "$(uniq -d "$T/store.txt")"
    serials_in "$D"/*.pem >"$T/files.txt"
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
    serials_in "$D"/*.pem >"$T/files.txt"
    missing=$(comm -23 "$T/files.txt" "$T/store.txt")
    prop "after the re-run every output is in the store" "not in store: $missing" test -z "$missing"
    prop "after the re-run no serial appears twice" "$(uniq -d "$T/store.txt" | head -3)" \
        test -z "$(uniq -d "$T/store.txt")"
    # no orphans: a certificate recorded by the killed run but not yet renamed into place was
    # put in place by the re-run from its staged file (".N.pem.offca-stage-<serial>"), not
    # issued again; so over all trials so far, records == output files, the same serials
    r=$(grep -o '[0-9]* recovered' "$T/rerun.out" | cut -d' ' -f1); recovered=$((recovered + ${r:-0}))
    serials_in "$T"/o*/*.pem >"$T/allfiles.txt"
    prop "after the re-run: store records == output files of all trials (no orphan)" \
        "$(wc -l <"$T/store.txt") records, $(wc -l <"$T/allfiles.txt") files" \
        test "$(wc -l <"$T/store.txt")" -eq "$(wc -l <"$T/allfiles.txt")"
    prop "after the re-run: each output's serial is in the store exactly once, and each record is a file" \
        "$(diff "$T/allfiles.txt" "$T/store.txt" | head -3)" cmp -s "$T/allfiles.txt" "$T/store.txt"
    prop "after the re-run no staged file is left" "$(find "$D" -name '.*.offca-stage-*' | head -3)" \
        test -z "$(find "$D" -name '.*.offca-stage-*')"
done
for p in "${props[@]}"; do
    [ -z "${broken[$p]:-}" ] && ok "$p ($TRIALS trials)"
done
# The window between a group's commit and its renames is short, so random kills rarely land in it:
# build that state exactly. Trial 1's 1.pem goes back to its staged name (recorded, not renamed);
# 2.pem is removed and a staged file with a serial the store does not hold is left in its place
# (killed before the commit). The re-run must put 1.pem back byte for byte without a new record,
# drop the unknown staged file and issue 2.pem once.
D="$T/o1"
s1=$(openssl x509 -in "$D/1.pem" -noout -serial | cut -d= -f2 | tr A-F a-f)
cp "$D/1.pem" "$T/1.orig.pem"
mv "$D/1.pem" "$D/.1.pem.offca-stage-$s1"
rm "$D/2.pem"; echo junk >"$D/.2.pem.offca-stage-00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff"
before=$(store_serials | wc -l)
expect_rc 0 "re-run with a recorded-but-unrenamed and an unrecorded staged file" -- \
    batch "$T/m1.jsonl"
expect_in ": 1 issued, $((N - 2)) skipped (output exists), 0 failed, 1 recovered" \
    "summary counts the recorded one as recovered and the other as issued"
check "the recovered file is the recorded certificate, byte for byte" cmp -s "$T/1.orig.pem" "$D/1.pem"
check "exactly one new record (2.pem), none for 1.pem" test "$(store_serials | wc -l)" -eq $((before + 1))
check "both staged files are gone" test -z "$(find "$D" -name '.*.offca-stage-*')"
s2=$(openssl x509 -in "$D/2.pem" -noout -serial | cut -d= -f2 | tr A-F a-f)
check "2.pem's serial is recorded exactly once" test "$(store_serials | grep -c "^$s2\$")" -eq 1
check "at least a third of the kills landed mid-batch ($killed_mid of $TRIALS)" \
    test "$killed_mid" -ge $((TRIALS / 3))
total=$(wc -l <"$T/store.txt"); delivered=$(find "$T" -path "$T/o*" -name '*.pem' | wc -l)
echo "# figures: $killed_mid of $TRIALS kills mid-batch; $total certificates recorded, $delivered" \
     "delivered ($((total - delivered)) orphans); $staged staged files left by kills, $recovered" \
     "certificates recovered from them by re-runs; $litter temp files (.offca-tmp-*) left by kills"
t_done
