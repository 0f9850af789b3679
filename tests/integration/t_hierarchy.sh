#!/bin/bash
# Issue 2: store, token, keys, a two-level hierarchy judged by openssl verify -x509_strict and
# GnuTLS, pkcs11-tool's view of the keys, and every bad input with its exit code and message.
. "$(dirname "$0")/common.sh"
offca_setup offca-it
URI() { echo "pkcs11:token=offca-it;object=$1;type=private"; }

expect_rc 0 "init creates the store" -- oc init
expect_in "created" "init says it created the store"
check "store directory is 0700" test "$(stat -c %a "$T/store")" = 700
check "store data file is 0600" test "$(stat -c %a "$T/store/data.mdb")" = 600
expect_rc 0 "init again is idempotent" -- oc init
expect_in "existing" "second init only checks"

for k in root:rsa3072 issuing:p384 root2:p384 issuing2:rsa2048 ext:rsa2048; do
    expect_rc 0 "key generate ${k#*:}" -- oc key generate --label "${k%%:*}" --alg "${k#*:}"
done
expect_in "pkcs11:" "key generate prints the URI"
expect_rc 1 "duplicate key label refused" -- oc key generate --label root --alg p256
expect_in "root" "duplicate label message names the label"
expect_rc 2 "unknown algorithm is a usage error" -- oc key generate --label x --alg rsa1024
expect_rc 0 "key list" -- oc key list
expect_in "never-extractable" "key list shows the protection attributes"
P11=$(pkcs11-tool --module "$SOFTHSM_MODULE" --token-label offca-it --login --pin 1234 \
      --list-objects --type privkey 2>/dev/null)
check "pkcs11-tool: keys are sensitive" grep -q "sensitive" <<<"$P11"
check "pkcs11-tool: keys never extractable" grep -q "never extractable" <<<"$P11"
check "pkcs11-tool: usage sign only" bash -c "! grep -qiE 'usage:.*(decrypt|unwrap|derive)' <<<'$P11'"

expect_rc 0 "create-root RSA-3072" -- oc ca create-root root --key "$(URI root)" \
    --subject 'CN=Contoso Root CA,O=Contoso\, Ltd.,DC=contoso,DC=com' --days 3650
expect_rc 0 "create-issuing P-384 under it" -- oc ca create-issuing issuing --parent root \
    --key "$(URI issuing)" --subject 'CN=Contoso Issuing CA 1,DC=contoso,DC=com' --days 1000 \
    --path-len 0
oc ca export root -o "$T/root.pem"; oc ca export issuing -o "$T/issuing.pem"
expect_rc 0 "openssl verify -x509_strict accepts the chain" -- \
    openssl verify -x509_strict -CAfile "$T/root.pem" "$T/issuing.pem"
ISERIAL=$(openssl x509 -in "$T/issuing.pem" -noout -serial | cut -d= -f2 | tr A-F a-f)
expect_rc 0 "the issuing CA certificate is recorded under its parent" -- oc list --ca root
check "list --ca root shows the issuing CA's serial" grep -q "^$ISERIAL " <<<"$OUT"
TXT=$(openssl x509 -in "$T/issuing.pem" -noout -text)
check "issuing: CDP is <base_url>/root.crl" grep -q "URI:http://127.0.0.1:18080/pki/root.crl" <<<"$TXT"
check "issuing: AIA caIssuers is <base_url>/root.crt" grep -q "CA Issuers - URI:http://127.0.0.1:18080/pki/root.crt" <<<"$TXT"
check "issuing: basicConstraints critical CA:TRUE pathlen 0" grep -A1 -q "Basic Constraints: critical" <<<"$TXT"
check "issuing: pathlen:0" grep -q "CA:TRUE, pathlen:0" <<<"$TXT"
check "issuing: AKID present" grep -q "Authority Key Identifier" <<<"$TXT"
check "issuing: signed with sha256WithRSAEncryption by the RSA root" grep -q "sha256WithRSAEncryption" <<<"$TXT"
RTXT=$(openssl x509 -in "$T/root.pem" -noout -text)
check "root: keyUsage critical with keyCertSign and cRLSign" grep -A1 "Key Usage: critical" <<<"$RTXT" 
check "root: Certificate Sign, CRL Sign" grep -q "Certificate Sign, CRL Sign" <<<"$RTXT"
check "root: no CDP" bash -c "! grep -q 'CRL Distribution' <<<'$RTXT'"
check "root: subject keeps the escaped comma" grep -q 'O = "Contoso, Ltd."' <<<"$RTXT"
check "GnuTLS certtool parses the issuing CA" certtool -i --infile "$T/issuing.pem" >/dev/null 2>&1
check "GnuTLS certtool verifies the chain" bash -c "cat '$T/issuing.pem' '$T/root.pem' | certtool --verify-chain >/dev/null 2>&1"

