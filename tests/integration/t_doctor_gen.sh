#!/bin/bash
# Issue 12, `offca doctor` and generations: a warning with the renew command N days before the
# active CA certificate expires ([ca.NAME] renew_warning; default 90 days issuing, 2 years
# roots); new certificates the CA's end would cut short, and by how much; every key generation
# that still publishes must have its own CRL (NAME(k).crl) present and signed by its key.
. "$(dirname "$0")/common.sh"
# The test clock (OFFCA_TEST_NOW) is read only by the test build: every command runs it.
octb() { "$OFFCA_TEST_BIN" -c "$T/ca.toml" "$@"; }
offca_setup doctor-gen
URI() { echo "pkcs11:token=doctor-gen;object=$1;type=private"; }
# one fixed clock for the whole script: the day counts below are exact, whatever the machine speed
export OFFCA_TEST_NOW=$(date +%s)
octb init >/dev/null
for k in root iss iss2; do octb key generate --label $k --alg p256 >/dev/null; done
octb ca create-root root --key "$(URI root)" --subject 'CN=Doc Root' --days 700 >/dev/null
octb ca create-issuing iss --parent root --key "$(URI iss)" --subject 'CN=Doc Iss' --days 60 >/dev/null
octb crl publish >/dev/null
end() { openssl x509 -in <(octb ca export "$1") -noout -enddate | cut -d= -f2; }
lacks() { ! grep -q "$1" <<<"$OUT"; }
left() { echo $(( ($(date -d "$(end "$1")" +%s) - OFFCA_TEST_NOW) / 86400 )); }

expect_rc 0 "doctor: warnings only" -- octb doctor
check "the CA certificates end exactly --days after the test clock" test "$(left iss):$(left root)" = 60:700
check "issuing CA 60 days from its end: warned with the renew command" grep -q \
    "^warning iss: CA certificate expiry: the active certificate expires on .* ($(left iss) days; warning from 90 days before); renew it now: 'offca ca renew iss --same-key'" <<<"$OUT"
check "root 700 days from its end: warned (roots: 2 years)" grep -q \
    "^warning root: CA certificate expiry: .*($(left root) days; warning from 730 days before)" <<<"$OUT"
check "certificates issued now would be capped: says how short" grep -q \
    "^warning iss: certificate validity capped by the CA: certificates issued now end with the CA certificate in $(left iss) days, not the" <<<"$OUT"
cat >>"$T/ca.toml" <<TOML
[ca.root]
renew_warning = "30d"
TOML
expect_rc 0 "doctor with [ca.root] renew_warning = 30d" -- octb doctor
check "the root is no longer warned" lacks '^warning root: CA certificate expiry'

# ---- every live key generation's CRL ----
octb ca renew iss --new-key "$(URI iss2)" --days 50 >/dev/null
expect_rc 1 "doctor after a new-key renewal, before publishing" -- octb doctor
expect_in "no CRL published at $T/pub/iss(1).crl" "the new key's CRL is missing"
check "the old key's CRL is still there (no error for iss.crl)" lacks "no CRL published at $T/pub/iss.crl"
expect_rc 0 "crl publish" -- octb crl publish
expect_rc 0 "doctor: both generations' CRLs present and signed by their keys" -- octb doctor
check "0 errors" grep -q '^0 error(s)' <<<"$OUT"
cp "$T/pub/iss(1).crl" "$T/k1.crl"; cp "$T/pub/iss.crl" "$T/pub/iss(1).crl"
expect_rc 1 "doctor: key 1's CRL replaced by key 0's" -- octb doctor
expect_in "iss(1).crl is not a DER CRL signed by this CA" "a CRL signed by another generation's key is an error"
cp "$T/k1.crl" "$T/pub/iss(1).crl"
octb ca retire iss >/dev/null
rm "$T/pub/iss.crl"
expect_rc 1 "doctor still checks a retired CA's live CRLs" -- octb doctor
expect_in "no CRL published at $T/pub/iss.crl" "the retired CA's key 0 CRL is checked"
t_done
