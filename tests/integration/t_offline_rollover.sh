#!/bin/bash
# Issue 13 with issue 12's generations: the offline root rolled over to a new key (ca renew
# --new-key) before it certifies the issuing machine's CA. sign-subordinate signs with the
# active key and records that key generation, so revoking the issuing CA lands on root(1).crl,
# not on root.crl; crl publish --out carries every key generation's CRL and certificate; the
# issuing machine publishes the carried root(1).crl under the name its CDP points at, and
# refuses the old key's root.crl (its AKID is not the key that signed the CA here), store and
# files as they were; crl presign signs root(1)'s CRLs with root(1)'s numbering.
. "$(dirname "$0")/offline_lib.sh"
offline_setup || { notok "two machines set up"; t_done; exit 1; }
R key generate --label root2 --alg p256 >/dev/null
R crl publish >/dev/null
expect_rc 0 "root machine: renew the root with a new key" -- R ca renew root --new-key "$(RURI root2)"
expect_rc 0 "root machine: publish (both key generations)" -- R crl publish
check "root.crl and root(1).crl are published" test -s "$T/r/pub/root.crl" -a -s "$T/r/pub/root(1).crl"

# ---- sign-subordinate with the active key ----
expect_rc 0 "sign-subordinate after the rollover" -- \
    R ca sign-subordinate root --csr "$T/iss.csr" --path-len 0 -o "$T/iss.pem"
openssl x509 -inform DER -in "$T/r/pub/root(1).crt" -out "$T/root1.pem"
expect_rc 0 "the issuing CA verifies against the new root certificate" -- \
    openssl verify -CAfile "$T/root1.pem" "$T/iss.pem"
TXT=$(openssl x509 -in "$T/iss.pem" -noout -text)
check "its CDP is the new key's CRL, root(1).crl" grep -q 'URI:http://.*/root(1)\.crl' <<<"$TXT"
ISER=$(openssl x509 -in "$T/iss.pem" -noout -serial | cut -d= -f2 | tr A-F a-f)
expect_rc 0 "root machine: revoke the issuing CA" -- R revoke --ca root --serial "$ISER" --reason cACompromise
expect_rc 0 "root machine: publish" -- R crl publish
check "the revocation is on root(1).crl (the key that signed it)" bash -c \
    "openssl crl -inform DER -in '$T/r/pub/root(1).crl' -noout -text | grep -qi 'Serial Number: $ISER'"
check "and not on the old key's root.crl" bash -c \
    "! openssl crl -inform DER -in '$T/r/pub/root.crl' -noout -text | grep -qi 'Serial Number: $ISER'"

# ---- carrying every key generation ----
expect_rc 0 "crl publish --ca root --force --out carry" -- R crl publish --ca root --force --out "$T/carry"
expect_in "root(1).crl (CRL" "carry names the new key's CRL"
for f in 'root.crl' 'root(1).crl' 'root.crt' 'root(1).crt' 'root(0-1).crt' 'root(1-0).crt'; do
    check "carried $f, as published" cmp -s "$T/carry/$f" "$T/r/pub/$f"
done

# ---- issuing machine: the CA under the new key, its CRL ----
expect_rc 0 "issuing machine: ca import with the new root certificate" -- \
    I ca import iss --cert "$T/iss.pem" --chain "$T/root1.pem"
ISUM=$(store_sum i)
expect_rc 1 "the old key's root.crl is refused: not the key that signed the CA here" -- \
    I crl import "$T/carry/root.crl"
expect_in "authority key identifier" "the refusal names the AKID rule"
check "refused: nothing published" test ! -e "$T/i/pub/root.crl" -a ! -e "$T/i/pub/root(1).crl"
check "refused: the store is as it was" test "$(store_sum i)" = "$ISUM"
expect_rc 0 "crl import root(1).crl" -- I crl import "$T/carry/root(1).crl"
check "published as root(1).crl, the name the issuing CA's CDP points at" \
    cmp -s "$T/i/pub/root(1).crl" "$T/carry/root(1).crl"
openssl crl -inform DER -in "$T/i/pub/root(1).crl" -out "$T/root1-crl.pem"
expect_rc 2 "openssl: the issuing CA is revoked by the imported root(1).crl" -- \
    openssl verify -crl_check -CAfile "$T/root1.pem" -CRLfile "$T/root1-crl.pem" "$T/iss.pem"
expect_in "certificate revoked" "openssl says revoked"

# ---- presign: the new key's CRLs, its own numbering ----
N1=$(crlnum "$T/r/pub/root(1).crl"); N0=$(crlnum "$T/r/pub/root.crl")
expect_rc 0 "crl presign --ca root --count 2" -- R crl presign --ca root --count 2 --out "$T/carry"
P1="$T/carry/root(1)-crl-$((N1 + 1)).crl"; P2="$T/carry/root(1)-crl-$((N1 + 2)).crl"
check "the pre-signed CRLs are root(1)'s, numbered on from its last" test -s "$P1" -a -s "$P2"
expect_rc 0 "they verify with the new root key" -- \
    openssl crl -inform DER -in "$P1" -CAfile "$T/root1.pem" -noout
check "and list its revocation" bash -c \
    "openssl crl -inform DER -in '$P2' -noout -text | grep -qi 'Serial Number: $ISER'"
check "the old key's numbering is untouched" test "$(crlnum "$T/r/pub/root.crl")" = "$N0"
expect_rc 0 "the issuing machine takes the set" -- I crl import "$P1" "$P2"
expect_in "pre-signed: published when its thisUpdate comes" "they wait for their thisUpdate"
t_done
