#!/bin/bash
# Issue 12, root rollover: `ca renew ROOT --new-key` makes the RFC 4210 4.4 link certificates
# root(0-1).crt (old key certifies the new: OldWithNew) and root(1-0).crt (NewWithOld). A client
# that trusts only the old root verifies a leaf under the new root through OldWithNew, and a
# client that trusts only the new root verifies a leaf under the old one through NewWithOld
# (openssl -untrusted, NSS vfychain); each link carries the CDP/AIA of the key that signed it and
# is revocable on that key's CRL; the issuing CA renewed with --same-key moves under the new
# root; `ca export --chain --all` gives every certificate a client needs.
. "$(dirname "$0")/common.sh"
offca_setup rollover
URI() { echo "pkcs11:token=rollover;object=$1;type=private"; }
URL="http://127.0.0.1:${OFFCA_TEST_PORT:-18080}/pki"
ser() { openssl x509 -in "$1" -noout -serial | cut -d= -f2; }
pem() { openssl x509 -inform DER -in "$T/pub/$1" -out "$T/$2"; }
txt() { openssl x509 -in "$T/$1" -noout -text; }
leaf() { # leaf NAME
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/$1.key" \
        -subj "/CN=$1" -out "$T/$1.csr" 2>/dev/null
    oc sign --ca iss --template vpn-server --csr "$T/$1.csr" --san "dns:$1.example" \
        -o "$T/$1.pem" >/dev/null
}
oc init >/dev/null
for k in root root2 iss; do oc key generate --label $k --alg p256 >/dev/null; done
oc ca create-root root --key "$(URI root)" --subject 'CN=Roll Root' >/dev/null
oc ca create-issuing iss --parent root --key "$(URI iss)" --subject 'CN=Roll Iss' \
    --days 1000 >/dev/null
oc ca export root -o "$T/root0.pem"; oc ca export iss -o "$T/iss0.pem"
leaf old

expect_rc 0 "ca renew root --new-key" -- oc ca renew root --new-key "$(URI root2)"
expect_in "links:      root(0-1).crt (old key certifies the new), root(1-0).crt" "summary names the links"
pem "root(1).crt" root1.pem; pem "root(0-1).crt" on.pem; pem "root(1-0).crt" no.pem
check "the new root is self-signed by the new key" openssl verify -CAfile "$T/root1.pem" "$T/root1.pem"
check "OldWithNew is signed by the old root" openssl verify -partial_chain -CAfile "$T/root0.pem" "$T/on.pem"
check "NewWithOld is signed by the new root" openssl verify -partial_chain -CAfile "$T/root1.pem" "$T/no.pem"
check "OldWithNew certifies the new key" test \
    "$(openssl x509 -in "$T/on.pem" -noout -pubkey)" = "$(openssl x509 -in "$T/root1.pem" -noout -pubkey)"
check "NewWithOld certifies the old key" test \
    "$(openssl x509 -in "$T/no.pem" -noout -pubkey)" = "$(openssl x509 -in "$T/root0.pem" -noout -pubkey)"
check "OldWithNew carries the old key's CDP root.crl" bash -c "openssl x509 -in '$T/on.pem' -noout -text | grep -q 'URI:$URL/root.crl'"
check "OldWithNew's AIA is root.crt" bash -c "openssl x509 -in '$T/on.pem' -noout -text | grep -q 'CA Issuers - URI:$URL/root.crt'"
check "NewWithOld carries the new key's CDP root(1).crl" bash -c "openssl x509 -in '$T/no.pem' -noout -text | grep -q 'URI:$URL/root(1).crl'"
check "NewWithOld's AIA is root(1).crt" bash -c "openssl x509 -in '$T/no.pem' -noout -text | grep -q 'CA Issuers - URI:$URL/root(1).crt'"
check "a link certificate is not self-issued by a CA Version holder (no CA Version)" \
    bash -c "! openssl x509 -in '$T/on.pem' -noout -text | grep -q '1.3.6.1.4.1.311.21.1'"
check "links end with the old root" test "$(openssl x509 -in "$T/on.pem" -noout -enddate)" = \
    "$(openssl x509 -in "$T/root0.pem" -noout -enddate)"

nth() { awk -v n="$2" '/BEGIN CERT/{i++} i==n' "$1"; }
expect_rc 0 "ca export iss --chain right after the root rollover" -- oc ca export iss --chain -o "$T/chainA.pem"
check "the chain names the old root, which signed iss (not the newest root)" \
    test "$(nth "$T/chainA.pem" 2)" = "$(cat "$T/root0.pem")"
oc crl publish >/dev/null
expect_rc 0 "doctor: no error for iss although its parent rolled over" -- oc doctor --ca iss
check "doctor: 0 errors" grep -q '^0 error(s)' <<<"$OUT"

