#!/bin/bash
# Issue 13, pre-signed root CRLs: one ceremony signs 12 monthly CRLs (crl_period 30d, overlap
# 5d); the issuing machine imports the set and a year of hourly cron runs (the test clock jumps
# to each thisUpdate and to just before and after it, instead of 8760 runs) publishes each one
# exactly when its thisUpdate comes, never before, never out of order; a SIGKILL in the middle
# of one such publication is finished by the next run. Then a second ceremony pre-signs 3 more,
# a revocation ceremony follows, and importing its CRL voids the four still waiting.
. "$(dirname "$0")/offline_lib.sh"
offline_setup || { notok "two machines set up"; t_done; exit 1; }
printf '[ca.root]\ncrl_period = "30d"\ncrl_overlap = "5d"\n' >>"$T/r/ca.toml"
sed -i 's|^\[publish\]$|[publish]\nceremony_warn_days = 10|' "$T/i/ca.toml"
T0=$(( $(date +%s) - 60 ))
NOW=$T0
R key generate --label spare --alg p256 >/dev/null
RT ca create-issuing spare --parent root --key "$(RURI spare)" --subject 'CN=Spare' >/dev/null
SPARE=$(R list --ca root | awk 'NR==1{print $1}')
RT ca sign-subordinate root --csr "$T/iss.csr" -o "$T/iss.pem" >/dev/null

expect_rc 1 "presign before any CRL is published is refused" -- RT crl presign --ca root --count 3
expect_in "no CRL published yet" "the refusal says publish first"
expect_rc 2 "presign --count 0 is a usage error" -- RT crl presign --ca root --count 0
expect_rc 0 "ceremony: publish CRL 1 and carry it" -- RT crl publish --ca root --force --out "$T/carry"
RSUM=$(store_sum r)
expect_rc 0 "ceremony: presign 12 CRLs" -- RT crl presign --ca root --count 12 --out "$T/carry"
expect_in "root-crl-13.crl: pre-signed CRL 13" "it names each file and number"
NP1=$(( T0 + 30 * 86400 ))
good=1
for k in $(seq 2 13); do
    f="$T/carry/root-crl-$k.crl"
    tu=$(crltime "$f" last); nu=$(crltime "$f" next)
    [ "$(( $(crlnum "$f") ))" = "$k" ] || { good=0; echo "# CRL $f: number $(crlnum "$f")"; }
    [ "$tu" = "$(( NP1 + (k - 2) * 30 * 86400 ))" ] || { good=0; echo "# CRL $k: thisUpdate $tu"; }
    [ "$nu" = "$(( tu + 35 * 86400 ))" ] || { good=0; echo "# CRL $k: nextUpdate $nu"; }
    openssl crl -inform DER -in "$f" -CAfile <(openssl x509 -inform DER -in "$T/carry/root.crt") \
        -noout 2>/dev/null || { good=0; echo "# CRL $k does not verify"; }
done
check "12 CRLs numbered 2..13, each thisUpdate the previous Next CRL Publish (30d), valid 35d, signed by the root" test $good = 1
check "the Next CRL Publish extension is written (the next one's thisUpdate)" \
    bash -c "openssl crl -inform DER -in '$T/carry/root-crl-2.crl' -noout -text | grep -q '1.3.6.1.4.1.311.21.4'"
expect_rc 0 "root: audit verify after the presign" -- R audit verify
check "the audit log has crl.presign 2..13" bash -c "'$OFFCA' -c '$T/r/ca.toml' audit list | grep -q 'crl.presign.*numbers=2..13'"
lint_clean lint "$T/carry/root.crt" "$T/carry/root-crl-2.crl" "$T/carry/root-crl-13.crl"

