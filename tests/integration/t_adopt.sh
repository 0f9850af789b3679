#!/bin/bash
# Issue 14: adopting a legacy CA at `ca import`. A real openssl ca database made here (file key,
# issue, revoke with reasons, gencrl), its key put on the SoftHSM token; adopted with --index and
# --last-crl; offca's next CRL lists the same entries (serial, date, reason) with the next number;
# OpenSSL and GnuTLS judge old and new leaves against it. The certutil -view csv reader on the
# committed fixture (tests/data/adopt) and its bad variants. Every bad input: exit code, message,
# store unchanged.
. "$(dirname "$0")/common.sh"
offca_setup adopt-it
DATA="$REPO/tests/data/adopt"
URI() { echo "pkcs11:token=adopt-it;object=$1;type=private"; }
oc init >/dev/null

# ---- the old CA: openssl ca with a file key ----
O="$T/old"; mkdir -p "$O/newcerts"; : >"$O/index.txt"; echo 1000 >"$O/serial"; echo 0FFF >"$O/crlnumber"
cat >"$O/ca.cnf" <<EOF
[ca]
default_ca = old
[old]
dir = $O
database = \$dir/index.txt
new_certs_dir = \$dir/newcerts
serial = \$dir/serial
crlnumber = \$dir/crlnumber
certificate = \$dir/ca.pem
private_key = \$dir/ca.key
default_md = sha256
default_days = 365
default_crl_days = 30
policy = pol
unique_subject = no
x509_extensions = leaf
[pol]
commonName = supplied
[leaf]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
authorityKeyIdentifier = keyid
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign,digitalSignature
subjectKeyIdentifier = hash
EOF
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$O/ca.key" -subj '/CN=Old Root CA/O=Contoso' \
    -days 3650 -config "$O/ca.cnf" -extensions v3_ca -out "$O/ca.pem" 2>/dev/null
ossl_ca() { openssl ca -batch -config "$O/ca.cnf" "$@" 2>/dev/null; }
for i in 1 2 3 4 5 6 7; do
    openssl req -newkey rsa:2048 -nodes -keyout "$O/l$i.key" -subj "/CN=leaf$i" -out "$O/l$i.csr" 2>/dev/null
    ossl_ca -in "$O/l$i.csr" -out "$O/l$i.pem"
done
ossl_ca -revoke "$O/l1.pem" -crl_reason keyCompromise
ossl_ca -revoke "$O/l2.pem"
ossl_ca -revoke "$O/l3.pem" -crl_reason superseded
ossl_ca -revoke "$O/l4.pem" -crl_compromise 20240102030405Z
ossl_ca -revoke "$O/l5.pem" -crl_reason certificateHold
# the old CA's last CRL was made two days before the adoption (offca's thisUpdate, now minus
# clock_skew, must not go back before it)
ossl_ca -gencrl -crl_lastupdate "$(date -u -d '-2 days' +%Y%m%d%H%M%SZ)" -out "$O/crl.pem"
ossl_ca -revoke "$O/l6.pem" -crl_reason cessationOfOperation     # revoked since the last CRL
check "the old CA's database has 7 lines, 6 revoked" test "$(grep -c '^R' "$O/index.txt")" = 6
softhsm2-util --import "$O/ca.key" --token adopt-it --label oldroot --id a1 --pin 1234 >/dev/null
printf '\n[ca.oldroot]\nallow_extractable_key = true\n[ca.oldroot2]\nallow_extractable_key = true\n[ca.adcs]\nallow_extractable_key = true\n' >>"$T/ca.toml"

IMPORT=(ca import oldroot --cert "$O/ca.pem" --key "$(URI oldroot)")
state() { oc ca list 2>&1; oc audit list 2>&1 | wc -l; oc list 2>&1; }
BEFORE=$(state)
unchanged() { check "$1: store unchanged" test "$(state)" = "$BEFORE"; }