expect_rc 0 "P-384 root with sha384" -- oc ca create-root root2 --key "$(URI root2)" \
    --subject 'CN=Root 2,O=Fabrikam' --hash sha384
expect_rc 0 "RSA-2048 issuing CA that signs with RSA-PSS" -- oc ca create-issuing issuing2 \
    --parent root2 --key "$(URI issuing2)" --subject 'CN=Issuing 2,O=Fabrikam' --sig rsa-pss
oc ca export root2 -o "$T/root2.pem"; oc ca export issuing2 --chain -o "$T/chain2.pem"
expect_rc 0 "openssl verify -x509_strict on the P-384/RSA chain" -- \
    openssl verify -x509_strict -CAfile "$T/root2.pem" "$T/chain2.pem"
check "issuing2 signed with ecdsa-with-SHA384" bash -c "openssl x509 -in '$T/chain2.pem' -noout -text | grep -q ecdsa-with-SHA384"
expect_rc 0 "ca show --json" -- oc ca show issuing2 --json
check "show --json names the signature scheme rsa-pss" grep -q '"sig":"rsa-pss"' <<<"$OUT"
expect_rc 0 "ca list --json" -- oc --json ca list
check "list --json has four CAs" test "$(grep -o '"name"' <<<"$OUT" | wc -l)" = 4

# RSA-PSS certificates issued BY issuing2: a leaf-like CA cert proves the PSS path end to end.
oc key generate --label sub3 --alg p256 >/dev/null
expect_rc 0 "a CA signed with RSA-PSS" -- oc ca create-issuing sub3 --parent issuing2 \
    --key "$(URI sub3)" --subject 'CN=Sub 3' --days 30
oc ca export sub3 -o "$T/sub3.pem"
check "RSA-PSS signature shown by openssl" bash -c "openssl x509 -in '$T/sub3.pem' -noout -text | grep -q rsassaPss"
expect_rc 0 "openssl verifies the RSA-PSS signed certificate" -- \
    openssl verify -x509_strict -CAfile "$T/root2.pem" -untrusted "$T/chain2.pem" "$T/sub3.pem"

# ---- bad input: message, exit code, nothing stored ----
before=$(oc --json ca list)
expect_rc 1 "child outliving its parent refused" -- oc ca create-issuing long --parent issuing \
    --key "$(URI ext)" --subject 'CN=Long' --days 5000
expect_in "outlive the parent" "outliving message"
expect_rc 2 "unknown parent" -- oc ca create-issuing x --parent nosuch --key "$(URI ext)" --subject CN=x
expect_in "nosuch" "unknown parent message names it"
expect_rc 3 "DN syntax error" -- oc ca create-root x --key "$(URI ext)" --subject 'CN=a,,O=b'
expect_rc 3 "DN unknown attribute type" -- oc ca create-root x --key "$(URI ext)" --subject 'XYZ=a'
expect_rc 1 "ECDSA requested on an RSA key" -- oc ca create-root x --key "$(URI ext)" --subject CN=x --sig ecdsa
expect_rc 3 "unknown key label" -- oc ca create-root x --key "$(URI nosuchkey)" --subject CN=x
expect_in "nosuchkey" "unknown key message names the label"
expect_rc 2 "bad CA name" -- oc ca create-root 'a/b' --key "$(URI ext)" --subject CN=x
expect_rc 1 "existing CA name refused" -- oc ca create-root root --key "$(URI ext)" --subject CN=x
check "nothing was stored by the refused commands" test "$(oc --json ca list)" = "$before"

