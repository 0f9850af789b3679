#!/bin/bash
# Issue 4 and 9, crash safety of `offca crl publish`. First at named steps (fault points of the
# test build, $OFFCA_TEST_BIN with OFFCA_FAULT), so each kill lands exactly there whatever the
# machine's speed: after the new CRL numbers are recorded and before any file is written
# (crl.committed), mid-write of the base and of the delta (crl.temp-written, before the rename),
# after the base's and after the delta's rename (crl.renamed). After each: the published CRLs
# parse and verify, exactly the expected files changed, and the next run repairs exactly what is
# missing (sweeps the temp file, publishes what the store recorded but the directory lacks, with
# numbers above every recorded one, never reused) or has nothing to do. A publisher frozen
# mid-write (SIGSTOP at crl.temp-written) holds the lock: a second run waits for it and then has
# nothing to do, never sweeping the first one's temp file. Then SIGKILLs at random moments
# (TRIALS, delays from $RANDOM) while a reader keeps reading the files: only properties that
# hold wherever a kill lands are asserted (every CRL verifies, numbers never go backwards, the
# reader sees only whole files); the audit chain verifies at the end.
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
TRIALS=${CRL_CRASH_TRIALS:-12}

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
md5() { md5sum <"$1" | cut -d' ' -f1; }
temps() { find "$T/pub" -name '.*.tmp' | wc -l; }
all_ok() { crl_ok "$T/pub/iss.crl" "$T/iss.pem" && crl_ok "$T/pub/iss+.crl" "$T/iss.pem" && crl_ok "$T/pub/root.crl" "$T/root.pem"; }
indicator() { openssl crl -inform DER -in "$1" -noout -text | grep -A1 'Delta CRL Indicator' | tail -n 1 | tr -d ' '; }

# ---- deterministic kills: OFFCA_FAULT=SPEC on `crl publish --ca iss --force` ----------------
# iss publishes its base CRL (file 1), then its delta (file 2); iss.crt is current, so not written.
# CHANGED: which files the kill leaves new (none/base/both); TEMPS: temp files it leaves;
# NEXT: what the next plain run must publish (both/delta/nothing).
while read -r spec changed ntemp next; do
    B0=$(num "$T/pub/iss.crl"); D0=$(num "$T/pub/iss+.crl"); MB=$(md5 "$T/pub/iss.crl"); MD=$(md5 "$T/pub/iss+.crl")
    OFFCA_FAULT=$spec "$OFFCA_TEST_BIN" -c "$T/ca.toml" crl publish --ca iss --force >"$T/k.out" 2>"$T/k.err"; rc=$?
    check "$spec: SIGKILLed at the point (exit $rc)" test "$rc" = 137
    check "$spec: it reached the point" grep -q "^offca: fault point ${spec%%:*} #${spec#*:} " "$T/k.err"
    check "$spec: every published CRL parses and verifies" all_ok
    case $changed in
    none) check "$spec: both files unchanged byte for byte" test "$(md5 "$T/pub/iss.crl")$(md5 "$T/pub/iss+.crl")" = "$MB$MD" ;;
    base) check "$spec: the base is the recorded one ($((D0 + 1))), the delta unchanged" \
              test "$(num "$T/pub/iss.crl") $(md5 "$T/pub/iss+.crl")" = "$((D0 + 1)) $MD" ;;
    both) check "$spec: base and delta are the recorded ones ($((D0 + 1)), $((D0 + 2)))" \
              test "$(num "$T/pub/iss.crl") $(num "$T/pub/iss+.crl")" = "$((D0 + 1)) $((D0 + 2))" ;;
    esac
    check "$spec: $ntemp temp file(s) left" test "$(temps)" = "$ntemp"
    MB1=$(md5 "$T/pub/iss.crl"); MD1=$(md5 "$T/pub/iss+.crl")
    expect_rc 0 "$spec: the next plain run exits 0" -- oc crl publish --ca iss
    if [ "$ntemp" -gt 0 ]; then
        expect_in "removed $ntemp temporary file(s) left by an interrupted run" "$spec: it sweeps the temp file"
    fi
    check "$spec: no temp file is left" test "$(temps)" = 0
    case $next in
    both) check "$spec: it publishes base $((D0 + 3)) and delta $((D0 + 4)) (the recorded numbers are never reused)" \
              test "$(num "$T/pub/iss.crl") $(num "$T/pub/iss+.crl")" = "$((D0 + 3)) $((D0 + 4))"
          expect_in "iss: published CRL $((D0 + 3))" "$spec: it says so" ;;
    delta) check "$spec: it publishes only the delta ($((D0 + 3))), the base stays byte for byte" \
              test "$(num "$T/pub/iss+.crl") $(md5 "$T/pub/iss.crl")" = "$((D0 + 3)) $MB1"
           check "$spec: no new base is announced" bash -c "! grep -q 'published CRL' <<<'$OUT'" ;;
    nothing) expect_in "nothing to do" "$spec: it has nothing to do"
             check "$spec: the files stay byte for byte" test "$(md5 "$T/pub/iss.crl")$(md5 "$T/pub/iss+.crl")" = "$MB1$MD1" ;;
    esac
    check "$spec: afterwards the delta's indicator names the published base" \
        test "$(indicator "$T/pub/iss+.crl")" = "$(num "$T/pub/iss.crl")"
    check "$spec: afterwards every CRL verifies" all_ok
    expect_rc 0 "$spec: the audit chain verifies" -- oc audit verify
