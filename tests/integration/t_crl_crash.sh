#!/bin/bash
# Issue 4, crash safety of `offca crl publish`: SIGKILL `crl publish --force` at random moments
# (24 trials, each bounded) while a reader keeps reading the published files. After every kill
# the published CRLs parse, verify against their CA (openssl crl -verify) and their numbers
# never go backwards; the reader never sees a partial file; the next run sweeps the temp files
# a kill left, publishes with a number above every one seen, and the audit chain verifies.
. "$(dirname "$0")/common.sh"
offca_setup crl-crash
cat >>"$T/ca.toml" <<TOML
[ca.iss]
delta_period = "1d"
TOML
URI() { echo "pkcs11:token=crl-crash;object=$1;type=private"; }
num() { local h; h=$(openssl crl -inform DER -in "$1" -noout -crlnumber 2>/dev/null | cut -d= -f2); [ -n "$h" ] && echo $((16#${h#0x})); }
crl_ok() { openssl crl -inform DER -in "$1" -CAfile "$2" -noout 2>&1 | grep -q 'verify OK'; }
SEED=${OFFCA_TEST_SEED:-$RANDOM}; RANDOM=$SEED
TRIALS=24

oc init >/dev/null
for k in root iss; do oc key generate --label $k --alg p256 >/dev/null; done
oc ca create-root root --key "$(URI root)" --subject 'CN=Crash Root' >/dev/null
oc ca create-issuing iss --parent root --key "$(URI iss)" --subject 'CN=Crash iss' >/dev/null
oc ca export root -o "$T/root.pem"; oc ca export iss -o "$T/iss.pem"
# some revoked entries so that building and writing take a little while
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/l.key" \
    -subj /CN=l -out "$T/l.csr" 2>/dev/null
mkdir -p "$T/out"
for i in $(seq 100); do
    printf '{"csr":"%s","san":["dns:l%d.example"],"out":"%s/out/%d.pem"}\n' "$T/l.csr" "$i" "$T" "$i"
done >"$T/batch.jsonl"
oc sign --ca iss --template vpn-server --batch "$T/batch.jsonl" >/dev/null 2>&1
for f in "$T"/out/*.pem; do
    oc revoke --ca iss --serial "$(openssl x509 -in "$f" -noout -serial | cut -d= -f2)" \
        --reason keyCompromise >/dev/null || break
done
REV=$(openssl x509 -in "$T/out/1.pem" -noout -serial | cut -d= -f2)
expect_rc 0 "first publication" -- oc crl publish
check "100 revocations are on the CRL" test "$(openssl crl -inform DER -in "$T/pub/iss.crl" -noout -text | grep -c 'Serial Number')" = 100
runms() { local s; s=$(date +%s%N); oc crl publish --force >/dev/null; echo $(( ($(date +%s%N) - s) / 1000000 )); }
D=$( (runms; runms; runms) | sort -n | sed -n 2p )          # the median of three runs
# SoftHSM's file store rewrites token.object in place at every login: a SIGKILL at that moment
# leaves the token unreadable (a property of the test HSM, not of offca; a real HSM or SoftHSM's
# sqlite store does not do this). Keep a copy to restore, as an operator restores a backup.
cp -a "$T/tokens" "$T/tokens.bak"
token_ok() { softhsm2-util --show-slots 2>/dev/null | grep -q 'Label: *crl-crash *$'; }
lost=0
echo "# seed $SEED; one --force run takes ${D} ms; $TRIALS trials"

# a reader that keeps reading the files: each read must be one whole DER object
cat >"$T/reader.py" <<'PY'
import os, sys, time
d, stop, bad = sys.argv[1], sys.argv[2], 0
n = 0
end = time.time() + 100
while not os.path.exists(stop) and time.time() < end:
    for f in ("iss.crl", "iss+.crl", "root.crl"):
        try:
            b = open(os.path.join(d, f), "rb").read()
        except FileNotFoundError:
            bad += 1; continue
        n += 1
        if len(b) < 4 or b[0] != 0x30:
            bad += 1; continue
        l = b[1]
        if l & 0x80:
            k = l & 0x7f; l = int.from_bytes(b[2:2 + k], "big"); h = 2 + k
        else:
            h = 2
        bad += (h + l != len(b))
print(n, bad)
PY
python3 "$T/reader.py" "$T/pub" "$T/stop" >"$T/reader.out" 2>&1 &
READER=$!

prev_base=$(num "$T/pub/iss.crl"); prev_delta=$(num "$T/pub/iss+.crl"); bad=0; killed=0; back=0; moved=0
for t in $(seq $TRIALS); do
    "$OFFCA" -c "$T/ca.toml" crl publish --force >/dev/null 2>&1 &   # the process itself, no subshell
    P=$!
    # half the kills anywhere in the run, half in its last part (signing, writing, renaming)
    if [ $((t % 2)) = 0 ]; then ms=$(( RANDOM % (D + 1) )); else ms=$(( D * 6 / 10 + RANDOM % (D / 2 + 1) )); fi
    sleep "$(printf '0.%03d' "$ms")"
    kill -9 $P 2>/dev/null
    wait $P 2>/dev/null
    [ $? = 137 ] && killed=$((killed + 1))           # 128 + SIGKILL: it died mid-run
    if ! token_ok; then
        lost=$((lost + 1)); rm -rf "$T/tokens"; cp -a "$T/tokens.bak" "$T/tokens"
    fi
    for f in iss.crl iss+.crl root.crl; do
        ca=iss; [ $f = root.crl ] && ca=root
        crl_ok "$T/pub/$f" "$T/$ca.pem" || { bad=$((bad + 1)); echo "# trial $t: $f does not verify"; }
    done
    nb=$(num "$T/pub/iss.crl"); nd=$(num "$T/pub/iss+.crl")
    if [ -z "$nb" ] || [ -z "$nd" ] || [ "$nb" -lt "$prev_base" ] || [ "$nd" -lt "$prev_delta" ]; then
        back=$((back + 1)); echo "# trial $t (kill after ${ms} ms): base $prev_base -> $nb, delta $prev_delta -> $nd"
    fi
    [ "${nb:-0}" -gt "$prev_base" ] && moved=$((moved + 1))
    prev_base=${nb:-$prev_base}; prev_delta=${nd:-$prev_delta}
done
: >"$T/stop"; wait $READER
read -r READS READBAD <"$T/reader.out"
check "after each of $TRIALS kills every published CRL parses and verifies" test "$bad" = 0
check "the CRL numbers never went backwards" test "$back" = 0
check "at least a quarter of the kills landed while the publisher ran ($killed of $TRIALS)" test "$killed" -ge $((TRIALS / 4))
check "the reader saw only whole files ($READS reads)" test "${READBAD:-1}" = 0 -a "${READS:-0}" -gt 0
check "the revoked certificate is still listed" bash -c "openssl crl -inform DER -in '$T/pub/iss.crl' -noout -text | grep -q 'Serial Number: $REV'"
TEMPS=$(find "$T/pub" -name '.*.tmp' | wc -l)
echo "# figures: $killed of $TRIALS kills hit a running publisher; $moved published a new base before dying; $TEMPS temp file(s) left; SoftHSM token restored $lost time(s)"
MAXN=$(( prev_base > prev_delta ? prev_base : prev_delta ))
expect_rc 0 "a normal run after the kills" -- oc crl publish
if [ "$TEMPS" -gt 0 ]; then expect_in "removed $TEMPS temporary file(s) left by an interrupted run" "it says it swept the temp files"; fi
check "no temp file is left" test "$(find "$T/pub" -name '.*.tmp' | wc -l)" = 0
check "the delta's indicator names the published base" test "$(openssl crl -inform DER -in "$T/pub/iss+.crl" -noout -text | grep -A1 'Delta CRL Indicator' | tail -n 1 | tr -d ' ')" = "$(num "$T/pub/iss.crl")"
expect_rc 0 "a forced run after the kills" -- oc crl publish --force
N=$(num "$T/pub/iss.crl")
check "its number ($N) is above every number published before ($MAXN)" test "$N" -gt "$MAXN"
check "iss.crl verifies" crl_ok "$T/pub/iss.crl" "$T/iss.pem"
check "iss+.crl verifies" crl_ok "$T/pub/iss+.crl" "$T/iss.pem"
expect_rc 0 "then nothing is due" -- oc crl publish
check "both CAs say nothing to do" test "$(grep -c 'nothing to do' <<<"$OUT")" = 2
expect_rc 0 "the audit chain verifies after the kills" -- oc audit verify
t_done
