#!/bin/bash
# Issue 4, relying parties over real HTTP: CRLs published by offca, served by a web server on
# 127.0.0.1, downloaded and judged by `openssl verify -crl_download -crl_check_all` and by
# `offca doctor --chain --fetch`; revocation of a leaf and of an issuing CA (from its root);
# --no-cdp making NPS's check fail with reason 258; IDP only where asked and never on a root;
# revoke/unrevoke exit codes and messages; `ca export --ntauth`.
. "$(dirname "$0")/common.sh"
. "$(dirname "$0")/relying.sh"

# ---- a web server on a free port (its URL is baked into the certificates) ----
start_http "$T/pub" || skip_all "the HTTP server (python3 -m http.server) did not start"
offca_setup crl-http
cat >>"$T/ca.toml" <<TOML
[ca.root]
crl_period = "90d"
crl_overlap = "30d"
crl_idp = true
[ca.iss2]
crl_idp = true
TOML
URI() { echo "pkcs11:token=crl-http;object=$1;type=private"; }
URL=$HTTP_URL
ser() { openssl x509 -in "$1" -noout -serial | cut -d= -f2; }
leaf() { # leaf CA NAME: a vpn-server certificate $T/NAME.pem issued by CA
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/$2.key" \
        -subj "/CN=$2" -out "$T/$2.csr" 2>/dev/null
    oc sign --ca "$1" --template vpn-server --csr "$T/$2.csr" --san "dns:$2.example" \
        -o "$T/$2.pem" >/dev/null
}
verify() { # verify ISSUING.pem LEAF.pem [more openssl args]: downloads every CRL over HTTP
    local i=$1 l=$2; shift 2
    openssl verify -crl_download -crl_check_all -CAfile "$T/root.pem" -untrusted "$i" "$@" "$l"
}

oc init >/dev/null
for k in root iss iss2 iss3 nocdp; do oc key generate --label $k --alg p256 >/dev/null; done
oc ca create-root root --key "$(URI root)" --subject 'CN=HTTP Root' >/dev/null
for c in iss iss2 iss3; do
    oc ca create-issuing $c --parent root --key "$(URI $c)" --subject "CN=HTTP $c" >/dev/null
done
expect_rc 0 "an issuing CA without CDP can still be created (--no-cdp)" -- \
    oc ca create-issuing nocdp --parent root --key "$(URI nocdp)" --subject 'CN=HTTP nocdp' --no-cdp
for c in root iss iss2 iss3 nocdp; do oc ca export $c -o "$T/$c.pem"; done
leaf iss good; leaf iss bad; leaf iss2 g2; leaf iss3 g3; leaf nocdp gn
expect_rc 0 "crl publish (all CAs)" -- oc crl publish
for c in root iss iss2 iss3 nocdp; do
    check "$c.crl and $c.crt published" test -s "$T/pub/$c.crl" -a -s "$T/pub/$c.crt"
done
check "publish dir served over HTTP" bash -c "curl -sf '$URL/iss.crl' 2>/dev/null | cmp -s - '$T/pub/iss.crl' || python3 -c \"import urllib.request,sys; sys.exit(urllib.request.urlopen('$URL/iss.crl').read()!=open('$T/pub/iss.crl','rb').read())\""

# ---- openssl verify -crl_download -crl_check_all ----
expect_rc 2 "good leaf: -crl_check_all without a root CRL source stops only at the root (depth 2)" -- \
    verify "$T/iss.pem" "$T/good.pem"
expect_in "error 3 at 2 depth lookup: unable to get certificate CRL" \
    "the only missing CRL is the root's own (the root has no CDP; NPS does not check it)"
check "the leaf's CRL and the issuing CA's CRL were downloaded over HTTP" \
    grep -q '"GET /pki/iss.crl' "$T/http.log"
check "root.crl downloaded through the issuing CA's CDP" grep -q '"GET /pki/root.crl' "$T/http.log"
expect_rc 0 "good leaf passes -crl_check_all fully once root.crl (published by offca) is given" -- \
    verify "$T/iss.pem" "$T/good.pem" -CRLfile "$T/pub/root.crl"
expect_in "good.pem: OK" "openssl says OK"
expect_rc 0 "root.crl fetched over HTTP by its AIA/CDP name verifies against the root" -- \
    openssl crl -inform DER -in "$T/pub/root.crl" -CAfile "$T/root.pem" -noout