cp "$T/ca.toml" "$T/bad.toml"
echo 'colour = "blue"' >>"$T/bad.toml"
expect_rc 3 "unknown config key" -- "$OFFCA" -c "$T/bad.toml" ca list
expect_in "colour" "unknown key named"
printf '[store]\npath = "x\n' >"$T/bad2.toml"
expect_rc 3 "malformed TOML" -- "$OFFCA" -c "$T/bad2.toml" ca list
expect_in "bad2.toml:2:" "malformed TOML names file:line"

sed "s|pin_file = .*|pin_file = \"$T/wrongpin\"|" "$T/ca.toml" >"$T/wp.toml"
(umask 077; echo 9999 >"$T/wrongpin")
expect_rc 4 "wrong PIN fails" -- "$OFFCA" -c "$T/wp.toml" key list
expect_in "CKR_PIN_INCORRECT" "wrong PIN message names the error"
expect_in "offca-it" "wrong PIN message names the token"
expect_rc 0 "token still usable with the right PIN" -- oc key list
chmod 644 "$T/wrongpin"
expect_rc 1 "world-readable pin_file refused" -- "$OFFCA" -c "$T/wp.toml" key list
expect_in "chmod" "pin_file message says how to fix"
sed "s|token = .*|token = \"nosuchtoken\"|" "$T/ca.toml" >"$T/wt.toml"
expect_rc 4 "wrong token label" -- "$OFFCA" -c "$T/wt.toml" key list
expect_in "nosuchtoken" "wrong token message names it"
sed "s|module = .*|module = \"/nonexistent/libp11.so\"|" "$T/ca.toml" >"$T/wm.toml"
expect_rc 4 "missing module" -- "$OFFCA" -c "$T/wm.toml" key list
expect_in "/nonexistent/libp11.so" "missing module message names the path"

# ---- parent outside offca: csr + import ----
oc key generate --label ext2 --alg p256 >/dev/null
expect_rc 0 "ca csr" -- oc ca csr ext2 --key "$(URI ext2)" --subject 'CN=External Issuing' -o "$T/ext2.csr"
check "the request verifies" openssl req -in "$T/ext2.csr" -verify -noout
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/xroot.key" \
    -subj '/CN=Outside Root' -days 3650 -out "$T/xroot.pem" 2>/dev/null
printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n' >"$T/ext.cnf"
openssl x509 -req -in "$T/ext2.csr" -CA "$T/xroot.pem" -CAkey "$T/xroot.key" -days 365 \
    -extfile "$T/ext.cnf" -out "$T/ext2.pem" 2>/dev/null
expect_rc 0 "ca import (no CDP: warns)" -- oc ca import ext2 --cert "$T/ext2.pem" --chain "$T/xroot.pem"
expect_in "NO CDP" "import warns loudly about the missing CDP"
expect_rc 1 "import of a certificate for another key refused" -- oc ca import issuing-x \
    --cert "$T/issuing.pem" --chain "$T/root.pem" --key "$(URI ext)"
expect_rc 0 "ca export --ntauth for the issuing CA" -- oc ca export issuing --ntauth
check "ntauth: the root goes to RootCA" grep -q "^certutil -dspublish -f root.cer RootCA$" <<<"$OUT"
check "ntauth: the issuing CA goes to SubCA" grep -q "^certutil -dspublish -f issuing.cer SubCA$" <<<"$OUT"
check "ntauth: the issuing CA goes to NTAuthCA" grep -q "^certutil -dspublish -f issuing.cer NTAuthCA$" <<<"$OUT"
expect_rc 0 "ca export --ntauth for an imported CA" -- oc ca export ext2 --ntauth
if grep -q '^certutil.*RootCA' <<<"$OUT"; then notok "ntauth: an outside root is not published as RootCA by offca" "$OUT"
else ok "ntauth: an outside root is not published as RootCA by offca"; fi
# Every certificate and CRL this script made lints clean (offca lint, each with its issuer).
# (xroot.pem and ext2.pem are the outside root and the CA it signed, made by openssl here.)
shopt -s nullglob
files=()
for f in "$T"/*.pem "$T"/*.der "$T"/*.crt "$T"/*.cer "$T"/*.crl "$T"/pub/*.crt "$T"/pub/*.crl; do
    case $(basename "$f") in xroot.pem|ext2.pem) ;; *) files+=("$f") ;; esac
done
shopt -u nullglob
lint_clean lint "${files[@]}"
t_done