# ---- the issuing CA moves under the new root ----
expect_rc 0 "ca renew iss --same-key: re-certified under the new root" -- oc ca renew iss --same-key
pem "iss(1).crt" iss1.pem
check "iss(1) is signed by the new root key" openssl verify -CAfile "$T/root1.pem" "$T/iss1.pem"
check "iss(1) names root(1).crl in its CDP" bash -c "openssl x509 -in '$T/iss1.pem' -noout -text | grep -q 'URI:$URL/root(1).crl'"
check "iss(1) names root(1).crt in its AIA" bash -c "openssl x509 -in '$T/iss1.pem' -noout -text | grep -q 'CA Issuers - URI:$URL/root(1).crt'"
leaf new
expect_rc 0 "ca export iss --chain after its renewal" -- oc ca export iss --chain -o "$T/chainB.pem"
check "now the chain is iss(1) and the new root" test "$(nth "$T/chainB.pem" 1)" = "$(cat "$T/iss1.pem")" \
    -a "$(nth "$T/chainB.pem" 2)" = "$(cat "$T/root1.pem")"

# ---- cross verification ----
cat "$T/iss1.pem" "$T/on.pem" >"$T/u-old.pem"
cat "$T/iss0.pem" "$T/no.pem" >"$T/u-new.pem"
expect_rc 0 "trusting only the OLD root: a leaf under the new root verifies through OldWithNew" -- \
    openssl verify -x509_strict -CAfile "$T/root0.pem" -untrusted "$T/u-old.pem" "$T/new.pem"
expect_rc 2 "... and not without the link" -- \
    openssl verify -CAfile "$T/root0.pem" -untrusted "$T/iss1.pem" "$T/new.pem"
expect_rc 0 "trusting only the NEW root: a leaf under the old root verifies through NewWithOld" -- \
    openssl verify -x509_strict -CAfile "$T/root1.pem" -untrusted "$T/u-new.pem" "$T/old.pem"
expect_rc 2 "... and not without the link" -- \
    openssl verify -CAfile "$T/root1.pem" -untrusted "$T/iss0.pem" "$T/old.pem"
nssdb() { mkdir -p "$1"; certutil -N -d "sql:$1" --empty-password; certutil -A -d "sql:$1" -n root -t "CT,C,C" -i "$2"; }
nssdb "$T/nss-old" "$T/root0.pem"; nssdb "$T/nss-new" "$T/root1.pem"
OUT=$(vfychain -d "sql:$T/nss-old" -u 1 -a "$T/new.pem" -a "$T/iss1.pem" -a "$T/on.pem" 2>&1)
check "NSS trusting only the old root: leaf under the new root, through OldWithNew" grep -q 'Chain is good' <<<"$OUT"
OUT=$(vfychain -d "sql:$T/nss-new" -u 1 -a "$T/old.pem" -a "$T/iss0.pem" -a "$T/no.pem" 2>&1)
check "NSS trusting only the new root: leaf under the old root, through NewWithOld" grep -q 'Chain is good' <<<"$OUT"

# ---- ca export --chain --all ----
expect_rc 0 "ca export iss --chain --all" -- oc ca export iss --chain --all -o "$T/all.pem"
check "--all holds 2 issuing + 2 root certificates + 2 links" test "$(grep -c 'BEGIN CERTIFICATE' "$T/all.pem")" = 6
expect_rc 0 "a client trusting the old root builds the new path from the --all bundle" -- \
    openssl verify -CAfile "$T/root0.pem" -untrusted "$T/all.pem" "$T/new.pem"
expect_rc 0 "a client trusting the new root builds the old path from the --all bundle" -- \
    openssl verify -CAfile "$T/root1.pem" -untrusted "$T/all.pem" "$T/old.pem"
expect_rc 2 "--all with --der is refused" -- oc ca export iss --all --der

# ---- the links are on the CRL scope of the key that signed them ----
expect_rc 0 "list --ca root shows the link certificates" -- oc list --ca root
check "both links are recorded under the root" test "$(grep -c 'link certificate' <<<"$OUT")" = 2
expect_rc 0 "revoke OldWithNew (signed by key 0)" -- oc revoke --ca root --serial "$(ser "$T/on.pem")" --reason superseded
expect_rc 0 "crl publish" -- oc crl publish
expect_in "root: published CRL 2" "key 0's CRL changes"
expect_in "root(1): CRL 1 is current" "key 1's CRL does not"
check "root.crl lists OldWithNew" bash -c "openssl crl -inform DER -in '$T/pub/root.crl' -noout -text | grep -q 'Serial Number: $(ser "$T/on.pem")'"
check "root(1).crl does not" bash -c "! openssl crl -inform DER -in '$T/pub/root(1).crl' -noout -text | grep -q 'Serial Number'"
openssl crl -inform DER -in "$T/pub/root.crl" -out "$T/root0crl.pem"
openssl crl -inform DER -in "$T/pub/root(1).crl" -out "$T/root1crl.pem"
openssl crl -inform DER -in "$T/pub/iss.crl" -out "$T/isscrl.pem"
expect_rc 2 "openssl -crl_check_all now rejects the path through the revoked link" -- \
    openssl verify -crl_check_all -CAfile "$T/root0.pem" -untrusted "$T/u-old.pem" \
    -CRLfile "$T/root0crl.pem" -CRLfile "$T/root1crl.pem" -CRLfile "$T/isscrl.pem" "$T/new.pem"
expect_in "certificate revoked" "the link is reported revoked"
expect_rc 0 "the other direction still verifies with every CRL checked" -- \
    openssl verify -crl_check_all -CAfile "$T/root1.pem" -untrusted "$T/u-new.pem" \
    -CRLfile "$T/root0crl.pem" -CRLfile "$T/root1crl.pem" -CRLfile "$T/isscrl.pem" "$T/old.pem"
t_done
