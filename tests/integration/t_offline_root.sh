#!/bin/bash
# Issue 13, the offline root on its own machine: two stores and two tokens as two machines. The
# root machine signs the issuing CA's request (ca csr there) with ca sign-subordinate and
# carries its CRL and certificate (crl publish --out); the issuing machine imports both, issues
# a leaf, imports the root CRL; four relying parties accept the chain with CRLs for every
# level: openssl (-CRLfile, and -crl_download fetching each CRL over HTTP through the CDPs from
# the issuing machine's publish dir, its own CRL and the imported root CRL), GnuTLS, NSS and
# FreeRADIUS EAP-TLS (check_crl + check_all_crl, ca_path: the root and both CRLs); after the
# root revokes the issuing CA and its new CRL is imported, all four refuse.
. "$(dirname "$0")/offline_lib.sh"
. "$(dirname "$0")/relying.sh"
# the issuing machine's publish dir over HTTP; both machines' base_url name its port
start_http "$T/i/pub" || { notok "the HTTP server (python3 -m http.server) starts"; t_done; exit 1; }
offline_setup || { notok "two machines set up"; t_done; exit 1; }

# ---- root machine: sign-subordinate, refusals first (nothing recorded, no file) ----
RSUM=$(store_sum r)
openssl req -new -newkey rsa:1024 -nodes -keyout "$T/weak.key" -subj '/CN=Weak CA' \
    -out "$T/weak.csr" 2>/dev/null
expect_rc 1 "sign-subordinate: a 1024-bit CA key is refused by the CA key gate" -- \
    R ca sign-subordinate root --csr "$T/weak.csr" -o "$T/weak.pem"
expect_in "below" "the key gate names the size rule"
openssl req -new -newkey rsa:2048 -nodes -keyout "$T/sha1.key" -subj '/CN=SHA1 CA' -sha1 \
    -out "$T/sha1.csr" 2>/dev/null
expect_rc 1 "sign-subordinate: a SHA-1 request is refused" -- \
    R ca sign-subordinate root --csr "$T/sha1.csr" -o "$T/sha1.pem"
openssl req -in "$T/iss.csr" -outform DER -out "$T/bad.der" 2>/dev/null
flip_byte "$T/bad.der" $(($(stat -c %s "$T/bad.der") - 3))
expect_rc 3 "sign-subordinate: a request whose signature does not verify (no proof of possession)" -- \
    R ca sign-subordinate root --csr "$T/bad.der" -o "$T/bad.pem"
expect_rc 1 "sign-subordinate: --days beyond the root's validity is refused" -- \
    R ca sign-subordinate root --csr "$T/iss.csr" --days 9000 -o "$T/long.pem"
expect_in "outlive the parent" "the refusal says the parent caps the validity"
touch "$T/exists.pem"
expect_rc 2 "sign-subordinate: an existing -o FILE is refused before signing" -- \
    R ca sign-subordinate root --csr "$T/iss.csr" -o "$T/exists.pem"
check "refusals: no output file" test ! -e "$T/weak.pem" -a ! -e "$T/sha1.pem" -a ! -e "$T/long.pem"
check "refusals: the root store is as it was" test "$(store_sum r)" = "$RSUM"

expect_rc 0 "sign-subordinate signs the issuing machine's request" -- \
    R ca sign-subordinate root --csr "$T/iss.csr" --path-len 0 -o "$T/iss.pem"
expect_in "offca ca import" "it says what to run on the issuing machine"
TXT=$(openssl x509 -in "$T/iss.pem" -noout -text)
check "issuing CA: basicConstraints critical, CA:TRUE, pathlen:0" \
    bash -c "grep -A1 'Basic Constraints: critical' <<<'$TXT' | grep -q 'CA:TRUE, pathlen:0'"
check "issuing CA: keyUsage critical keyCertSign + cRLSign (+ digitalSignature)" \
    bash -c "grep -A1 'Key Usage: critical' <<<'$TXT' | grep -q 'Digital Signature, Certificate Sign, CRL Sign'"