# ---- issuing machine: import the set ----
IT ca import iss --cert "$T/iss.pem" --chain "$T/carry/root.crt" >/dev/null
expect_rc 0 "import CRL 1 and the 12 pre-signed ones" -- IT crl import "$T/carry/root.crl" "$T"/carry/root-crl-*.crl
check "twelve wait for their thisUpdate" test "$(grep -c 'pre-signed: published when its thisUpdate comes' <<<"$OUT")" = 12
check "CRL 1 is published now" test "$(( $(crlnum "$T/i/pub/root.crl") ))" = 1
expect_rc 0 "importing the set again is a no-op" -- IT crl import "$T"/carry/root-crl-*.crl "$T/carry/root.crl"
check "13 'already imported'" test "$(grep -c 'already imported' <<<"$OUT")" = 13

# ---- a year of hourly cron runs, at the moments that matter ----
pubnum() { echo $(( $(crlnum "$T/i/pub/root.crl") )); }
cron_at() { NOW=$1; IT crl publish >"$T/cron.out" 2>&1; }
good=1
for k in $(seq 2 13); do
    tu=$(crltime "$T/carry/root-crl-$k.crl" last)
    cron_at $(( tu - 3600 )); [ "$(pubnum)" = $((k - 1)) ] || { good=0; echo "# $k: an hour before: $(pubnum)"; }
    cron_at $(( tu - 1 )); [ "$(pubnum)" = $((k - 1)) ] || { good=0; echo "# $k: a second before: $(pubnum)"; }
    if [ "$k" = 7 ]; then
        NOW=$tu
        env OFFCA_TEST_NOW="$NOW" OFFCA_FAULT=crlimp.committed "$OFFCA_TEST_BIN" -c "$T/i/ca.toml" \
            crl publish >/dev/null 2>&1
        [ $? = 137 ] && [ "$(pubnum)" = 6 ] && ok "cron killed after recording CRL 7 due: the file is still CRL 6" ||
            notok "cron killed after recording CRL 7 due: the file is still CRL 6"
    fi
    cron_at "$tu"; [ "$(pubnum)" = "$k" ] || { good=0; echo "# $k: at thisUpdate: $(pubnum)"; cat "$T/cron.out"; }
    cron_at $(( tu + 3599 )); [ "$(pubnum)" = "$k" ] || { good=0; echo "# $k: an hour after: $(pubnum)"; }
done
check "each pre-signed CRL published exactly at its thisUpdate, not a second before, in order" test $good = 1
check "the file is the pre-signed CRL 13, byte for byte" cmp -s "$T/i/pub/root.crl" "$T/carry/root-crl-13.crl"
expect_rc 0 "issuing machine: audit verify after a year" -- I audit verify
check "crl.import-due recorded 12 times" test "$(I audit list | grep -c 'crl.import-due')" = 12