# ---- bad inputs: refused whole, store unchanged ----
bad_index() { # bad_index NAME RC TEXT SED-SCRIPT
    sed "$4" "$O/index.txt" >"$T/bad.txt"
    expect_rc "$2" "$1 refused (exit $2)" -- oc "${IMPORT[@]}" --index "$T/bad.txt" \
        --newcerts "$O/newcerts" --last-crl "$O/crl.pem"
    expect_in "$3" "$1: the message names it"
    unchanged "$1"
}
bad_index "a malformed line" 3 "bad.txt:3: not an openssl ca index line" '3s/\t/ /g'
bad_index "a bad status" 3 "bad.txt:2: status 'X'" '2s/^R/X/'
bad_index "an unparseable expiry" 3 "bad.txt:7: expiry '2712x'" '7s/\t[0-9]*Z\t/\t2712x\t/'
bad_index "an unparseable revocation date" 3 "bad.txt:1: revocation date 'yesterday'" '1s/\t[0-9]*Z,keyCompromise/\tyesterday,keyCompromise/'
bad_index "an unknown reason" 3 "bad.txt:3: revocation reason 'bored'" '3s/,superseded/,bored/'
bad_index "a duplicate serial" 3 "serial 1001 twice" '2p'
bad_index "a serial over 20 octets" 3 "longer than 20 octets" '7s/\t1006\t/\t0102030405060708091011121314151617181920211006\t/'
bad_index "a line whose certificate is missing" 3 "its certificate" '7s/\t1006\t/\t1099\t/'
bad_index "an index the CRL disagrees with (a listed serial valid)" 3 "on the old CA's last CRL but valid" '2s/^R\t\([0-9Z]*\)\t[0-9Z]*\t/V\t\1\t\t/'
bad_index "an index the CRL disagrees with (another reason)" 3 "the CRL says revoked" '3s/,superseded/,affiliationChanged/'
# a certificate in newcerts signed by another key (same serial, same subject)
cp -r "$O/newcerts" "$T/nc2"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/evil.key" -subj '/CN=Old Root CA/O=Contoso' \
    -days 30 -out "$T/evil.pem" 2>/dev/null
openssl x509 -req -in "$O/l7.csr" -CA "$T/evil.pem" -CAkey "$T/evil.key" -set_serial 0x1006 \
    -days 365 -out "$T/nc2/1006.pem" 2>/dev/null
expect_rc 3 "a newcerts certificate not signed by the CA key refused" -- oc "${IMPORT[@]}" \
    --index "$O/index.txt" --newcerts "$T/nc2" --last-crl "$O/crl.pem"
expect_in "index.txt:7: RFC 5280 6.1.3 (a)(1): the certificate is not signed by the imported CA's key" "the message names the line and the rule"
unchanged "a foreign certificate"
expect_rc 3 "a CRL signed by another key refused" -- oc "${IMPORT[@]}" --index "$O/index.txt" \
    --last-crl <(openssl crl -in "$O/crl.pem" -outform DER | head -c 100)
unchanged "a broken CRL"
expect_rc 2 "no CRL number given: usage error" -- oc "${IMPORT[@]}" --index "$O/index.txt"
expect_in "RFC 5280 5.2.3" "the message cites the monotonic CRL number rule"
expect_rc 2 "--crl-number that contradicts --last-crl" -- oc "${IMPORT[@]}" --index "$O/index.txt" \
    --last-crl "$O/crl.pem" --crl-number 7
expect_in "CRL number 4095" "the message names the CRL's number"
expect_rc 2 "--index with --certutil-view" -- oc "${IMPORT[@]}" --index "$O/index.txt" \
    --certutil-view "$DATA/certutil-view.csv" --crl-number 1
expect_rc 2 "--crl-number not a number" -- oc "${IMPORT[@]}" --index "$O/index.txt" --crl-number 12x
unchanged "the usage errors"

# ---- the adoption ----
expect_rc 0 "ca import --index --last-crl adopts the old CA" -- oc "${IMPORT[@]}" \
    --index "$O/index.txt" --last-crl "$O/crl.pem"
expect_in "adopted 7 certificates (6 revoked, 5 on the old CA's last CRL)" "it says what it adopted"
expect_in "CRL number 4096" "it says the next CRL number"
expect_rc 0 "audit list" -- oc audit list
check "one ca.adopt audit record with counts and the SHA-256 of the index" grep -q \
    "ca.adopt.*certificates=7 revoked=6 on_last_crl=5 crl_number=4095 index=$(sha256sum "$O/index.txt" | cut -c1-64) newcerts=[0-9a-f]\{64\} last-crl=$(sha256sum "$O/crl.pem" | cut -c1-64)" <<<"$OUT"