check "issuing CA: the root's CDP" grep -q "URI:$HTTP_URL/root.crl" <<<"$TXT"
check "issuing CA: the root's AIA" grep -q "CA Issuers - URI:$HTTP_URL/root.crt" <<<"$TXT"
check "issuing CA: AKID and SKID" bash -c "grep -q 'Authority Key Identifier' <<<'$TXT' && grep -q 'Subject Key Identifier' <<<'$TXT'"
check "issuing CA: the subject of the request" test "$(openssl x509 -in "$T/iss.pem" -noout -subject)" = \
    "$(openssl req -in "$T/iss.csr" -noout -subject)"
check "issuing CA: the key of the request" cmp -s <(openssl req -in "$T/iss.csr" -noout -pubkey) \
    <(openssl x509 -in "$T/iss.pem" -noout -pubkey)
ISER=$(openssl x509 -in "$T/iss.pem" -noout -serial | cut -d= -f2 | tr A-F a-f)
expect_rc 0 "root: list --ca root" -- R list --ca root
check "the issuing CA is recorded under the root" grep -q "^$ISER " <<<"$OUT"
expect_rc 0 "root: audit verify" -- R audit verify
check "the audit log has ca.sign-subordinate" bash -c "'$OFFCA' -c '$T/r/ca.toml' audit list | grep -q 'ca.sign-subordinate'"

# ---- carrying: crl publish --ca root --out DIR ----
expect_rc 2 "crl publish --out without --ca is a usage error" -- R crl publish --out "$T/carry"
expect_rc 0 "root ceremony: crl publish --ca root --out carry" -- R crl publish --ca root --out "$T/carry"
check "carry/root.crl is the published CRL" cmp -s "$T/carry/root.crl" "$T/r/pub/root.crl"
check "carry/root.crt is the root certificate" cmp -s "$T/carry/root.crt" "$T/r/pub/root.crt"
cp "$T/carry/root.crl" "$T/root-1.crl"

# ---- issuing machine: ca import, crl import, a leaf ----
expect_rc 2 "crl import before any CA has a parent elsewhere: usage error" -- I crl import "$T/carry/root.crl"
expect_rc 0 "issuing machine: ca import with the carried root" -- \
    I ca import iss --cert "$T/iss.pem" --chain "$T/carry/root.crt"
expect_rc 1 "doctor before the root CRL is imported: error (the CDP's root.crl is missing)" -- I doctor
check "doctor: the issuing CA's CDP has no CRL behind it (error)" grep -q "^ERROR.*Issuing CA.*root.crl" <<<"$OUT"
expect_in "no CRL of this root is published here (root.crl)" "doctor notes that no root CRL is imported"
expect_rc 0 "issuing machine: crl import root.crl" -- I crl import "$T/carry/root.crl"
expect_in "imported CRL 1" "import names the CRL number"
check "published under the name the issuing CA's CDP points at (root.crl)" \
    cmp -s "$T/i/pub/root.crl" "$T/carry/root.crl"
check "mode 0644" test "$(stat -c %a "$T/i/pub/root.crl")" = 644
ISUM=$(store_sum i)
expect_rc 0 "the same file again is a no-op" -- I crl import "$T/carry/root.crl"
expect_in "already imported" "the no-op says so"
check "the no-op leaves the store as it was" test "$(store_sum i)" = "$ISUM"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/leaf.key" \
    -subj '/CN=vpn1' -out "$T/leaf.csr" 2>/dev/null
expect_rc 0 "issuing machine: sign a leaf" -- I sign --ca iss --template vpn-server \
    --csr "$T/leaf.csr" --san dns:vpn1.example -o "$T/leaf.pem"
rad_client_template "$T/templates"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/eap1.key" \
    -subj '/CN=eap1' -out "$T/eap1.csr" 2>/dev/null
expect_rc 0 "issuing machine: sign an EAP-TLS client certificate" -- I sign --ca iss \
    --template radius-client --csr "$T/eap1.csr" --san dns:eap1.example -o "$T/eap1.pem"
expect_rc 0 "issuing machine: crl publish (cron)" -- I crl publish
expect_in "root.crl: imported CRL 1 is current" "cron leaves the imported CRL alone, saying so"
expect_rc 1 "status: warning, the root CRL (7 days) runs out within ceremony_warn_days (30)" -- I --json status
check "status JSON: root_crl_number 1, nothing waiting, the ceremony finding" bash -c "jq -e '.cas[] | select(.name==\"iss\") | .root_crl_number == 1 and .root_crl_waiting == 0 and (.findings[0] | startswith(\"root ceremony due by\"))' <<<'$OUT' >/dev/null"
check "cron did not touch root.crl" cmp -s "$T/i/pub/root.crl" "$T/carry/root.crl"
I audit verify >/dev/null && ok "issuing machine: audit verify" || notok "issuing machine: audit verify"

