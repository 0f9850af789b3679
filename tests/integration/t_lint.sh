#!/bin/bash
# Issue 10 (lint): `offca lint` on a hierarchy offca made (every shipped template, full and delta
# CRLs: all clean), on certificates and CRLs planted with openssl (exit 1, the lint id named),
# on unreadable input (exit 3, the other files still checked), --json, --rules, --help;
# `offca lint --store` on a real store; the lint before sign refusing a TBS (exit 1, its id and
# citation, nothing recorded, nothing published).
. "$(dirname "$0")/common.sh"
offca_setup lint-it
cat >>"$T/ca.toml" <<TOML
[ca.iss]
crl_period = "7d"
crl_overlap = "2d"
delta_period = "1d"
TOML
URI() { echo "pkcs11:token=lint-it;object=$1;type=private"; }
oc init >/dev/null
oc key generate --label root --alg rsa2048 >/dev/null
oc key generate --label iss --alg p256 >/dev/null
oc ca create-root root --key "$(URI root)" --subject 'CN=Lint Root,O=Contoso' --days 3650 >/dev/null
oc ca create-issuing iss --parent root --key "$(URI iss)" --subject 'CN=Lint Issuing,O=Contoso' \
    --days 1000 --path-len 0 >/dev/null
oc ca export root -o "$T/root.pem"; oc ca export iss -o "$T/iss.pem"
SID=S-1-5-21-1004336348-1177238915-682003330-1105
printf 'DNSHostName,UserPrincipalName,objectSid\npc42.contoso.com,,%s\n,alice@contoso.com,%s\n' \
    "$SID" "S-1-5-21-1004336348-1177238915-682003330-2201" >"$T/ad.csv"
oc directory import "$T/ad.csv" >/dev/null
req() { # req NAME CN: an EC P-256 CSR
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/$1.key" \
        -subj "/CN=$2" -out "$T/$1.csr" 2>/dev/null
}
req dev pc42.contoso.com; req user alice; req srv vpn.contoso.com; req auto pc43.contoso.com
sign() { local n=$1; shift; expect_rc 0 "issue $n" -- oc sign --ca iss "$@" -o "$T/$n.pem"; }
sign intune-device --template intune-device --csr "$T/dev.csr" --san dns:pc42.contoso.com
sign intune-device-manual --template intune-device-manual --csr "$T/dev.csr" \
    --san dns:pc42.contoso.com --sid "$SID"
sign intune-user --template intune-user --csr "$T/user.csr" --san upn:alice@contoso.com
sign smartcard-logon --template smartcard-logon --csr "$T/user.csr" --san upn:alice@contoso.com
sign autopilot --template autopilot-provisioning --csr "$T/auto.csr" --san dns:pc43.contoso.com
sign vpn-server --template vpn-server --csr "$T/srv.csr" --san dns:vpn.contoso.com
sign wifi-server --template wifi-server --csr "$T/srv.csr" --san dns:vpn.contoso.com
expect_rc 0 "first publication (full CRLs)" -- oc crl publish
cp "$T/pub/iss.crl" "$T/iss-1.crl"
ser=$(openssl x509 -in "$T/vpn-server.pem" -noout -serial | cut -d= -f2)
oc revoke --ca iss --serial "$ser" --reason keyCompromise >/dev/null
oc revoke --ca iss --serial "$(openssl x509 -in "$T/wifi-server.pem" -noout -serial | cut -d= -f2)" \
    --reason certificateHold >/dev/null
expect_rc 0 "publication after two revocations (full + delta)" -- oc crl publish
oc unrevoke --ca iss --serial "$(openssl x509 -in "$T/wifi-server.pem" -noout -serial | cut -d= -f2)" >/dev/null
expect_rc 0 "publication after the unrevoke (delta with removeFromCRL)" -- \
    env OFFCA_TEST_NOW=$(( $(date +%s) + 2 * 86400 )) "$OFFCA_TEST_BIN" -c "$T/ca.toml" crl publish
check "a delta CRL was published" test -s "$T/pub/iss+.crl"
check "the delta lists removeFromCRL" bash -c "openssl crl -inform DER -in '$T/pub/iss+.crl' -noout -text | grep -q 'Remove From CRL'"

