#!/bin/bash
# Issue 12, FreeRADIUS as the relying party across CA generations: EAP-TLS (eapol_test against
# a real freeradius -X) with check_crl = yes and check_all_crl = yes, its CA directory (ca_path)
# holding the root and every CRL: the root's and each key generation's of the issuing CA, hashed
# as OpenSSL's directory lookup wants them (openssl rehash: HASH.0, HASH.rN; the issuing CA's
# key 0 and key 2 CRLs share one name hash). The client sends its chain: its leaf and the CA
# certificate of the generation that issued it. Leaves of key 0 (before and after a same-key
# renewal) and of a new key are accepted; one revoked leaf of each key generation is rejected.
# Why the issuing CA certificates are NOT in ca_path: FreeRADIUS verifies with OpenSSL's
# X509_V_FLAG_PARTIAL_CHAIN, so a CA certificate found in ca_path ends the chain as its trust
# anchor, and check_all_crl then wants that anchor's CRL from an issuer outside the chain:
# "unable to get certificate CRL" for every logon (shown below with openssl verify
# -partial_chain, which is what FreeRADIUS does). Without the root's CRL every logon fails too.
. "$(dirname "$0")/common.sh"
. "$(dirname "$0")/relying.sh"
command -v freeradius >/dev/null || skip_all "freeradius is not installed (Debian: freeradius)"
command -v eapol_test >/dev/null || skip_all "eapol_test is not installed (Debian: eapoltest)"
offca_setup renew-radius
URI() { echo "pkcs11:token=renew-radius;object=$1;type=private"; }
ser() { openssl x509 -in "$1" -noout -serial | cut -d= -f2; }
der2pem() { openssl x509 -inform DER -in "$1" -out "$2"; }
rad_client_template "$T/templates"
issue() { # issue TEMPLATE NAME: $T/NAME.pem (+ .key) issued by iss
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/$2.key" \
        -subj "/CN=$2" -out "$T/$2.csr" 2>/dev/null
    oc sign --ca iss --template "$1" --csr "$T/$2.csr" --san "dns:$2.example" -o "$T/$2.pem" >/dev/null
}

# ---- the hierarchy through its generations: key 0, same-key renewal, new key ----
oc init >/dev/null
for k in root iss iss2; do oc key generate --label $k --alg p256 >/dev/null; done
oc ca create-root root --key "$(URI root)" --subject 'CN=Radius Root' >/dev/null
oc ca create-issuing iss --parent root --key "$(URI iss)" --subject 'CN=Radius Iss' >/dev/null
issue vpn-server radius; issue radius-client g0; issue radius-client r0
oc ca renew iss --same-key >/dev/null
issue radius-client g1; issue radius-client r1
oc ca renew iss --new-key "$(URI iss2)" >/dev/null
issue radius-client g2; issue radius-client r2
for l in r0 r1 r2; do oc revoke --ca iss --serial "$(ser "$T/$l.pem")" >/dev/null; done
expect_rc 0 "crl publish: every key generation" -- oc crl publish
expect_in "iss(2): published CRL 1" "the new key's CRL"

# ---- FreeRADIUS: its CA directory, the eap module, one virtual server on a free port ----
for f in root iss 'iss(1)' 'iss(2)'; do der2pem "$T/pub/$f.crt" "$T/$f.ca.pem"; done
expect_rc 0 "the CA directory: the root and the three CRLs, openssl rehash" -- \
    rad_cadir "$T/cadir" "$T/root.ca.pem" "$T/pub/root.crl" "$T/pub/iss.crl" "$T/pub/iss(2).crl"
check "two CRLs under the issuing CA's one name hash (key 0 and key 2)" \
    test "$(ls "$T/cadir" | grep -c "^$(openssl x509 -in "$T/iss.ca.pem" -noout -hash)\.r[0-9]$")" = 2
# each leaf with the CA certificate of the generation that issued it (what a client sends)
for l in g0:iss r0:iss g1:'iss(1)' r1:'iss(1)' g2:'iss(2)' r2:'iss(2)'; do
    cat "$T/${l%%:*}.pem" "$T/${l#*:}.ca.pem" >"$T/${l%%:*}.chain.pem"
done
expect_rc 2 "why not the issuing CA in ca_path: as a partial-chain anchor it has no CRL issuer" -- \
    openssl verify -CApath "$T/cadir" -CAfile "$T/iss(1).ca.pem" -partial_chain -crl_check_all \
    -purpose sslclient "$T/g1.pem"
expect_in "unable to get certificate CRL" "  ... what FreeRADIUS would say for every logon"
expect_rc 0 "openssl (partial chain, as FreeRADIUS): g1 with its chain verifies through ca_path" -- \
    openssl verify -CApath "$T/cadir" -partial_chain -crl_check_all -purpose sslclient \
    -untrusted "$T/iss(1).ca.pem" "$T/g1.pem"
cat "$T/radius.pem" "$T/iss(2).ca.pem" >"$T/server-chain.pem"
rad_start "$T/cadir" "$T/radius.key" "$T/server-chain.pem" "$T/rlog/X.log"
check "freeradius is ready (check_crl and check_all_crl on)" grep -q "Ready to process requests" "$T/rlog/X.log"
grep -q "Ready to process requests" "$T/rlog/X.log" || { tail -30 "$T/rlog/X.log"; t_done; exit 1; }

for l in g0 g1 g2; do
    expect_rc 0 "EAP-TLS: $l (a good leaf of its generation) is accepted" -- rad_eap $l
    check "$l: Access-Accept" grep -q "Access-Accept" "$T/$l.eap.log"
done
for l in r0 r1 r2; do
    rc=0; rad_eap $l || rc=$?
    check "EAP-TLS: $l (revoked on its own key's CRL) is refused" test "$rc" != 0
    check "$l: Access-Reject, no Access-Accept" bash -c \
        "grep -q Access-Reject '$T/$l.eap.log' && ! grep -q Access-Accept '$T/$l.eap.log'"
done
check "freeradius: the three refused as certificate revoked" \
    test "$(grep -c 'OpenSSL says error 23 : certificate revoked' "$T/rlog/X.log")" = 3

# ---- without the root's CRL, check_all_crl cannot check the issuing CA: every logon fails ----
rad_stop
rad_cadir "$T/cadir" "$T/root.ca.pem" "$T/pub/iss.crl" "$T/pub/iss(2).crl" >/dev/null
rad_start "$T/cadir" "$T/radius.key" "$T/server-chain.pem" "$T/rlog/X2.log"
rc=0; rad_eap g2 || rc=$?
check "without the root's CRL: even a good leaf is refused" test "$rc" != 0
check "g2: Access-Reject" grep -q "Access-Reject" "$T/g2.eap.log"
check "freeradius: unable to get certificate CRL" grep -q "unable to get certificate CRL" "$T/rlog/X2.log"
t_done