check "exactly one ca.adopt record" test "$(grep -c 'ca.adopt' <<<"$OUT")" = 1
expect_rc 0 "offca list --ca oldroot" -- oc list --ca oldroot
for s in 1000 1001 1002 1003 1004 1005 1006; do
    check "list shows adopted serial $s" grep -qi "^$s " <<<"$OUT"
done
expect_rc 0 "offca export of an adopted certificate" -- oc export 1006 -o "$T/x1006.pem"
check "the exported certificate is the old CA's, byte for byte" cmp \
    <(openssl x509 -in "$T/x1006.pem" -outform DER) <(openssl x509 -in "$O/newcerts/1006.pem" -outform DER)

# a second import of the same database under another name: the serials are taken
expect_rc 1 "adopting the same certificates again refused" -- oc ca import oldroot2 --cert "$O/ca.pem" \
    --key "$(URI oldroot)" --index "$O/index.txt" --last-crl "$O/crl.pem"
expect_in "serial 1000 is already in the store" "the message names the serial"
check "the refused import left no CA oldroot2" bash -c "! oc ca show oldroot2 >/dev/null 2>&1"

# ---- offca's first CRL continues the old one ----
expect_rc 0 "crl publish" -- oc crl publish
openssl crl -inform DER -in "$T/pub/oldroot.crl" -out "$T/new.crl.pem"
entries() { openssl crl -in "$1" -noout -text | sed -n '/Revoked Certificates/,/Signature Algorithm/p' |
    grep -E 'Serial Number|Revocation Date|Key Compromise|Unspecified|Superseded|Certificate Hold|Cessation|Invalidity|[A-Z][a-z]{2} +[0-9]+ [0-9:]+ [0-9]{4} GMT$' |
    grep -v 'Hold Instruction' | sed 's/^ *//'; }
check "the CRL number is the old CA's + 1" grep -q "^4096$" \
    <<<"$(openssl crl -in "$T/new.crl.pem" -noout -crlnumber | sed 's/crlNumber=//' | xargs printf '%d\n' 2>/dev/null || true)"
OLD_E=$(entries "$O/crl.pem"); NEW_E=$(entries "$T/new.crl.pem")
check "offca's CRL lists every entry of the old CRL (serial, date, reason, invalidity date)" \
    test "$(head -c ${#OLD_E} <<<"$NEW_E")" = "$OLD_E"
ossl_ca -gencrl -crl_lastupdate "$(date -u -d '-2 days' +%Y%m%d%H%M%SZ)" -out "$T/old-now.crl.pem"        # what the old CA would list now
check "... plus what was revoked since, exactly as openssl ca would list it now" \
    test "$NEW_E" = "$(entries "$T/old-now.crl.pem")"

# ---- relying parties: old leaves, a new offca leaf ----
cat "$O/ca.pem" "$T/new.crl.pem" >"$T/bundle.pem"
v_ossl() { openssl verify -crl_check -CAfile "$T/bundle.pem" "$1" 2>&1; }
check "openssl: an old good leaf verifies against offca's CRL" grep -q ": OK$" <<<"$(v_ossl "$O/l7.pem")"
for i in 1 2 3 4 6; do
    check "openssl: old leaf $i is revoked" grep -q "certificate revoked" <<<"$(v_ossl "$O/l$i.pem")"
done
CRL="$T/new.crl.pem"
v_gnutls() { certtool --verify --load-ca-certificate "$O/ca.pem" --load-crl "$CRL" --infile "$1" 2>&1; }
check "GnuTLS: an old good leaf verifies" grep -q "Chain verification output: Verified" <<<"$(v_gnutls "$O/l7.pem")"
check "GnuTLS: a revoked old leaf is revoked" grep -q "The certificate chain is revoked" <<<"$(v_gnutls "$O/l1.pem")"
openssl req -newkey rsa:2048 -nodes -keyout "$T/n.key" -subj "/CN=new.contoso.com" -out "$T/n.csr" 2>/dev/null
expect_rc 0 "the adopted CA issues a new leaf" -- oc sign --ca oldroot --template vpn-server --san dns:new.contoso.com \
    --csr "$T/n.csr" -o "$T/n.pem"