# ---- everything offca made lints clean ----
shopt -s nullglob
lint_clean made "$T"/*.pem "$T"/*.crl "$T"/pub/*.crt "$T"/pub/*.crl
shopt -u nullglob
expect_rc 0 "lint of a leaf with --issuer: exit 0, nothing printed" -- \
    oc lint --issuer "$T/iss.pem" "$T/intune-device.pem" "$T/pub/iss.crl"
check "nothing on stdout for clean input" test -z "$OUT"
check "nothing on stderr either" test -z "$ERR"
expect_rc 0 "without --issuer the issuer lints are skipped, and said so" -- oc lint "$T/intune-device.pem"
expect_in "lints skipped (they compare with the issuer); give the issuing CA certificate with --issuer FILE" \
    "the skip note names --issuer"
expect_rc 0 "a self-signed root is its own issuer: no note" -- oc lint "$T/root.pem"
check "no skip note for the root" test -z "$ERR"

# ---- planted with openssl: exit 1, the lint id named ----
cat >"$T/bad.cnf" <<'CNF'
[req]
distinguished_name = dn
[dn]
[ku]
keyUsage = digitalSignature
subjectAltName = DNS:pc44.contoso.com
[wild]
keyUsage = critical,digitalSignature
subjectAltName = DNS:*.contoso.com
[dot]
keyUsage = critical,digitalSignature
subjectAltName = DNS:pc44.contoso.com.
[sidcrit]
keyUsage = critical,digitalSignature
subjectAltName = DNS:pc44.contoso.com
1.3.6.1.4.1.311.25.2 = critical,DER:303fa03d060a2b060104018237190201a02f042d532d312d352d32312d313030343333363334382d313137373233383931352d3638323030333333302d31313035
[anyeku]
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth,anyExtendedKeyUsage
subjectAltName = DNS:pc44.contoso.com
[cdp]
keyUsage = critical,digitalSignature
subjectAltName = DNS:pc44.contoso.com
crlDistributionPoints = URI:ftp://pki.contoso.com/iss.crl
CNF
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/x.key" \
    -subj /CN=x -x509 -days 30 -out "$T/xca.pem" 2>/dev/null
planted() { # planted FILE SECTION LINT-ID [openssl x509 options...]
    local f=$1 s=$2 id=$3; shift 3
    openssl x509 -req -in "$T/dev.csr" -CA "$T/xca.pem" -CAkey "$T/x.key" -days 5 \
        -extfile "$T/bad.cnf" -extensions "$s" "$@" -out "$T/bad-$f.pem" 2>/dev/null ||
        { notok "make bad-$f.pem"; return; }
    expect_rc 1 "planted $f: exit 1" -- oc lint --issuer "$T/xca.pem" "$T/bad-$f.pem"
    check "planted $f: '$id' named as an error" grep -q "^$T/bad-$f.pem: $id: error: " <<<"$OUT"
}
planted ku ku ku.critical
planted wild wild san.dns_wildcard
planted dot dot san.dns_trailing_dot
planted sidcrit sidcrit ms.sid_critical
planted anyeku anyeku eku.any
planted cdp cdp cdp.http
planted neg ku serial.positive -set_serial -5
expect_rc 0 "--allow-wildcard lets the wildcard through" -- \
    oc lint --allow-wildcard --issuer "$T/xca.pem" "$T/bad-wild.pem"
expect_rc 0 "--allow-any-eku lets anyExtendedKeyUsage through" -- \
    oc lint --allow-any-eku --issuer "$T/xca.pem" "$T/bad-anyeku.pem"
expect_rc 1 "another CA's certificate checked against the wrong issuer" -- \
    oc lint --issuer "$T/iss.pem" "$T/bad-ku.pem"
expect_in "name.issuer_match: error: issuer name differs" "issuer mismatch named"
expect_in "akid.match: error" "AKID mismatch named"
# a v1 CRL by openssl ca: no version, no number, no AKID
mkdir -p "$T/oca"; : >"$T/oca/index.txt"
cat >"$T/oca.cnf" <<CNF
[ca]
default_ca = c
[c]
database = $T/oca/index.txt
default_md = sha256
default_crl_days = 7
CNF
openssl ca -gencrl -config "$T/oca.cnf" -keyfile "$T/x.key" -cert "$T/xca.pem" -out "$T/v1.crl" 2>/dev/null
expect_rc 1 "planted v1 CRL: exit 1" -- oc lint --issuer "$T/xca.pem" "$T/v1.crl"
for id in crl.version crl.number crl.akid; do
    check "planted v1 CRL: '$id' named" grep -q "v1.crl: $id: error: " <<<"$OUT"
done
expect_rc 1 "the delta judged as a full CRL: the delta indicator is named" -- \
    oc lint --full --issuer "$T/iss.pem" "$T/pub/iss+.crl"
expect_in "crl.delta: error: deltaCRLIndicator on a full CRL" "crl.delta names the indicator"
n=$(openssl crl -inform DER -in "$T/pub/iss.crl" -noout -crlnumber | cut -d= -f2); n=${n#0x}
expect_rc 1 "--prev-number at the CRL's own number: not increasing" -- \
    oc lint --prev-number $((16#$n)) --issuer "$T/iss.pem" "$T/pub/iss.crl"
expect_in "crl.number_increasing: error" "crl.number_increasing named"

# ---- unreadable input: exit 3, the others still checked ----
printf 'not a certificate\n' >"$T/garbage.txt"
expect_rc 3 "garbage among good and bad files: exit 3" -- \
    oc lint --issuer "$T/xca.pem" "$T/garbage.txt" "$T/bad-ku.pem" "$T/missing.pem"
expect_in "garbage.txt: not a certificate or CRL" "garbage named"
expect_in "missing.pem" "missing file named"
check "the bad file after it was still checked" grep -q "bad-ku.pem: ku.critical" <<<"$OUT"
expect_rc 2 "no FILE: usage" -- oc lint
expect_rc 2 "--ca without --store: usage" -- oc lint --ca iss "$T/root.pem"
expect_rc 2 "--issuer that is a CRL: usage" -- oc lint --issuer "$T/pub/iss.crl" "$T/root.pem"

# ---- --json, --rules, --help ----
expect_rc 1 "--json" -- oc --json lint --issuer "$T/xca.pem" "$T/bad-ku.pem" "$T/bad-dot.pem"
check "--json: an array of two objects" test "$(jq length <<<"$OUT")" = 2
check "--json: ids, citations, severities" test "$(jq -r '.[0].findings[0] | "\(.id) \(.citation) \(.severity)"' <<<"$OUT")" = "ku.critical RFC 5280 4.2.1.3 error"
check "--json: error count" test "$(jq '.[1].errors' <<<"$OUT")" = 1
expect_rc 0 "--rules lists the table" -- oc lint --rules
check "--rules: every id once, cert and crl" test "$(grep -c -E '^(serial|cert|validity|name|san|ext|bc|ku|eku|akid|skid|cdp|aia|ms|crl)\.' <<<"$OUT")" -ge 60
expect_rc 0 "--help" -- oc lint --help
for w in --issuer --allow-wildcard --store --json --rules "Exit codes" Examples; do
    expect_in "$w" "--help mentions $w"
done

# ---- --store ----
# The wifi-server certificate carries the key of vpn-server, revoked above for keyCompromise:
# today's key gate (blocklist) finds it, with the command that revokes it.
wifi=$(openssl x509 -in "$T/wifi-server.pem" -noout -serial | cut -d= -f2 | tr A-F a-f)
expect_rc 1 "lint --store: the certificate whose key was revoked for keyCompromise" -- oc lint --store
expect_in "iss/$wifi: key.gate: error: key: blocked:" "--store: the key gate names the certificate and the rule"
expect_in "offca revoke --ca iss --serial $wifi --reason keyCompromise" "--store: the revoke command"
expect_in "valid certificates checked, 1 with errors" "--store summary: one hit"
expect_rc 1 "lint --store --ca iss --json" -- oc --json lint --store --ca iss
check "--store --json: one certificate, the key.gate finding" \
    test "$(jq -r '.[0].findings[0].id' <<<"$OUT")" = key.gate
oc revoke --ca iss --serial "$wifi" --reason keyCompromise >/dev/null
expect_rc 0 "lint --store after that revocation: clean" -- oc lint --store
check "--store: nothing printed on stdout" test -z "$OUT"
expect_in "valid certificates checked, 0 with errors" "--store summary: clean"
# Rules get stricter: intune-user now takes RSA keys only, so its P-256 certificate no longer
# passes today's key gate (the template's key policy); then the template is put back.
cp "$T/templates/intune-user.toml" "$T/intune-user.toml.orig"
sed -i 's/^\[key\]$/[key]\ntypes = ["rsa"]/' "$T/templates/intune-user.toml"
user=$(openssl x509 -in "$T/intune-user.pem" -noout -serial | cut -d= -f2 | tr A-F a-f)
expect_rc 1 "lint --store after a template grew stricter" -- oc lint --store
expect_in "iss/$user: key.gate: error:" "--store: the certificate the stricter template no longer allows"
cp "$T/intune-user.toml.orig" "$T/templates/intune-user.toml"

# ---- after the CA's end nothing is signed: the issuance validity rule refuses first (exit 1),
# and the lint (validity.order, proven in tests/unit/templates/test_lint.c) stands behind it ----
NA=$(date -d "$(openssl x509 -in "$T/iss.pem" -noout -enddate | cut -d= -f2)" +%s)
req late vpn2.contoso.com      # srv's key was revoked for keyCompromise above: the key gate blocks it
before=$(oc --json list | jq length)
expect_rc 1 "signing after the CA's end: refused" -- env OFFCA_TEST_NOW=$((NA + 86400)) \
    "$OFFCA_TEST_BIN" -c "$T/ca.toml" sign --ca iss --template vpn-server --csr "$T/late.csr" \
    --san dns:vpn2.contoso.com -o "$T/late.pem"
expect_in "RFC 5280 validity: the clock" "the refusal names the rule and the CA's validity"
check "nothing written" test ! -e "$T/late.pem"
check "nothing recorded" test "$(oc --json list | jq length)" = "$before"
t_done
