#!/bin/bash
# Issue 3, the good path: every shipped template issues for CSRs made by `openssl req`, and
# openssl verify -x509_strict, GnuTLS certtool and openssl asn1parse judge the result (EKU set,
# critical KU, SAN, CA:FALSE, CDP/AIA, AKID/SKID, the SID extension byte for byte against a
# known vector, MS-WCCE 2.2.2.7.7.4); SID from the operator, the request and the directory;
# mapping strings computed independently; audit, list/show/export; the PKCS#12 flow.
# Bad input: t_issue_bad.sh. The 1,000-CSR batch: t_issue_batch.sh.
. "$(dirname "$0")/common.sh"
offca_setup offca-issue
oc init >/dev/null
oc key generate --label root --alg rsa3072 >/dev/null
oc key generate --label issuing --alg p384 >/dev/null
oc ca create-root root --key "pkcs11:token=offca-issue;object=root;type=private" \
    --subject 'CN=Contoso Root CA,DC=contoso,DC=com' --days 3650 >/dev/null
oc ca create-issuing issuing --parent root --key "pkcs11:token=offca-issue;object=issuing;type=private" \
    --subject 'CN=Contoso Issuing CA 1,O=Contoso,DC=contoso,DC=com' --days 1000 --path-len 0 >/dev/null