SBAD=$(ser "$T/bad.pem")
expect_rc 0 "revoke the bad leaf" -- oc revoke --ca iss --serial "$SBAD" --reason keyCompromise
expect_in "revoked: $SBAD of CA 'iss'" "revoke names serial and CA"
expect_rc 0 "publish after the revocation" -- oc crl publish
expect_in "iss: published CRL 2" "the issuing CA publishes CRL 2"
expect_in "root: CRL 1 is current" "the root has nothing to publish"
expect_rc 2 "revoked leaf: openssl verify fails" -- verify "$T/iss.pem" "$T/bad.pem" -CRLfile "$T/pub/root.crl"
expect_in "error 23 at 0 depth lookup: certificate revoked" "openssl reports the leaf revoked"
expect_rc 0 "the other leaf of the same CA stays good" -- verify "$T/iss.pem" "$T/good.pem" -CRLfile "$T/pub/root.crl"
cat "$T/iss.pem" "$T/root.pem" >"$T/iss-chain.pem"
cat "$T/bad.pem" "$T/iss-chain.pem" >"$T/bad-chain.pem"
expect_rc 1 "doctor --chain --fetch: the revoked leaf is an error" -- \
    oc doctor --chain "$T/bad-chain.pem" --fetch
expect_in "revoked on" "doctor says revoked"
expect_in "reason keyCompromise" "doctor gives the reason"
cat "$T/good.pem" "$T/iss-chain.pem" >"$T/good-chain.pem"
expect_rc 0 "doctor --chain --fetch: the good chain has no errors" -- \
    oc doctor --chain "$T/good-chain.pem" --fetch
expect_in "0 error(s)" "doctor counts no error"

# ---- --no-cdp: the issuing CA's own revocation cannot be checked ----
expect_rc 2 "--no-cdp chain: openssl fails at the issuing CA (depth 1), not the root" -- \
    verify "$T/nocdp.pem" "$T/gn.pem"
expect_in "error 3 at 1 depth lookup: unable to get certificate CRL" \
    "openssl cannot find a CRL for the issuing CA"
cat "$T/gn.pem" "$T/nocdp.pem" "$T/root.pem" >"$T/gn-chain.pem"
expect_rc 1 "doctor --chain --fetch on the --no-cdp chain exits 1" -- \
    oc doctor --chain "$T/gn-chain.pem" --fetch
check "doctor names the issuing CA and reason 258" \
    grep -q "^ERROR   HTTP nocdp: NPS revocation check: no HTTP CDP.*reason 258" <<<"$OUT"
expect_rc 1 "offca doctor (own CAs) flags the --no-cdp CA too" -- oc doctor
check "own doctor: the nocdp error, reason 258" grep -q "HTTP nocdp: NPS revocation check: no HTTP CDP.*reason 258" <<<"$OUT"
check "own doctor: the root's info line appears once (not once per chain)" \
    test "$(grep -c '^info    HTTP Root: root CA' <<<"$OUT")" = 1
check "own doctor: each issuing CA reported once" \
    test "$(grep -c '^ok      HTTP iss: ' <<<"$OUT")" = 1

# ---- IDP: only when asked, equal to the CDP, never on a self-signed root ----
T2=$(openssl crl -inform DER -in "$T/pub/iss2.crl" -noout -text)
check "crl_idp = true: iss2.crl has a critical IDP" grep -q "Issuing Distribution Point: critical" <<<"$T2"
check "iss2.crl's IDP equals the CDP URL of its certificates" grep -q "URI:$URL/iss2.crl" <<<"$T2"
check "the leaf's CDP is that same URL" bash -c "openssl x509 -in '$T/g2.pem' -noout -text | grep -q 'URI:$URL/iss2.crl'"
check "root.crl has no IDP although [ca.root] crl_idp = true" \
    bash -c "! openssl crl -inform DER -in '$T/pub/root.crl' -noout -text | grep -q 'Issuing Distribution'"
check "iss.crl (default) has no IDP" \
    bash -c "! openssl crl -inform DER -in '$T/pub/iss.crl' -noout -text | grep -q 'Issuing Distribution'"
expect_rc 0 "the IDP CRL passes openssl's CRL scope check (-crl_check_all, downloaded)" -- \
    verify "$T/iss2.pem" "$T/g2.pem" -CRLfile "$T/pub/root.crl"
cat "$T/g2.pem" "$T/iss2.pem" "$T/root.pem" >"$T/g2-chain.pem"
expect_rc 0 "doctor --chain --fetch accepts the IDP CRL" -- oc doctor --chain "$T/g2-chain.pem" --fetch

# ---- revoking an issuing CA from its root ----
S3=$(ser "$T/iss3.pem")
expect_rc 0 "revoke an issuing CA from its root" -- \
    oc revoke --ca root --serial "$S3" --reason cACompromise
expect_rc 0 "publish: the root's CRL changes" -- oc crl publish --ca root
expect_in "root: published CRL 2" "root publishes CRL 2"
check "root.crl lists the issuing CA with reason CA Compromise" bash -c \
    "openssl crl -inform DER -in '$T/pub/root.crl' -noout -text | grep -A4 'Serial Number: $S3' | grep -q 'CA Compromise'"