# ---- relying parties: every level has its CRL ----
openssl x509 -inform DER -in "$T/carry/root.crt" -out "$T/root.pem"
openssl crl -inform DER -in "$T/i/pub/root.crl" -out "$T/root-crl.pem"
openssl crl -inform DER -in "$T/i/pub/iss.crl" -out "$T/iss-crl.pem"
ossl() { openssl verify -crl_check_all -CRLfile "$T/root-crl.pem" -CRLfile "$T/iss-crl.pem" \
             -CAfile "$T/root.pem" -untrusted "$T/iss.pem" "$T/leaf.pem"; }
gtls() { cat "$T/leaf.pem" "$T/iss.pem" >"$T/chain.pem"; cat "$T/root-crl.pem" "$T/iss-crl.pem" >"$T/crls.pem"
         certtool --verify --load-ca-certificate "$T/root.pem" --load-crl "$T/crls.pem" \
             --infile "$T/chain.pem"; }
nss() { rm -rf "$T/nss"; mkdir "$T/nss"; certutil -N -d "sql:$T/nss" --empty-password &&
        certutil -A -d "sql:$T/nss" -n root -t C,, -i "$T/root.pem" &&
        crlutil -I -d "sql:$T/nss" -i "$T/i/pub/root.crl" -B >/dev/null &&
        crlutil -I -d "sql:$T/nss" -i "$T/i/pub/iss.crl" -B >/dev/null &&
        openssl x509 -in "$T/leaf.pem" -outform DER -out "$T/leaf.der" &&
        openssl x509 -in "$T/iss.pem" -outform DER -out "$T/iss.der" &&
        vfychain -d "sql:$T/nss" -pp -u 1 -g chain -m crl -s requireInfo -s failIfNoInfo \
            "$T/leaf.der" "$T/iss.der"; }
# openssl fetching the CRLs itself: each certificate's CDP, served from the issuing machine
ossl_dl() { openssl verify -crl_download -crl_check_all -CAfile "$T/root.pem" -untrusted "$T/iss.pem" \
                "$@" "$T/leaf.pem"; }
http_since() { tail -n +"$(($1 + 1))" "$T/http.log"; }   # the requests after line $1
fetched() { http_since "$1" | grep -q "\"GET /pki/$2 HTTP/1\.[01]\" 200 "; }
# FreeRADIUS: ca_path holds the root and both CRLs (rehashed); the client sends eap1 + iss
radius() { rad_stop; rad_cadir "$T/cadir" "$T/root.pem" "$T/i/pub/root.crl" "$T/i/pub/iss.crl" &&
           rad_start "$T/cadir" "$T/leaf.key" "$T/leaf-chain.pem" "$T/rlog/$1.log"; }
cat "$T/leaf.pem" "$T/iss.pem" >"$T/leaf-chain.pem"
cat "$T/eap1.pem" "$T/iss.pem" >"$T/eap1.chain.pem"
expect_rc 0 "openssl verify -crl_check_all with the imported root CRL: OK" -- ossl
expect_rc 0 "GnuTLS certtool --verify with both CRLs: OK" -- gtls
expect_rc 0 "NSS vfychain (libpkix, CRLs required for the chain): OK" -- nss
H=$(wc -l <"$T/http.log")
expect_rc 2 "openssl -crl_download -crl_check_all alone: stops only at the root's own CRL" -- ossl_dl
expect_in "error 3 at 2 depth lookup: unable to get certificate CRL" \
    "  the one error: the root has no CDP (its CRL comes with the root, -CRLfile)"
check "  no other error: the leaf's and the issuing CA's CRLs, downloaded, are good" \
    test "$(grep -Ec "^error [0-9]+ at" <<<"$ERR$OUT")" = 1