done <<'LIST'
crl.committed:1 none 0 both
crl.temp-written:1 none 1 both
crl.temp-written:2 base 1 delta
crl.renamed:1 base 0 delta
crl.renamed:2 both 0 nothing
LIST

# ---- a publisher frozen mid-write holds the lock: a second run waits, then has nothing to do --
MB=$(md5 "$T/pub/iss.crl")
OFFCA_FAULT=crl.temp-written:1:stop "$OFFCA_TEST_BIN" -c "$T/ca.toml" crl publish --ca iss --force \
    >"$T/p1.out" 2>"$T/p1.err" &
P1=$!
if wait_stopped $P1; then
    ok "frozen: the publisher stopped at crl.temp-written (its temp file written, not renamed)"
    check "frozen: its temp file is there, the published base is still the old file" \
        test "$(temps) $(md5 "$T/pub/iss.crl")" = "1 $MB"
    check "frozen: the published files parse and verify meanwhile" all_ok
    (exec "$OFFCA" -c "$T/ca.toml" crl publish --ca iss >"$T/p2.out" 2>"$T/p2.err") &
    P2=$!
    waiting=no
    for _ in $(seq 1 1200); do     # until the kernel lists P2 as waiting for the flock (60 s)
        grep -Eq -- "-> FLOCK +ADVISORY +WRITE +$P2 " /proc/locks && { waiting=yes; break; }
        kill -0 $P2 2>/dev/null || break
        sleep 0.05
    done
    check "frozen: a second run waits for the publish lock (listed as a waiter in /proc/locks)" test $waiting = yes
    check "frozen: ... and has not swept the first run's temp file" test "$(temps)" = 1
    kill -CONT $P1
else
    notok "frozen: the publisher stopped at crl.temp-written" "$(cat "$T/p1.err")"
    P2=
fi
wait_gone $P1 || kill -KILL $P1
wait $P1; R1=$?
check "frozen: the first run, continued, exits 0" test "$R1" = 0
if [ -n "$P2" ]; then
    wait_gone $P2 || kill -KILL $P2
    wait $P2; R2=$?
    check "frozen: the second run exits 0 after it" test "$R2" = 0
    check "frozen: ... and, deciding under the lock, has nothing to do" grep -q 'iss: CRL [0-9]* is current' "$T/p2.out"
    check "frozen: ... and swept nothing" bash -c "! grep -q 'temporary file' '$T/p2.err'"
fi
check "frozen: no temp file is left" test "$(temps)" = 0
check "frozen: every CRL verifies afterwards" all_ok

# ---- random kills on top: only what holds wherever a kill lands is asserted -------------------
runms() { local s; s=$(date +%s%N); oc crl publish --force >/dev/null; echo $(( ($(date +%s%N) - s) / 1000000 )); }
D=$( (runms; runms; runms) | sort -n | sed -n 2p )          # the median of three runs (picks delays only)
# SoftHSM's file store rewrites token.object in place at every login: a SIGKILL at that moment
# leaves the token unreadable (a property of the test HSM, not of offca; a real HSM or SoftHSM's
# sqlite store does not do this). Keep a copy to restore, as an operator restores a backup.
cp -a "$T/tokens" "$T/tokens.bak"
token_ok() { softhsm2-util --show-slots 2>/dev/null | grep -q 'Label: *crl-crash *$'; }
lost=0
echo "# seed $SEED; one --force run takes ${D} ms; $TRIALS random trials"

# a reader that keeps reading the files: each read must be one whole DER object
cat >"$T/reader.py" <<'PY'
import os, sys, time
d, stop, ready, bad = sys.argv[1], sys.argv[2], sys.argv[3], 0
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
    if not os.path.exists(ready):
        open(ready, "w").close()       # one pass done: the kills may start
print(n, bad)
PY
python3 "$T/reader.py" "$T/pub" "$T/stop" "$T/ready" >"$T/reader.out" 2>&1 &
READER=$!
for _ in $(seq 1 1200); do [ -e "$T/ready" ] && break; sleep 0.05; done   # its first pass (60 s)
check "the reader is reading before the kills start" test -e "$T/ready"

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
check "the reader saw only whole files ($READS reads)" test "${READBAD:-1}" = 0 -a "${READS:-0}" -gt 0
check "the revoked certificate is still listed" bash -c "openssl crl -inform DER -in '$T/pub/iss.crl' -noout -text | grep -q 'Serial Number: $REV'"
TEMPS=$(find "$T/pub" -name '.*.tmp' | wc -l)
echo "# figures (not asserted): $killed of $TRIALS random kills hit a running publisher; $moved published a new base before dying; $TEMPS temp file(s) left; SoftHSM token restored $lost time(s)"
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