expect_rc 2 "a leaf under the revoked issuing CA fails openssl verify" -- \
    verify "$T/iss3.pem" "$T/g3.pem" -CRLfile "$T/pub/root.crl"
expect_in "error 23 at 1 depth lookup: certificate revoked" "openssl: the issuing CA is revoked (depth 1)"
expect_rc 1 "revoking it again is refused" -- oc revoke --ca root --serial "$S3"
expect_in "already revoked" "says already revoked"

# ---- revoke / unrevoke: exit codes, messages, nothing changed on refusal ----
SG=$(ser "$T/good.pem")
audit_n() { oc audit list | wc -l; }
A0=$(audit_n); L0=$(oc list --ca iss)
expect_rc 1 "unknown serial is refused (1)" -- oc revoke --ca iss --serial 0a0b0c
expect_in "unknown serial for CA 'iss'" "message: unknown serial"
expect_rc 1 "another CA's serial is refused (1)" -- oc revoke --ca iss2 --serial "$SG"
expect_in "issued by CA 'iss', not 'iss2'" "message names the issuing CA"
expect_rc 1 "already revoked is refused (1)" -- oc revoke --ca iss --serial "$SBAD"
expect_in "already revoked (reason 1)" "message: already revoked"
expect_rc 1 "unrevoke of a certificate not on hold is refused (1)" -- oc unrevoke --ca iss --serial "$SBAD"
expect_in "not on certificateHold" "message: only held certificates"
expect_rc 1 "unrevoke of an unknown serial is refused (1)" -- oc unrevoke --ca iss --serial 0a0b0c
expect_rc 2 "unknown CA is a usage error (2)" -- oc revoke --ca nosuch --serial "$SG"
expect_in "CA 'nosuch' is not in the store" "message: unknown CA"
expect_rc 2 "invalid CA name is a usage error (2)" -- oc revoke --ca 'a/b' --serial "$SG"
expect_rc 2 "bad serial syntax is a usage error (2)" -- oc revoke --ca iss --serial xyz
expect_in "not a hex serial number" "message: serial syntax"
expect_rc 2 "unknown reason is a usage error (2)" -- oc revoke --ca iss --serial "$SG" --reason fired
expect_rc 2 "removeFromCRL is not a revocation reason: usage error (2)" -- \
    oc revoke --ca iss --serial "$SG" --reason removeFromCRL
expect_in "use 'offca unrevoke'" "message points at unrevoke"
expect_rc 2 "bad invalidity date is a usage error (2)" -- \
    oc revoke --ca iss --serial "$SG" --invalidity-date 2026-13-01
expect_in "not RFC 3339 UTC" "message: date syntax"
expect_rc 2 "unrevoke takes no --reason" -- oc unrevoke --ca iss --serial "$SG" --reason superseded
check "refusals changed no certificate" test "$(oc list --ca iss)" = "$L0"
check "refusals wrote no audit record" test "$(audit_n)" = "$A0"
expect_rc 0 "revoke --help documents the exit codes" -- oc revoke --help
expect_in "1 refused, nothing changed (unknown serial for NAME" "help: 1 for refusals"
expect_in "4 store failure" "help: 4 for the store"
expect_rc 4 "a missing store is a store failure (4)" -- \
    "$OFFCA" -c <(sed "s#path = \"$T/store\"#path = \"$T/nostore\"#" "$T/ca.toml") \
    revoke --ca iss --serial "$SG"
expect_rc 0 "revoke with invalidity date" -- \
    oc revoke --ca iss --serial "$SG" --reason superseded --invalidity-date 2026-01-02T03:04:05Z
check "audit has the revocation records" bash -c "oc() { \"$OFFCA\" -c '$T/ca.toml' \"\$@\"; }; [ \$(oc audit list | grep -c cert.revoke) -ge 3 ]"
oc crl publish --ca iss >/dev/null
check "CRL entry carries the invalidity date" bash -c \
    "openssl crl -inform DER -in '$T/pub/iss.crl' -noout -text | grep -A6 'Serial Number: $SG' | grep -A1 'Invalidity Date' | grep -q 'Jan  2 03:04:05 2026'"
expect_rc 0 "audit chain still verifies" -- oc audit verify

# ---- ca export --ntauth ----
expect_rc 0 "ca export root --ntauth" -- oc ca export root --ntauth
expect_in "certutil -dspublish -f root.cer RootCA" "ntauth: root to RootCA"
expect_rc 0 "ca export iss --ntauth" -- oc ca export iss --ntauth
expect_in "certutil -dspublish -f iss.cer SubCA" "ntauth: issuing CA to SubCA"
expect_in "certutil -dspublish -f iss.cer NTAuthCA" "ntauth: issuing CA to NTAuthCA"
t_done