check "iss.crl fetched over HTTP through the leaf's CDP" fetched "$H" iss.crl
check "root.crl (the imported one) fetched through the issuing CA's CDP" fetched "$H" root.crl
expect_rc 0 "openssl -crl_download -crl_check_all with the root CRL: OK" -- \
    ossl_dl -CRLfile "$T/root-crl.pem"
expect_in "leaf.pem: OK" "  openssl says OK"
check "FreeRADIUS and eapol_test are installed (make deps)" \
    bash -c 'command -v freeradius && command -v eapol_test' >/dev/null
check "FreeRADIUS starts (EAP-TLS, check_crl + check_all_crl, root and both CRLs)" radius X1
expect_rc 0 "FreeRADIUS EAP-TLS: the client of the issuing CA is accepted" -- rad_eap eap1
check "  Access-Accept" grep -q "Access-Accept" "$T/eap1.eap.log"

# ---- the root revokes the issuing CA; its new CRL is imported ----
expect_rc 0 "root machine: revoke the issuing CA" -- R revoke --ca root --serial "$ISER" --reason cACompromise
expect_rc 0 "root ceremony: publish and carry CRL 2" -- R crl publish --ca root --out "$T/carry"
check "carried CRL 2" test "$(crlnum "$T/carry/root.crl")" = 0x02
expect_rc 0 "issuing machine: import CRL 2" -- I crl import "$T/carry/root.crl"
check "root.crl is now CRL 2" cmp -s "$T/i/pub/root.crl" "$T/carry/root.crl"
openssl crl -inform DER -in "$T/i/pub/root.crl" -out "$T/root-crl.pem"
expect_rc 2 "openssl refuses the chain: the issuing CA is revoked" -- ossl
expect_in "certificate revoked" "openssl says revoked"
expect_rc 1 "GnuTLS refuses the chain" -- gtls
expect_in "revoked" "GnuTLS says revoked"
OUT=$(nss 2>&1); RC=$?
check "NSS vfychain refuses the chain" test "$RC" -ne 0
check "NSS says revoked" grep -qi "revoked" <<<"$OUT"
H=$(wc -l <"$T/http.log")
expect_rc 2 "openssl -crl_download: the downloaded root CRL revokes the issuing CA" -- ossl_dl
expect_in "error 23 at 1 depth lookup: certificate revoked" "  openssl names the issuing CA (depth 1) revoked"
check "  root.crl fetched again through the issuing CA's CDP" fetched "$H" root.crl
expect_rc 2 "openssl -crl_download with the root CRL: refused" -- ossl_dl -CRLfile "$T/root-crl.pem"
expect_in "certificate revoked" "  openssl says revoked"
check "FreeRADIUS restarts with the imported CRL 2 in ca_path" radius X2
rc=0; rad_eap eap1 || rc=$?
check "FreeRADIUS EAP-TLS: the same client is refused now" test "$rc" != 0
check "  Access-Reject, no Access-Accept" bash -c \
    "grep -q Access-Reject '$T/eap1.eap.log' && ! grep -q Access-Accept '$T/eap1.eap.log'"
check "  freeradius: certificate revoked (the issuing CA, through the root CRL)" \
    grep -q "OpenSSL says error 23 : certificate revoked" "$T/rlog/X2.log"
rad_stop

# ---- an older CRL is refused, the published file and the store stay ----
expect_rc 0 "root ceremony: CRL 3 (not carried)" -- R crl publish --ca root --force --out "$T/carry"
cp "$T/carry/root.crl" "$T/root-3.crl"
expect_rc 0 "root ceremony: CRL 4" -- R crl publish --ca root --force --out "$T/carry"
expect_rc 0 "issuing machine: import CRL 4" -- I crl import "$T/carry/root.crl"
ISUM=$(store_sum i)
expect_rc 1 "import of the older CRL 3 (never imported) is refused" -- I crl import "$T/root-3.crl"
expect_in "older" "the refusal says older"
check "refused: root.crl is still CRL 4" cmp -s "$T/i/pub/root.crl" "$T/carry/root.crl"
check "refused: the store is as it was" test "$(store_sum i)" = "$ISUM"
lint_clean lint "$T/root.pem" "$T/iss.pem" "$T/leaf.pem" "$T/i/pub/root.crl" "$T/i/pub/iss.crl"
t_done
