#!/bin/bash
# Issue 11 (faults and bad state), points 2, 5, 6 and 9, as an operator meets them:
#   2  no certificate outside its issuer's validity: the clock after the CA's notAfter, before its
#      notBefore, a cap below the template's min_days: sign, batch, create-issuing refused (exit
#      1, store unchanged); CRLs: after notAfter published with a warning (stderr + audit),
#      before notBefore refused
#   5  time never runs backwards unnoticed: a CRL with a future thisUpdate (fast clock) is
#      replaced on the next run; a thisUpdate before the last one's is refused unless --force;
#      doctor flags a future thisUpdate; audit list flags a clock step back
#   9  the audit log records a CRL publication as ok only once the file is in place
# Clocks are moved with OFFCA_TEST_NOW (read by the test build only); nothing waits for real time.
. "$(dirname "$0")/common.sh"
offca_setup faults-b
URI() { echo "pkcs11:token=faults-b;object=$1;type=private"; }
NOW=$(date +%s)
DAY=86400
# the test build (build/offca-test) alone reads OFFCA_TEST_NOW
at() { local t=$1; shift; env OFFCA_TEST_NOW="$t" "$OFFCA_TEST_BIN" -c "$T/ca.toml" "$@"; }
ncerts() { oc --json list --ca "$1" | grep -o '"serial"' | wc -l; }
naudit() { oc --json audit list | grep -o '"seq"' | wc -l; }
csr() { # csr NAME -> $T/NAME.csr
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/$1.key" \
        -subj "/CN=$1" -out "$T/$1.csr" 2>/dev/null
}
epoch() { date -u -d "$1" +%s; }
crl_last() { epoch "$(openssl crl -inform DER -in "$1" -noout -lastupdate | cut -d= -f2)"; }
crl_num() { local h; h=$(openssl crl -inform DER -in "$1" -noout -crlnumber | cut -d= -f2); echo $((16#${h#0x})); }

oc init >/dev/null
for k in root short; do oc key generate --label $k --alg p256 >/dev/null; done
# the root was made a month ago (a CRL thisUpdate is never before its issuer's notBefore)
at $((NOW - 30 * DAY)) ca create-root root --key "$(URI root)" --subject 'CN=Faults Root' >/dev/null
# "short": an issuing CA valid 10 days from now (its notBefore is now - clock_skew)
oc ca create-issuing short --parent root --key "$(URI short)" --subject 'CN=Faults Short' \
    --days 10 >/dev/null
oc ca export short -o "$T/short.pem"
SNB=$(epoch "$(openssl x509 -in "$T/short.pem" -noout -startdate | cut -d= -f2)")
SNA=$(epoch "$(openssl x509 -in "$T/short.pem" -noout -enddate | cut -d= -f2)")
csr a

# ---- 2: certificates outside the issuer's validity ----
before=$(ncerts short)
expect_rc 1 "sign with the clock after the CA's notAfter is refused" -- \
    at $((SNA + DAY)) sign --ca short --template vpn-server --csr "$T/a.csr" --san dns:a.example \
    -o "$T/late.pem"
expect_in "after the CA certificate's validity" "  ... naming the CA's validity"
expect_in "renew the CA" "  ... and saying what to do"
check "  ... no file written" test ! -e "$T/late.pem"
expect_rc 1 "sign with the clock before the CA's notBefore is refused" -- \
    at $((SNB - DAY)) sign --ca short --template vpn-server --csr "$T/a.csr" --san dns:a.example \
    -o "$T/early.pem"
expect_in "before the CA certificate's validity" "  ... naming the CA's validity"
expect_in "fix the system clock" "  ... and saying what to do"
# half a day before the CA ends: capped to 12 hours, below the template's min_days = 1
expect_rc 1 "sign whose capped validity is below min_days is refused" -- \
    at $((SNA - DAY / 2)) sign --ca short --template vpn-server --csr "$T/a.csr" \
    --san dns:a.example -o "$T/short.pem.out"
expect_in "below the template 'vpn-server' minimum of 1 days" "  ... naming min_days"
printf '{"csr":"%s/a.csr","san":["dns:a.example"],"out":"%s/b1.pem"}\n' "$T" "$T" >"$T/m.jsonl"
expect_rc 1 "sign --batch with the clock after the CA's notAfter: the entry is refused" -- \
    at $((SNA + DAY)) sign --ca short --template vpn-server --batch "$T/m.jsonl"
expect_in "after the CA certificate's validity" "  ... with the same reason"
check "  ... no certificate recorded by any of them" test "$(ncerts short)" -eq "$before"
# inside the validity, capped: issued, notAfter = the CA's, notBefore never before the CA's
expect_rc 0 "sign 3 days before the CA ends: capped, issued" -- \
    at $((SNA - 3 * DAY)) sign --ca short --template vpn-server --csr "$T/a.csr" \
    --san dns:a.example -o "$T/capped.pem"
expect_in "validity capped" "  ... with the cap said"
LNB=$(epoch "$(openssl x509 -in "$T/capped.pem" -noout -startdate | cut -d= -f2)")
LNA=$(epoch "$(openssl x509 -in "$T/capped.pem" -noout -enddate | cut -d= -f2)")
check "  ... notAfter is the CA's" test "$LNA" -eq "$SNA"
check "  ... notBefore <= notAfter and inside the CA's validity" \
    test "$LNB" -le "$LNA" -a "$LNB" -ge "$SNB"
expect_rc 0 "sign right after the CA was made: notBefore is not before the CA's" -- \
    at $((SNB + 60)) sign --ca short --template vpn-server --csr "$T/a.csr" \
    --san dns:a.example -o "$T/fresh.pem"
FNB=$(epoch "$(openssl x509 -in "$T/fresh.pem" -noout -startdate | cut -d= -f2)")
check "  ... notBefore $FNB >= the CA's $SNB" test "$FNB" -ge "$SNB"
RNB=$(epoch "$(oc ca export root -o - | openssl x509 -noout -startdate | cut -d= -f2)")
oc key generate --label early --alg p256 >/dev/null
expect_rc 1 "create-issuing with the clock before the parent's notBefore is refused" -- \
    at $((RNB - DAY)) ca create-issuing early --parent root --key "$(URI early)" \
    --subject 'CN=Early'
expect_in "before the parent 'root' certificate's validity" "  ... naming the parent's validity"
check "  ... no CA recorded" eval '! oc ca show early >/dev/null 2>&1'

# ---- 2: CRLs outside the CA's validity ----
expect_rc 1 "crl publish with the clock before the CA's notBefore is refused" -- \
    at $((SNB - DAY)) crl publish --ca short
expect_in "no CRL was signed; fix the system clock" "  ... saying why and what to do"
check "  ... no CRL file" test ! -e "$T/pub/short.crl"
expect_rc 0 "crl publish after the CA's notAfter still publishes" -- \
    at $((SNA + DAY)) crl publish --ca short
expect_in "THE CA CERTIFICATE EXPIRED" "  ... with a loud warning on stderr"
check "  ... and in the audit record" eval \
    'oc audit list | grep crl.sign | tail -n 1 | grep -q warning=ca-certificate-expired'

# ---- 5: a CRL made with a fast clock ----
oc crl publish --ca root >/dev/null
FAST=$((NOW + 2 * DAY))
expect_rc 0 "crl publish --force with a clock 2 days fast" -- at $FAST crl publish --ca root --force
N1=$(crl_num "$T/pub/root.crl")
check "  ... CRL $N1 has a thisUpdate in the future" test "$(crl_last "$T/pub/root.crl")" -gt "$NOW"
expect_rc 1 "doctor flags the future thisUpdate of offca's own CRL" -- oc doctor
expect_in "root.crl has thisUpdate" "  ... the root's own CRL file, by name"
# 9: the fix texts name the CA as offca knows it (--ca root), never its subject CN
expect_in "crl publish --ca root" "  ... the fix names the CA: --ca root"
check "  ... never its subject CN" eval '! printf "%s" "$OUT" | grep -q -- "--ca .Faults Root"'
expect_rc 0 "the next cron run with the right clock replaces it" -- oc crl publish --ca root
expect_in "in the future" "  ... saying why"
N2=$(crl_num "$T/pub/root.crl")
check "  ... with a higher number ($N2 > $N1)" test "$N2" -gt "$N1"
check "  ... and thisUpdate now - skew (not in the future)" \
    test "$(crl_last "$T/pub/root.crl")" -le "$(date +%s)"
check "  ... the audit record says it replaced a future thisUpdate" eval \
    'oc audit list | grep crl.sign | tail -n 1 | grep -q replaced-future-thisUpdate'
expect_rc 0 "then nothing is due" -- oc crl publish --ca root
expect_in "is current" "  ... it says so"
# a revocation makes a CRL due; the clock is 5 minutes behind the last publication (less than
# the 10-minute skew allowance, so the last CRL's thisUpdate is not in the future)
SSER=$(openssl x509 -in "$T/short.pem" -noout -serial | cut -d= -f2)
oc revoke --ca root --serial "$SSER" --reason superseded >/dev/null
cp "$T/pub/root.crl" "$T/root.crl.before"
BACK=$(( $(date +%s) - 300 ))
expect_rc 1 "a thisUpdate before the last CRL's is refused" -- at $BACK crl publish --ca root
expect_in "the clock went back" "  ... saying why"
expect_in "--force" "  ... and the way past it"
check "  ... the published CRL is unchanged" cmp -s "$T/pub/root.crl" "$T/root.crl.before"
expect_rc 0 "--force publishes it all the same" -- at $BACK crl publish --ca root --force
expect_in "is before CRL" "  ... with a warning"
check "  ... and a warning in the audit record" eval \
    'oc audit list | grep crl.sign | tail -n 1 | grep -q forced-thisUpdate-backwards'
check "  ... the audit log says the step back" eval 'oc audit list | grep -q "clock went back"'
check "  ... audit list --json flags it too" eval \
    'oc --json audit list | grep -q "\"clock_back\":true"'

# ---- 9: crl.publish ok only when the file is in place ----
# a directory where root.crl belongs: the rename fails whoever runs the test (root included)
oc crl publish --ca root --force >/dev/null
rm -f "$T/pub/root.crl"; mkdir "$T/pub/root.crl"
expect_rc 4 "crl publish when the CRL cannot be put in place fails" -- oc crl publish --ca root --force
check "  ... the audit log records the failure, not ok" eval \
    'oc audit list | grep crl.publish | tail -n 1 | grep -q " fail "'
rmdir "$T/pub/root.crl"
expect_rc 0 "crl publish once it can" -- oc crl publish --ca root
check "  ... recorded ok after the file is in place" eval \
    'oc audit list | grep crl.publish | tail -n 1 | grep -q " ok "'
# ---- 9: export -o onto an existing file ----
ASER=$(openssl x509 -in "$T/capped.pem" -noout -serial | cut -d= -f2)
(umask 077; echo "keep me" >"$T/precious")
expect_rc 2 "export -o onto an existing file is refused" -- oc export "$ASER" -o "$T/precious"
expect_in "exists" "  ... saying it exists"
expect_in "--force" "  ... and the way to replace it"
check "  ... the file is untouched (content)" test "$(cat "$T/precious")" = "keep me"
check "  ... the file is untouched (mode 0600)" test "$(stat -c %a "$T/precious")" = 600
expect_rc 2 "ca export -o onto an existing file is refused" -- oc ca export root -o "$T/precious"
check "  ... the file is untouched" test "$(cat "$T/precious")" = "keep me"
expect_rc 0 "export -o --force replaces it" -- oc export "$ASER" -o "$T/precious" --force
check "  ... with the certificate" cmp -s "$T/precious" "$T/capped.pem"
expect_rc 0 "ca export -o --force replaces it" -- oc ca export root -o "$T/precious" --force

# ---- 9: a CDP / Freshest CRL URL over the limit is refused, never cut ----
LONG="http://pki.example.com/$(printf 'p%.0s' $(seq 1 1100)).crl"
sed "s|^\[templates\]|[ca.root]\ncdp_url = \"$LONG\"\ndelta_period = \"1d\"\n[templates]|" \
    "$T/ca.toml" >"$T/long.toml"
expect_rc 3 "a cdp_url of 1127 bytes is refused when ca.toml is read" -- \
    "$OFFCA" -c "$T/long.toml" ca list
expect_in "over the 1000-byte limit" "  ... naming the limit"
sed "s|^base_url = .*|base_url = \"http://pki.example.com/$(printf 'b%.0s' $(seq 1 990))\"|" \
    "$T/ca.toml" >"$T/longbase.toml"
expect_rc 3 "a base_url that leaves no room for /NAME.crl is refused" -- \
    "$OFFCA" -c "$T/longbase.toml" ca list

# ---- 9: a key another CA already uses ----
expect_rc 1 "a new CA with the key of CA 'short' is refused" -- \
    oc ca create-issuing twin --parent root --key "$(URI short)" --subject CN=Twin
expect_in "already the key of CA 'short'" "  ... naming the CA that uses it"
expect_in "--reuse-key" "  ... and the way to mean it"
check "  ... no CA recorded" eval '! oc ca show twin >/dev/null 2>&1'
expect_rc 0 "--reuse-key creates it, with a warning" -- \
    oc ca create-issuing twin --parent root --key "$(URI short)" --subject CN=Twin --reuse-key
expect_in "compromise of one is a compromise of both" "  ... the warning"

# ---- 9: two tokens with one label ----
mkdir -p "$T/dup/tokens"
printf 'directories.tokendir = %s/dup/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$T" \
    >"$T/dup/softhsm2.conf"
for i in 1 2; do
    SOFTHSM2_CONF="$T/dup/softhsm2.conf" softhsm2-util --init-token --free --label twin \
        --so-pin 87654321 --pin 1234 >/dev/null
done
sed 's|^token = .*|token = "twin"|' "$T/ca.toml" >"$T/dup.toml"
SERIALS=$(SOFTHSM2_CONF="$T/dup/softhsm2.conf" softhsm2-util --show-slots | awk '/Serial number:/ {print $3}' | sort -u)
OUT=$(SOFTHSM2_CONF="$T/dup/softhsm2.conf" "$OFFCA" -c "$T/dup.toml" key list 2>"$T/.err"); RC=$?
ERR=$(cat "$T/.err")
check "two tokens labelled 'twin': refused (exit $RC)" test "$RC" -ne 0
expect_in "ambiguous" "  ... as ambiguous"
for sn in $SERIALS; do expect_in "$sn" "  ... naming serial $sn"; done
expect_in "token_serial" "  ... and the fix (token_serial)"

expect_rc 0 "audit verify: intact" -- oc audit verify
t_done