check "openssl: the new leaf verifies against offca's CRL" grep -q ": OK$" <<<"$(v_ossl "$T/n.pem")"
check "GnuTLS: the new leaf verifies" grep -q "Chain verification output: Verified" <<<"$(v_gnutls "$T/n.pem")"
expect_rc 0 "offca revoke of an adopted certificate" -- oc revoke --ca oldroot --serial 1006 --reason superseded
expect_rc 0 "offca revoke of the new leaf" -- oc revoke --ca oldroot --serial "$(openssl x509 -in "$T/n.pem" -noout -serial | cut -d= -f2)" --reason affiliationChanged
expect_rc 0 "crl publish after the revocations" -- oc crl publish
openssl crl -inform DER -in "$T/pub/oldroot.crl" -out "$T/new2.crl.pem"
cat "$O/ca.pem" "$T/new2.crl.pem" >"$T/bundle.pem"; CRL="$T/new2.crl.pem"
check "the next CRL is number 4097" test "$(openssl crl -in "$T/new2.crl.pem" -noout -crlnumber)" = "crlNumber=0x1001"
check "openssl: the adopted leaf revoked by offca is revoked" grep -q "certificate revoked" <<<"$(v_ossl "$O/l7.pem")"
check "openssl: the new leaf revoked by offca is revoked" grep -q "certificate revoked" <<<"$(v_ossl "$T/n.pem")"
check "GnuTLS: the new leaf is revoked" grep -q "The certificate chain is revoked" <<<"$(v_gnutls "$T/n.pem")"

# ---- AD CS: certutil -view csv (the committed fixture) ----
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/adcs.key" -subj '/CN=Contoso AD CS Root' \
    -days 3650 -config "$O/ca.cnf" -extensions v3_ca -out "$T/adcs.pem" 2>/dev/null
softhsm2-util --import "$T/adcs.key" --token adopt-it --label adcs --id a2 --pin 1234 >/dev/null
CU=(ca import adcs --cert "$T/adcs.pem" --key "$(URI adcs)" --utc-offset +01:00 --crl-number 41)
BEFORE=$(state)
for b in "$DATA"/certutil-bad-*.csv; do
    want=$(sed -n 's/^# expect: //p' "$DATA/README" | grep "^${b##*/} " | cut -d' ' -f2-)
    expect_rc 3 "${b##*/} refused" -- oc "${CU[@]}" --certutil-view "$b"
    expect_in "$want" "${b##*/}: the message names it ($want)"
    unchanged "${b##*/}"
done
expect_rc 2 "a bad --utc-offset" -- oc "${CU[@]}" --certutil-view "$DATA/certutil-view.csv" --utc-offset 1h
expect_rc 0 "ca import --certutil-view adopts the AD CS rows" -- oc "${CU[@]}" \
    --certutil-view "$DATA/certutil-view.csv"
expect_in "adopted 4 certificates (2 revoked, 0 on the old CA's last CRL)" "the pending and denied rows are skipped"
expect_rc 0 "list --ca adcs" -- oc list --ca adcs
check "list shows an adopted AD CS serial" grep -q "^1a0000000a1b2c3d4e5f60718293a4b5c6d7e8 " <<<"$OUT"
expect_rc 1 "export of a certificate adopted without its DER" -- oc export 1a0000000a1b2c3d4e5f60718293a4b5c6d7e8
expect_in "no certificate stored" "the message says why"
expect_rc 0 "crl publish" -- oc crl publish
openssl crl -inform DER -in "$T/pub/adcs.crl" -noout -text >"$T/adcs.txt"
A=$(grep -A1 "CRL Number" "$T/adcs.txt"); E=$(grep -A4 "Serial Number: 1A0000000C" "$T/adcs.txt")
check "the AD CS CRL continues at 42" grep -q "^ *42$" <<<"$A"
check "a revoked row is listed with its date in UTC (local 3/2/2025 4:07 PM at +01:00)" \
    grep -q "Revocation Date: Mar  2 15:07:00 2025 GMT" <<<"$E"
check "its reason is carried over (0x1 -- Key Compromise)" grep -q "Key Compromise" <<<"$E"
check "exactly the two revoked rows are listed" test "$(grep -c 'Serial Number' "$T/adcs.txt")" = 2
t_done