oc ca export root -o "$T/root.pem"; oc ca export issuing -o "$T/issuing.pem"
BASE=http://127.0.0.1:18080/pki
SID=S-1-5-21-1004336348-1177238915-682003330-1105
SID_U=S-1-5-21-1004336348-1177238915-682003330-2201
VECTOR=304e06092b06010401823719020441303fa03d060a2b060104018237190201a02f042d532d312d352d32312d313030343333363334382d313137373233383931352d3638323030333333302d31313035
for k in rsa:2048 ec:P-256 ec:P-384; do   # a few subscriber keys, reused across CSRs
    case $k in rsa:*) a=(-algorithm RSA -pkeyopt rsa_keygen_bits:2048) ;;
               ec:*) a=(-algorithm EC -pkeyopt ec_paramgen_curve:${k#ec:}) ;; esac
    openssl genpkey "${a[@]}" -out "$T/${k#*:}.key" 2>/dev/null
done

hexof() { xxd -p | tr -d '\n'; }
# The SID Extension built here from the string, independently of offca (short-form lengths).
tlv() { # tlv TAG HEX: DER TLV with a definite length (short or 0x81/0x82 long form)
    local n=$((${#2} / 2))
    if [ $n -lt 128 ]; then printf '%s%02x%s' "$1" $n "$2"
    elif [ $n -lt 256 ]; then printf '%s81%02x%s' "$1" $n "$2"
    else printf '%s82%04x%s' "$1" $n "$2"; fi
}
sid_ext_hex() {
    local h
    h=$(tlv 04 "$(printf %s "$1" | hexof)")
    h=$(tlv a0 "060a2b060104018237190201$(tlv a0 "$h")")
    tlv 30 "06092b0601040182371902$(tlv 04 "$(tlv 30 "$h")")"
}
# ext_hex CERT OID: the whole Extension (SEQUENCE) as DER hex, cut out at the offsets
# openssl asn1parse reports; empty when the certificate has no such extension.
ext_hex() {
    local der="$T/.ext.der" hdr off hl len
    openssl x509 -in "$1" -outform DER -out "$der" || return 1
    hdr=$(openssl asn1parse -inform DER -in "$der" | grep -B1 -E "OBJECT +:$2\$" | head -n 1)
    [ -n "$hdr" ] || return 0
    off=$(sed -E 's/^ *([0-9]+):.*/\1/' <<<"$hdr"); hl=$(sed -E 's/.*hl= *([0-9]+).*/\1/' <<<"$hdr")
    len=$(sed -E 's/.* l= *([0-9]+).*/\1/' <<<"$hdr")
    xxd -p -s "$off" -l $((hl + len)) "$der" | tr -d '\n'
}
# ext_txt CERT NAME: openssl's text of one extension: "critical|-" then its value lines joined.
ext_txt() {
    local t; t=$(openssl x509 -in "$1" -noout -ext "$2" 2>/dev/null) || return 0
    [ -n "$t" ] || return 0
    case $(head -n 1 <<<"$t") in *critical*) printf 'critical|' ;; *) printf -- '-|' ;; esac
    sed 1d <<<"$t" | sed 's/^ *//' | paste -sd'|'
}
csr() { # csr OUT KEY SUBJ [SAN-config-lines...]: a CSR by openssl req (SAN from a [san] section)
    local out=$1 key=$2 subj=$3; shift 3
    { printf '[req]\ndistinguished_name=dn\n[dn]\n'
      if [ $# -gt 0 ]; then printf '[ext]\nsubjectAltName=@san\n[san]\n'; printf '%s\n' "$@"; fi
    } >"$T/.req.cnf"
    if [ $# -gt 0 ]; then set -- -reqexts ext; fi
    openssl req -new -config "$T/.req.cnf" -key "$key" -subj "$subj" "$@" -out "$out" 2>/dev/null
}
ISS_SKID=$(ext_txt "$T/issuing.pem" subjectKeyIdentifier)
# leaf NAME CERT EKU KU SAN SID|-: what every end-entity certificate must show a relying party.
leaf() {
    local n=$1 c=$2 eku=$3 ku=$4 san=$5 sid=$6 spki skid
    expect_rc 0 "$n: openssl verify -x509_strict" -- \
        openssl verify -x509_strict -CAfile "$T/root.pem" -untrusted "$T/issuing.pem" "$c"
    check "$n: GnuTLS certtool -i parses it" certtool -i --infile "$c" --outfile /dev/null
    check "$n: GnuTLS verifies the chain" bash -c "cat '$c' '$T/issuing.pem' '$T/root.pem' | certtool --verify-chain >/dev/null 2>&1"
    check "$n: EKU is exactly [$eku]" test "$(ext_txt "$c" extendedKeyUsage)" = "-|$eku"
    check "$n: KU critical [$ku]" test "$(ext_txt "$c" keyUsage)" = "critical|$ku"
    check "$n: SAN is exactly [$san]" test "$(ext_txt "$c" subjectAltName)" = "-|$san"
    check "$n: basicConstraints critical CA:FALSE" test "$(ext_txt "$c" basicConstraints)" = "critical|CA:FALSE"
    check "$n: CDP is the issuing CA's" test "$(ext_txt "$c" crlDistributionPoints)" = "-|Full Name:|URI:$BASE/issuing.crl"
    check "$n: AIA caIssuers is the issuing CA's" test "$(ext_txt "$c" authorityInfoAccess)" = "-|CA Issuers - URI:$BASE/issuing.crt"
    check "$n: AKID = issuing CA's SKID" test "$(ext_txt "$c" authorityKeyIdentifier)" = "$ISS_SKID"
    # SKID: RFC 5280 method 1, SHA-1 of the subjectPublicKey BIT STRING (after the unused-bits byte)
    openssl x509 -in "$c" -noout -pubkey | openssl pkey -pubin -outform DER -out "$T/.spki"
    spki=$(openssl asn1parse -inform DER -in "$T/.spki" | grep 'BIT STRING' | tail -n 1 |
           sed -E 's/^ *([0-9]+):.*hl= *([0-9]+) l= *([0-9]+).*/\1 \2 \3/')
    set -- $spki
    skid=$(tail -c +$(($1 + $2 + 2)) "$T/.spki" | head -c $(($3 - 1)) | openssl sha1 -r | cut -c1-40)
    check "$n: SKID = SHA-1 of the public key" test "$(ext_txt "$c" subjectKeyIdentifier | tr -d ':|-' | tr A-F a-f)" = "$skid"
    check "$n: serial is 20 bytes, positive" bash -c "openssl x509 -in '$c' -noout -serial | grep -Eq '^serial=([1-7][0-9A-F]|0[1-9A-F])[0-9A-F]{38}\$'"
    if [ "$sid" = - ]; then
        check "$n: no SID extension" test -z "$(ext_hex "$c" 1.3.6.1.4.1.311.25.2)"
    else
        check "$n: SID extension byte-exact (non-critical)" test "$(ext_hex "$c" 1.3.6.1.4.1.311.25.2)" = "$(sid_ext_hex "$sid")"
    fi
}
days_left() { echo $(( ($(date -d "$(openssl x509 -in "$1" -noout -enddate | cut -d= -f2)" +%s) - $(date +%s) + 43200) / 86400 )); }
upn_der() { # the UPN otherName 1.3.6.1.4.1.311.20.2.3: [0] EXPLICIT UTF8String
    local v; v=$(printf %s "$1" | hexof)
    printf 'a0%02x060a2b060104018237140203a0%02x0c%02x%s' $((${#1} + 16)) $((${#1} + 2)) ${#1} "$v"
}

check "test's own SID encoder reproduces the known vector" test "$(sid_ext_hex "$SID")" = "$VECTOR"

# ---- directory: an Export-Csv file with BOM, #TYPE line, CRLF, extra columns, any order ----
printf '\xef\xbb\xbf#TYPE Microsoft.ActiveDirectory.Management.ADComputer\r\n"DistinguishedName","DNSHostName","Enabled","SamAccountName","SID","UserPrincipalName"\r\n"CN=PC42,OU=Workstations,DC=contoso,DC=com","pc42.contoso.com","True","PC42$","%s",""\r\n"CN=PC43,DC=contoso,DC=com","pc43.contoso.com","True","PC43$","S-1-5-21-1004336348-1177238915-682003330-1106",""\r\n"CN=Alice, Adams,DC=contoso,DC=com","","True","alice","%s","alice@contoso.com"\r\n' \
    "$SID" "$SID_U" >"$T/ad.csv"
expect_rc 0 "directory import of an Export-Csv file (BOM, #TYPE, CRLF)" -- oc directory import "$T/ad.csv"
expect_in "imported 3 principals" "import counts the principals"
expect_rc 0 "directory show by sAMAccountName" -- oc directory show 'PC42$'
expect_in "$SID" "directory show PC42\$ gives its SID"
expect_rc 0 "directory show by UPN (--json)" -- oc --json directory show alice@contoso.com
check "directory show --json: alice's record" test "$(jq -r .sid,.sam <<<"$OUT" | paste -sd,)" = "$SID_U,alice"

# ---- every shipped template ----
csr "$T/pc42-rsa.csr" "$T/2048.key" /CN=pc42.contoso.com DNS.1=pc42.contoso.com
csr "$T/pc42-ec.csr" "$T/P-256.key" /CN=pc42.contoso.com DNS.1=pc42.contoso.com
csr "$T/alice-rsa.csr" "$T/2048.key" /CN=alice
csr "$T/alice-ec.csr" "$T/P-384.key" /CN=alice
RSAKU="Digital Signature, Key Encipherment"
for kt in rsa ec; do
    ku=$RSAKU; [ $kt = ec ] && ku="Digital Signature"
    expect_rc 0 "intune-device $kt: SID from the directory by DNS name" -- \
        oc sign --ca issuing --template intune-device --csr "$T/pc42-$kt.csr" -o "$T/dev-$kt.pem"
    leaf "intune-device $kt" "$T/dev-$kt.pem" "TLS Web Client Authentication" "$ku" "DNS:pc42.contoso.com" "$SID"
    check "intune-device $kt: no SID URL (sid_form extension)" bash -c "! grep -q tag:microsoft <<<'$(ext_txt "$T/dev-$kt.pem" subjectAltName)'"
    check "intune-device $kt: default validity 365 days" test "$(days_left "$T/dev-$kt.pem")" = 365

    expect_rc 0 "intune-device-manual $kt: --sid from the operator" -- oc sign --ca issuing \
        --template intune-device-manual --csr "$T/pc42-$kt.csr" --sid "$SID" -o "$T/man-$kt.pem"
    leaf "intune-device-manual $kt" "$T/man-$kt.pem" "TLS Web Client Authentication" "$ku" "DNS:pc42.contoso.com" "$SID"

    expect_rc 0 "intune-user $kt: UPN from --san, SID from the directory by UPN" -- oc sign --ca issuing \
        --template intune-user --csr "$T/alice-$kt.csr" --san upn:alice@contoso.com -o "$T/user-$kt.pem"
    leaf "intune-user $kt" "$T/user-$kt.pem" "TLS Web Client Authentication" "$ku" \
        "othername: UPN::alice@contoso.com, URI:tag:microsoft.com,2022-09-14:sid:$SID_U" "$SID_U"
    check "intune-user $kt: UPN otherName DER" bash -c "grep -q '$(upn_der alice@contoso.com)' <<<'$(ext_hex "$T/user-$kt.pem" "X509v3 Subject Alternative Name")'"

    expect_rc 0 "smartcard-logon $kt" -- oc sign --ca issuing --template smartcard-logon \
        --csr "$T/alice-$kt.csr" --san upn:alice@contoso.com -o "$T/sc-$kt.pem"
    leaf "smartcard-logon $kt" "$T/sc-$kt.pem" "TLS Web Client Authentication, Microsoft Smartcard Login" \
        "$ku" "othername: UPN::alice@contoso.com" "$SID_U"
    check "smartcard-logon $kt: UPN otherName DER" bash -c "grep -q '$(upn_der alice@contoso.com)' <<<'$(ext_hex "$T/sc-$kt.pem" "X509v3 Subject Alternative Name")'"
    check "smartcard-logon $kt: template name v1 = BMPString SmartcardLogon" test \
        "$(ext_hex "$T/sc-$kt.pem" 1.3.6.1.4.1.311.20.2)" = "302b06092b0601040182371402041e1e1c0053006d0061007200740063006100720064004c006f0067006f006e"
    check "smartcard-logon $kt: application policies mirror the EKU" test \
        "$(ext_hex "$T/sc-$kt.pem" 1.3.6.1.4.1.311.21.10)" = "302706092b060104018237150a041a3018300a06082b06010505070302300c060a2b0601040182371402" \
        -o "$(ext_hex "$T/sc-$kt.pem" 1.3.6.1.4.1.311.21.10)" = "302906092b060104018237150a041c301a300a06082b06010505070302300c060a2b060104018237140202"

    csr "$T/ap-$kt.csr" "$T/$([ $kt = rsa ] && echo 2048 || echo P-256).key" /CN=pc44.contoso.com DNS.1=pc44.contoso.com
    expect_rc 0 "autopilot-provisioning $kt" -- oc sign --ca issuing --template autopilot-provisioning \
        --csr "$T/ap-$kt.csr" -o "$T/ap-$kt.pem"
    leaf "autopilot-provisioning $kt" "$T/ap-$kt.pem" "TLS Web Client Authentication" "$ku" "DNS:pc44.contoso.com" -
    check "autopilot-provisioning $kt: 5-day validity" test "$(days_left "$T/ap-$kt.pem")" = 5

    csr "$T/vpn-$kt.csr" "$T/$([ $kt = rsa ] && echo 2048 || echo P-384).key" /CN=ignored DNS.1=vpn.contoso.com
    expect_rc 0 "vpn-server $kt: --subject override, --san ip added" -- oc sign --ca issuing \
        --template vpn-server --csr "$T/vpn-$kt.csr" --subject 'CN=vpn.contoso.com,O=Contoso' \
        --san ip:192.0.2.10 --days 30 -o "$T/vpn-$kt.pem"
    leaf "vpn-server $kt" "$T/vpn-$kt.pem" "TLS Web Server Authentication" "$ku" \
        "IP Address:192.0.2.10, DNS:vpn.contoso.com" -
    check "vpn-server $kt: subject replaced" test "$(openssl x509 -in "$T/vpn-$kt.pem" -noout -subject -nameopt RFC2253)" = "subject=CN=vpn.contoso.com,O=Contoso"
    check "vpn-server $kt: --days 30" test "$(days_left "$T/vpn-$kt.pem")" = 30

    csr "$T/nps-$kt.csr" "$T/$([ $kt = rsa ] && echo 2048 || echo P-256).key" /CN=nps1.contoso.com \
        DNS.1=nps1.contoso.com DNS.2=radius.contoso.com
    expect_rc 0 "wifi-server $kt: DER output" -- oc sign --ca issuing --template wifi-server \
        --csr "$T/nps-$kt.csr" --der -o "$T/nps-$kt.der"
    openssl x509 -inform DER -in "$T/nps-$kt.der" -out "$T/nps-$kt.pem"
    leaf "wifi-server $kt" "$T/nps-$kt.pem" "TLS Web Server Authentication" "$ku" \
        "DNS:nps1.contoso.com, DNS:radius.contoso.com" -
done
check "certificate files are mode 0644" test "$(stat -c %a "$T/dev-rsa.pem")" = 644
check "the RSA leaf is signed ecdsa-with-SHA384 by the P-384 issuing CA" bash -c \
    "openssl x509 -in '$T/dev-rsa.pem' -noout -text | grep -q 'Signature Algorithm: ecdsa-with-SHA384'"
expect_rc 0 "PEM to stdout without -o" -- oc sign --ca issuing --template wifi-server --csr "$T/nps-ec.csr"
check "stdout holds one certificate that verifies" bash -c "openssl verify -x509_strict -CAfile '$T/root.pem' -untrusted '$T/issuing.pem' <<<'$OUT' >/dev/null"
expect_rc 0 "--days within bounds honoured (intune-user 730)" -- oc sign --ca issuing \
    --template intune-user --csr "$T/alice-ec.csr" --san upn:alice@contoso.com --days 730 -o "$T/u730.pem"
check "validity 730 days" test "$(days_left "$T/u730.pem")" = 730

# ---- SID from the request (a template dir with a sid_source = "request" template) ----
mkdir -p "$T/tmpl"; cp "$T"/templates/*.toml "$T/tmpl/"
cat >"$T/tmpl/device-request.toml" <<'TOML'
name = "device-request"
key_usage = ["digitalSignature", "keyEncipherment"]
honour_extensions = ["san", "sid"]
sid = "required"
sid_form = "both"
sid_source = "request"
[validity]
default_days = 30
[eku]
required = ["clientAuth"]
[subject]
required = ["CN"]
[san]
allowed = ["dns"]
required = ["dns"]
[key]
allow_reuse = true
TOML
sed "s#^dir = \"$T/templates\"#dir = \"$T/tmpl\"#" "$T/ca.toml" >"$T/ca2.toml"
oc2() { "$OFFCA" -c "$T/ca2.toml" "$@"; }
expect_rc 0 "template check of the request template" -- oc2 template check "$T/tmpl/device-request.toml"
csr "$T/req-url.csr" "$T/2048.key" /CN=pc43.contoso.com DNS.1=pc43.contoso.com \
    "URI.1=tag:microsoft.com,2022-09-14:sid:S-1-5-21-1004336348-1177238915-682003330-1106"
expect_rc 0 "sid_source request: SID from the CSR's SAN URL" -- oc2 sign --ca issuing \
    --template device-request --csr "$T/req-url.csr" -o "$T/req-url.pem"
leaf "request SAN URL" "$T/req-url.pem" "TLS Web Client Authentication" "$RSAKU" \
    "DNS:pc43.contoso.com, URI:tag:microsoft.com,2022-09-14:sid:S-1-5-21-1004336348-1177238915-682003330-1106" \
    S-1-5-21-1004336348-1177238915-682003330-1106
{ printf '[req]\ndistinguished_name=dn\n[dn]\n[ext]\nsubjectAltName=DNS:pc42.contoso.com\n'
  printf '1.3.6.1.4.1.311.25.2=DER:%s\n' "${VECTOR#304e06092b06010401823719020441}"; } >"$T/sidext.cnf"
openssl req -new -config "$T/sidext.cnf" -reqexts ext -key "$T/P-256.key" -subj /CN=pc42.contoso.com -out "$T/req-ext.csr"
expect_rc 0 "sid_source request: SID from the CSR's SID extension" -- oc2 sign --ca issuing \
    --template device-request --csr "$T/req-ext.csr" -o "$T/req-ext.pem"
leaf "request SID extension" "$T/req-ext.pem" "TLS Web Client Authentication" "Digital Signature" \
    "DNS:pc42.contoso.com, URI:tag:microsoft.com,2022-09-14:sid:$SID" "$SID"
expect_rc 1 "sid_source request: CSR without a SID refused" -- oc2 sign --ca issuing \
    --template device-request --csr "$T/pc42-rsa.csr" -o "$T/none.pem"
expect_in "sid" "no-SID message names the sid"
check "nothing written for the refused request" test ! -e "$T/none.pem"

# a template that accepts any SID (not only domain SIDs): the longest SIDs need long-form lengths
sed -e 's/^name = .*/name = "any-sid"/' -e 's/^sid_source = .*/&\nsid_domain_only = false/' \
    "$T/tmpl/intune-device-manual.toml" >"$T/tmpl/any-sid.toml"
LONG="S-1-4294967295$(for i in $(seq 15); do printf -- -4294967295; done)"
expect_rc 0 "a ${#LONG}-character SID (15 sub-authorities)" -- oc2 sign --ca issuing --template any-sid \
    --csr "$T/pc42-ec.csr" --sid "$LONG" -o "$T/long-sid.pem"
check "long SID: extension byte-exact with long-form lengths" test \
    "$(ext_hex "$T/long-sid.pem" 1.3.6.1.4.1.311.25.2)" = "$(sid_ext_hex "$LONG")"
check "long SID: the extension length really is long-form" bash -c "[[ '$(sid_ext_hex "$LONG")' == 3081* ]]"
expect_rc 0 "long SID certificate verifies" -- openssl verify -x509_strict -CAfile "$T/root.pem" -untrusted "$T/issuing.pem" "$T/long-sid.pem"
expect_rc 0 "hex identifier authority S-1-0x100000000000-1 accepted and kept canonical" -- oc2 sign \
    --ca issuing --template any-sid --csr "$T/pc42-ec.csr" --sid S-1-0x100000000000-1 -o "$T/hex-sid.pem"
check "hex SID: extension byte-exact" test "$(ext_hex "$T/hex-sid.pem" 1.3.6.1.4.1.311.25.2)" = "$(sid_ext_hex S-1-0x100000000000-1)"
expect_rc 0 "a --san differing from the CSR's only in case" -- oc sign --ca issuing \
    --template intune-device-manual --csr "$T/pc42-rsa.csr" --sid "$SID" --san dns:PC42.Contoso.com -o "$T/case.pem"
check "one DNS name, not two spellings of it" test "$(ext_txt "$T/case.pem" subjectAltName)" = "-|DNS:PC42.Contoso.com"

# ---- directory: no match, ambiguous, re-import replaces ----
csr "$T/pc99.csr" "$T/2048.key" /CN=pc99.contoso.com DNS.1=pc99.contoso.com
expect_rc 1 "directory: no entry for the DNS name refused" -- oc sign --ca issuing \
    --template intune-device --csr "$T/pc99.csr" -o "$T/pc99.pem"
expect_in "no directory entry for dns:pc99.contoso.com" "no-match message"
csr "$T/two.csr" "$T/2048.key" /CN=pc42.contoso.com DNS.1=pc42.contoso.com DNS.2=pc43.contoso.com
expect_rc 1 "directory: SANs naming two principals (ambiguous SID) refused" -- oc sign --ca issuing \
    --template intune-device --csr "$T/two.csr" -o "$T/two.pem"
expect_in "ambiguous" "ambiguous message"
check "nothing written for the ambiguous request" test ! -e "$T/two.pem"
printf '"SamAccountName","DNSHostName","objectSid"\n"PC99$","pc99.contoso.com","AQUAAAAAAAUVAAAA3PTcO4M9K0aCi6YoUQQAAA=="\n' >"$T/ad2.csv"
expect_rc 0 "re-import (objectSid in base64) with --replace replaces the directory" -- oc directory import --replace "$T/ad2.csv"
expect_rc 0 "pc99 now issues with the SID decoded from base64 objectSid" -- oc sign --ca issuing \
    --template intune-device --csr "$T/pc99.csr" -o "$T/pc99.pem"
check "pc99: SID extension is the known vector" test "$(ext_hex "$T/pc99.pem" 1.3.6.1.4.1.311.25.2)" = "$VECTOR"
expect_rc 1 "pc42 is gone after the re-import" -- oc sign --ca issuing --template intune-device \
    --csr "$T/pc42-rsa.csr" -o "$T/gone.pem"
expect_rc 2 "directory show of a removed principal" -- oc directory show 'PC42$'

# ---- mapping: computed here from the certificate ----
for c in dev-rsa sc-ec; do
    ser=$(openssl x509 -in "$T/$c.pem" -noout -serial | cut -d= -f2 | tr A-F a-f)
    rev=$(sed -E 's/(..)/\1\n/g' <<<"$ser" | grep . | tac | tr -d '\n')
    ski=$(ext_txt "$T/$c.pem" subjectKeyIdentifier | tr -d ':|-' | tr A-F a-f)
    iss=$(openssl x509 -in "$T/issuing.pem" -noout -subject -nameopt RFC2253 | sed 's/^subject=//' |
          tr ',' '\n' | tac | paste -sd,)
    expect_rc 0 "mapping $c" -- oc mapping "$ser"
    expect_in "X509IssuerSerialNumber  X509:<I>$iss<SR>$rev" "mapping $c: issuer MSB first, serial bytes reversed"
    expect_in "X509SKI                 X509:<SKI>$ski" "mapping $c: X509SKI is the certificate's SKID"
    expect_in "X509SHA1PublicKey       X509:<SHA1-PUKEY>" "mapping $c: X509SHA1PublicKey offered"
done
check "mapping: serial reversal matches a worked example (bytes reversed, not digits)" test \
    "$(sed -E 's/(..)/\1\n/g' <<<6200000032e1a5c3915131097b000000000032 | grep . | tac | tr -d '\n')" = 3200000000007b09315191c3a5e13200000062
expect_rc 0 "mapping for the user certificate" -- oc mapping "$ser"
expect_in "Set-ADUser -Add @{altSecurityIdentities='X509:<I>$iss<SR>$rev'}" "mapping: Set-ADUser line for a user"
ser=$(openssl x509 -in "$T/dev-rsa.pem" -noout -serial | cut -d= -f2)
expect_rc 0 "mapping for the device certificate" -- oc mapping "$ser"
expect_in "Set-ADComputer" "mapping: Set-ADComputer line for a device"
expect_in "Set-ADComputer 'pc42' -Add @{altSecurityIdentities='X509:<I>" "mapping: the computer named by its DNS host label"
expect_rc 0 "mapping --json" -- oc --json mapping "$ser"
check "mapping --json X509SKI" test "$(jq -r .X509SKI <<<"$OUT")" = "X509:<SKI>$(ext_txt "$T/dev-rsa.pem" subjectKeyIdentifier | tr -d ':|-' | tr A-F a-f)"

# ---- list / show / export ----
expect_rc 0 "list --json" -- oc --json list
NCERT=$(jq length <<<"$OUT")
check "list --json: the 22 leaves issued so far and the issuing CA" test "$NCERT" = 23
check "list --json: each leaf carries template and sid" test \
    "$(jq -r '[.[]|select(.template=="intune-device")|.sid]|unique|join(",")' <<<"$OUT")" = "$SID"
expect_rc 0 "list --status valid" -- oc list --status valid
check "list --status valid: every line valid" test "$(grep -vc ' valid ' <<<"$OUT")" = 0
expect_rc 0 "list --status revoked: none yet" -- oc --json list --status revoked
check "no revoked certificates" test "$(jq length <<<"$OUT")" = 0
expect_rc 0 "list --expiring 6" -- oc --json list --expiring 6
check "list --expiring 6: the two 5-day autopilot certificates" test \
    "$(jq -r '[.[].template]|unique|join(",")' <<<"$OUT"),$(jq length <<<"$OUT")" = "autopilot-provisioning,2"
expect_rc 0 "list --expiring 31 --ca issuing" -- oc --json list --expiring 31 --ca issuing
check "list --expiring 31: autopilot, vpn (30 days), device-request (30 days)" test \
    "$(jq -r '[.[].template]|sort|join(",")' <<<"$OUT")" = "autopilot-provisioning,autopilot-provisioning,device-request,device-request,vpn-server,vpn-server"
expect_rc 0 "list --ca root: only the issuing CA certificate" -- oc --json list --ca root
check "list --ca root has 1" test "$(jq length <<<"$OUT")" = 1
expect_rc 2 "list --status bogus is a usage error" -- oc list --status bogus
ser=$(openssl x509 -in "$T/user-rsa.pem" -noout -serial | cut -d= -f2)
expect_rc 0 "show --json (serial with colons, upper case)" -- oc --json show "$(sed -E 's/(..)/\1:/g;s/:$//' <<<"$ser")"
check "show --json: template, SAN, SID" test "$(jq -r '.template,.sans,.sid' <<<"$OUT" | paste -sd'|')" = \
    "intune-user|upn:alice@contoso.com"$'\n'"uri:tag:microsoft.com,2022-09-14:sid:$SID_U|$SID_U" -o \
    "$(jq -r '.template,.sid' <<<"$OUT" | paste -sd'|')" = "intune-user|$SID_U"
expect_rc 0 "export PEM" -- oc export "$ser" -o "$T/exp.pem"
check "export PEM is the issued certificate" cmp "$T/exp.pem" "$T/user-rsa.pem"
expect_rc 0 "export --der" -- oc export "$ser" --der -o "$T/exp.der"
check "export --der is its DER" cmp "$T/exp.der" <(openssl x509 -in "$T/user-rsa.pem" -outform DER)
expect_rc 2 "export of an unknown serial" -- oc export 0123456789abcdef
expect_in "0123456789abcdef" "unknown serial named"

# ---- PKCS#12 flow ----
(umask 077; printf 'correct horse battery\n' >"$T/pfx.pass")
expect_rc 0 "--generate-key rsa2048 --pfx" -- oc sign --ca issuing --template vpn-server \
    --generate-key rsa2048 --subject CN=gw.contoso.com --san dns:gw.contoso.com \
    --pfx "$T/gw.p12" --pfx-pass-file "$T/pfx.pass"
check "PKCS#12 file is mode 0600" test "$(stat -c %a "$T/gw.p12")" = 600
INFO=$(openssl pkcs12 -info -noout -in "$T/gw.p12" -passin file:"$T/pfx.pass" 2>&1)
check "PKCS#12: MAC SHA256" grep -q "MAC: sha256" <<<"$INFO"
check "PKCS#12: PBES2 + PBKDF2 + AES-256-CBC for key and certificates" test \
    "$(grep -c 'PBES2, PBKDF2, AES-256-CBC' <<<"$INFO")" = 2
check "PKCS#12: no RC2 / 3DES" bash -c "! grep -Eqi 'rc2|des' <<<'$INFO'"
openssl pkcs12 -in "$T/gw.p12" -passin file:"$T/pfx.pass" -nokeys -clcerts -out "$T/gw.pem" 2>/dev/null
openssl pkcs12 -in "$T/gw.p12" -passin file:"$T/pfx.pass" -nocerts -nodes -out "$T/gw.key" 2>/dev/null
check "PKCS#12: the key matches the certificate" test \
    "$(openssl pkey -in "$T/gw.key" -pubout | sha256sum)" = "$(openssl x509 -in "$T/gw.pem" -noout -pubkey | sha256sum)"
leaf "PKCS#12 vpn-server" "$T/gw.pem" "TLS Web Server Authentication" "$RSAKU" "DNS:gw.contoso.com" -
check "PKCS#12: RSA-2048 key" bash -c "openssl pkey -in '$T/gw.key' -noout -text | grep -q '2048 bit'"
KEYTAIL=$(openssl pkey -in "$T/gw.key" -outform DER | tail -c 48 | hexof)
check "PKCS#12: no piece of the private key in the store" bash -c "! xxd -p '$T/store/data.mdb' | tr -d '\n' | grep -q '$KEYTAIL'"
cp "$T/pfx.pass" "$T/pfx.pass.2"
chmod 644 "$T/pfx.pass"
expect_rc 3 "--pfx-pass-file readable by others refused" -- oc sign --ca issuing --template vpn-server \
    --generate-key p256 --subject CN=gw2.contoso.com --san dns:gw2.contoso.com --pfx "$T/gw2.p12" --pfx-pass-file "$T/pfx.pass"
expect_in "0600" "pass-file mode message"
check "no PKCS#12 written" test ! -e "$T/gw2.p12"

expect_rc 0 "--generate-key p256 --pfx with --sid (intune-device-manual)" -- oc sign --ca issuing \
    --template intune-device-manual --generate-key p256 --subject CN=pc45.contoso.com \
    --san dns:pc45.contoso.com --sid "$SID" --pfx "$T/pc45.p12" --pfx-pass-file "$T/pfx.pass.2"
openssl pkcs12 -in "$T/pc45.p12" -passin file:"$T/pfx.pass.2" -nokeys -clcerts -out "$T/pc45.pem" 2>/dev/null
openssl pkcs12 -in "$T/pc45.p12" -passin file:"$T/pfx.pass.2" -nocerts -nodes -out "$T/pc45.key" 2>/dev/null
leaf "PKCS#12 p256" "$T/pc45.pem" "TLS Web Client Authentication" "Digital Signature" "DNS:pc45.contoso.com" "$SID"
check "PKCS#12 p256: P-256 key that matches" test "$(openssl pkey -in "$T/pc45.key" -pubout)" = "$(openssl x509 -in "$T/pc45.pem" -noout -pubkey)"
check "PKCS#12 p256: prime256v1" bash -c "openssl pkey -in '$T/pc45.key' -noout -text | grep -q 'NIST CURVE: P-256'"

# ---- audit ----
expect_rc 0 "audit list --json" -- oc audit list --json
check "audit: one cert.issue record per issued leaf (listed leaves + 2 PKCS#12)" test \
    "$(jq '[.[]|select(.action=="cert.issue" and .result=="ok")]|length' <<<"$OUT")" = $((NCERT - 1 + 2))
check "audit: the directory imports recorded" test "$(jq '[.[]|select(.action|test("dir"))]|length' <<<"$OUT")" = 2
ser=$(openssl x509 -in "$T/dev-rsa.pem" -noout -serial | cut -d= -f2 | tr A-F a-f)
check "audit: the issue record names serial, template and SID" test \
    "$(jq -r --arg s "$ser" '.[]|select(.object==$s)|.detail' <<<"$OUT")" = "template=intune-device subject=CN=pc42.contoso.com sid=$SID"
expect_rc 0 "audit verify" -- oc audit verify

# ---- --json stays valid JSON when a recorded name is not UTF-8 ----
latin1=$(printf '%s/ad-\xe9t\xe9.csv' "$T")      # a Latin-1 file name: bytes that are not UTF-8
cp "$T/ad2.csv" "$latin1"
expect_rc 0 "directory import from a file whose name is not UTF-8" -- oc directory import "$latin1"
expect_rc 0 "audit list --json after it" -- oc audit list --json
check "audit list --json is valid UTF-8 (iconv is strict; jq would repair it)" \
    iconv -f UTF-8 -t UTF-8 -o /dev/null <<<"$OUT"
check "audit list --json is one JSON document" jq -e 'length > 0' <<<"$OUT"
check "the bytes that are not UTF-8 are written as U+FFFD, the rest as it was" grep -qF \
    "\"object\":\"$T/ad-$(printf '\xef\xbf\xbd')t$(printf '\xef\xbf\xbd').csv\"" <<<"$OUT"

# Every certificate and CRL this script made lints clean (offca lint, each with its issuer).
shopt -s nullglob
lint_clean lint "$T"/*.pem "$T"/*.der "$T"/*.crt "$T"/*.cer "$T"/*.crl "$T"/pub/*.crt "$T"/pub/*.crl
shopt -u nullglob
t_done