# ---- a second ceremony, then a revocation ceremony: the waiting ones are void ----
NOW=$(( $(crltime "$T/carry/root-crl-13.crl" last) + 86400 ))
rm -f "$T"/carry/*
expect_rc 1 "presign with the last CRL's Next CRL Publish passed is refused (publish first)" -- \
    RT crl presign --ca root --count 3 --out "$T/carry"
expect_rc 0 "ceremony 2: publish CRL 14" -- RT crl publish --ca root --force --out "$T/carry"
expect_rc 0 "ceremony 2: presign 15..17" -- RT crl presign --ca root --count 3 --out "$T/carry"
expect_rc 0 "ceremony 2: presign again continues the set (18..19)" -- RT crl presign --ca root --count 2 --out "$T/carry"
check "CRL 18 starts at CRL 17's Next CRL Publish" test "$(crltime "$T/carry/root-crl-18.crl" last)" = \
    "$(( $(crltime "$T/carry/root-crl-17.crl" last) + 30 * 86400 ))"
expect_rc 0 "issuing machine: import ceremony 2" -- IT crl import "$T/carry/root.crl" "$T"/carry/root-crl-*.crl
check "CRL 14 published" test "$(pubnum)" = 14
TU15=$(crltime "$T/carry/root-crl-15.crl" last)
cron_at "$TU15"; check "CRL 15 published at its thisUpdate" test "$(pubnum)" = 15
NOW=$(( TU15 + 86400 ))
expect_rc 1 "presign with a revocation not yet on a CRL is refused" -- \
    bash -c "'$OFFCA_TEST_BIN' -c '$T/r/ca.toml' revoke --ca root --serial $SPARE --reason cACompromise >/dev/null &&
             OFFCA_TEST_NOW=$NOW '$OFFCA_TEST_BIN' -c '$T/r/ca.toml' crl presign --ca root --count 1"
rm -f "$T"/carry/*
expect_rc 0 "revocation ceremony: CRL 20" -- RT crl publish --ca root --out "$T/carry"
check "the revocation CRL has a higher number than every pre-signed one" test "$(( $(crlnum "$T/carry/root.crl") ))" = 20
expect_rc 0 "issuing machine: import the revocation CRL" -- IT crl import "$T/carry/root.crl"
check "it voids the four still waiting (16..19)" test "$(grep -c 'is void' <<<"$OUT")" = 4
check "CRL 20 published at once" test "$(pubnum)" = 20
good=1
for k in 16 17 18 19; do
    cron_at $(( TU15 + (k - 15) * 30 * 86400 )); [ "$(pubnum)" = 20 ] || good=0
done
check "at the voided ones' thisUpdates, cron keeps CRL 20 (never a lower number)" test $good = 1
check "crl.import-void recorded 4 times" test "$(I audit list | grep -c 'crl.import-void')" = 4
check "the revoked CA is on the published CRL" \
    bash -c "openssl crl -inform DER -in '$T/i/pub/root.crl' -noout -text | tr A-F a-f | tr -d ' :' | grep -q '${SPARE}'"

# ---- reminders: doctor and status on the issuing machine (ceremony_warn_days = 10) ----
BY=$(( $(crltime "$T/i/pub/root.crl" next) - 5 * 86400 ))     # CRL 20's Next CRL Publish
BYISO=$(date -u -d "@$BY" +%Y-%m-%dT%H:%M:%SZ)
at() { NOW=$1; IT crl publish >/dev/null 2>&1; }      # the issuing CA's own CRL kept fresh
at $(( BY - 10 * 86400 - 60 ))
expect_rc 0 "doctor 10 days + 1 minute before the ceremony date: no warning" -- IT doctor
case "$OUT" in *"root ceremony must happen"*) notok "doctor: no ceremony warning yet" ;; *) ok "doctor: no ceremony warning yet" ;; esac
expect_in "the ceremony is due by $BYISO" "doctor names the ceremony date in its ok line"
expect_rc 0 "status: ok" -- IT status
expect_in "root CRL      #20 published" "status shows the imported root CRL in one line"
expect_in "ceremony due by $BYISO" "status names the ceremony date"
at $(( BY - 10 * 86400 + 60 ))
expect_rc 0 "doctor inside the warning window (warnings do not fail doctor)" -- IT doctor
expect_in "root ceremony must happen by $BYISO" "doctor warns, naming the date by which the ceremony must happen"
expect_rc 1 "status: warning (exit 1)" -- IT status
expect_in "root ceremony due by $BYISO" "status names the finding"
expect_rc 1 "status --json: warning" -- IT --json status
check "JSON: root_crl_ceremony_by" bash -c "jq -e '.cas[] | select(.name==\"iss\") | .root_crl_ceremony_by == \"$BYISO\" and .root_crl_number == 20' <<<'$OUT' >/dev/null"
IT status --prometheus "$T/offca.prom" >/dev/null
check "prometheus: offca_root_crl_ceremony_due_seconds" grep -q "^offca_root_crl_ceremony_due_seconds{ca=\"iss\"} $BY\$" "$T/offca.prom"
at $(( BY + 5 * 86400 + 60 ))
expect_rc 1 "doctor once the published root CRL is past nextUpdate: error" -- IT doctor
expect_in "root CRL #20 expired" "doctor says the root CRL expired"
expect_rc 2 "status: error (exit 2)" -- IT status
expect_in "root CRL #20 past nextUpdate" "status says past nextUpdate"
t_done
