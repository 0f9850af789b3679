#!/bin/bash
# Issue 12, retiring a CA: `ca retire` stops issuance (sign and the renewal of its children
# refused with the reason, exit 1), the audit log records it, its CRLs are still published while
# any certificate it issued is unexpired; once the last one has expired (test clock) the final
# CRL appears once, then nothing more is published for that CA. Also: a key generation that
# expires while the CA lives on (a renewed CA's old key) stops the same way.
. "$(dirname "$0")/common.sh"
# The test clock (OFFCA_TEST_NOW) is read only by the test build: every command runs it.
octb() { "$OFFCA_TEST_BIN" -c "$T/ca.toml" "$@"; }
offca_setup retire
URI() { echo "pkcs11:token=retire;object=$1;type=private"; }
ser() { openssl x509 -in "$1" -noout -serial | cut -d= -f2; }
leaf() { # leaf CA NAME
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/$2.key" \
        -subj "/CN=$2" -out "$T/$2.csr" 2>/dev/null
    octb sign --ca "$1" --template vpn-server --csr "$T/$2.csr" --san "dns:$2.example" \
        -o "$T/$2.pem" 2>/dev/null >/dev/null
}
NOW=$(date +%s)
octb init >/dev/null
for k in root iss sub; do octb key generate --label $k --alg p256 >/dev/null; done
octb ca create-root root --key "$(URI root)" --subject 'CN=Retire Root' >/dev/null
octb ca create-issuing iss --parent root --key "$(URI iss)" --subject 'CN=Retire Iss' --days 3 >/dev/null
octb ca create-issuing sub --parent iss --key "$(URI sub)" --subject 'CN=Retire Sub' --days 2 >/dev/null
leaf iss l1; leaf iss l2
octb crl publish >/dev/null

expect_rc 0 "ca retire" -- octb ca retire iss
expect_in "retired CA 'iss'" "retire says so"
expect_rc 1 "sign is refused by a retired CA" -- octb sign --ca iss --template vpn-server \
    --csr "$T/l1.csr" --san dns:x.example -o "$T/x.pem"
expect_in "CA 'iss': retired; it no longer signs" "sign gives the reason"
check "nothing was written" test ! -e "$T/x.pem"
expect_rc 1 "a child's renewal is refused: its parent is retired" -- octb ca renew sub --same-key
expect_in "CA 'iss': retired; it no longer signs" "renew of the child gives the reason"
expect_rc 1 "the retired CA itself is not renewed" -- octb ca renew iss --same-key
expect_in "a retired CA is not renewed" "renew gives the reason"
expect_rc 1 "retire again" -- octb ca retire iss
expect_in "already retired" "retire again says already retired"
expect_rc 0 "ca list" -- octb ca list
check "ca list shows iss retired" grep -q '^iss  *retired' <<<"$OUT"
expect_rc 0 "ca show" -- octb ca show iss
check "ca show: its generation is retired" grep -q 'generation 0: .*, retired$' <<<"$OUT"
expect_rc 0 "audit list" -- octb audit list
expect_in "ca.retire" "the audit log records the retirement"
expect_rc 0 "audit verify" -- octb audit verify

# ---- CRLs go on while its certificates live ----
expect_rc 0 "revoke a leaf of the retired CA" -- octb revoke --ca iss --serial "$(ser "$T/l1.pem")"
expect_rc 0 "crl publish" -- octb crl publish
expect_in "iss: published CRL 2" "the retired CA publishes its CRL"
check "the CRL lists the revoked leaf" bash -c \
    "openssl crl -inform DER -in '$T/pub/iss.crl' -noout -text | grep -q 'Serial Number: $(ser "$T/l1.pem")'"

# ---- after the last certificate expired: one final CRL, then nothing ----
export OFFCA_TEST_NOW=$((NOW + 4 * 86400))
cp "$T/pub/iss.crl" "$T/before.crl"
expect_rc 0 "crl publish after every certificate of iss expired" -- octb crl publish
expect_in "iss: published final CRL 3" "the final CRL is published"
expect_in "sub: published final CRL" "the child CA (expired too) gets its final CRL"
check "the final CRL is a new file" bash -c "! cmp -s '$T/before.crl' '$T/pub/iss.crl'"
expect_rc 0 "the final CRL verifies against iss" -- \
    bash -c "openssl x509 -inform DER -in '$T/pub/iss.crt' -out '$T/iss.pem' && openssl crl -inform DER -in '$T/pub/iss.crl' -CAfile '$T/iss.pem' -noout"
cp "$T/pub/iss.crl" "$T/final.crl"
export OFFCA_TEST_NOW=$((NOW + 30 * 86400))
expect_rc 0 "crl publish again, weeks later" -- octb crl publish
expect_in "iss: its certificates have expired and its final CRL 3 is published; nothing more" \
    "nothing more for the retired CA"
check "iss.crl is untouched" cmp -s "$T/final.crl" "$T/pub/iss.crl"
expect_in "root: published CRL" "the root goes on publishing"
expect_rc 0 "--force does not revive it" -- octb crl publish --ca iss --force
check "iss.crl is still untouched" cmp -s "$T/final.crl" "$T/pub/iss.crl"
unset OFFCA_TEST_NOW

# ---- an old key generation of a living CA stops the same way ----
for k in gen gen2; do octb key generate --label $k --alg p256 >/dev/null; done
octb ca create-issuing gen --parent root --key "$(URI gen)" --subject 'CN=Gen' --days 3 >/dev/null
octb ca renew gen --new-key "$(URI gen2)" --days 100 >/dev/null
expect_rc 0 "publish both key generations" -- octb crl publish --ca gen
expect_in "gen: published CRL 1" "key 0"
expect_in "gen(1): published CRL 1" "key 1"
export OFFCA_TEST_NOW=$((NOW + 4 * 86400))
expect_rc 0 "after key 0's certificate expired" -- octb crl publish --ca gen --force
expect_in "gen: published final CRL 2" "key 0: one final CRL"
expect_in "gen(1): published CRL 2" "key 1 goes on"
expect_rc 0 "and then" -- octb crl publish --ca gen --force
expect_in "gen: its certificates have expired and its final CRL 2 is published" "key 0 stops"
expect_in "gen(1): published CRL 3" "key 1 still goes on"
unset OFFCA_TEST_NOW
t_done
