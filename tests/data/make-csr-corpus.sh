#!/bin/sh
# make-csr-corpus.sh — regenerate the CSR corpus in tests/data/{good,bad}/csr/ (test_csr.c).
# Needs only openssl and python3 (no extra modules). Keys are throwaway and not committed.
# Run from anywhere: sh tests/data/make-csr-corpus.sh
#
# Crafted requests (hostile content with a VALID signature, so the parser must refuse them for the
# intended reason and not merely because the signature fails):
#   1. build the CertificationRequestInfo with `openssl asn1parse -genconf` (cri.cnf),
#   2. sign its DER with `openssl dgst -sha256 -sign key`,
#   3. assemble SEQUENCE { cri, ecdsa-with-SHA256, BIT STRING sig } with -genconf again, which
#      re-encodes the same [cri] sections byte for byte.
# crafted-ok.der runs the same recipe with nothing hostile, proving the recipe itself is sound.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
good="$here/good/csr"; bad="$here/bad/csr"
mkdir -p "$good" "$bad"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
SID=S-1-5-21-1004336348-1177238915-682003330-1105

# ---- good: plain requests, one per key type, PEM and DER ----------------------------------------
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$tmp/rsa.key" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/p256.key"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$tmp/p384.key"
for k in rsa2048:rsa p256:p256 p384:p384; do
    name=${k%%:*}; key=${k#*:}
    openssl req -new -key "$tmp/$key.key" -subj "/DC=com/DC=contoso/CN=$name.contoso.com" \
        -out "$good/$name.pem"
    openssl req -in "$good/$name.pem" -outform DER -out "$good/$name.der"
done

# SAN with a DNS name, a UPN otherName and the SID URL (the form Intune SCEP requests carry)
cat > "$tmp/san.cnf" <<EOF
[req]
distinguished_name = dn
prompt = no
req_extensions = ext
[dn]
CN = user@contoso.com
[ext]
subjectAltName = @san
[san]
DNS.1 = ws01.contoso.com
URI.1 = tag:microsoft.com,2022-09-14:sid:$SID
otherName.1 = 1.3.6.1.4.1.311.20.2.3;UTF8:user@contoso.com
EOF
openssl req -new -key "$tmp/p256.key" -config "$tmp/san.cnf" -out "$good/san-sid.pem"
openssl req -in "$good/san-sid.pem" -outform DER -out "$good/san-sid.der"

# PEM variants a parser must accept: old label, leading whitespace, CRLF line ends
sed 's/CERTIFICATE REQUEST-----/NEW CERTIFICATE REQUEST-----/' "$good/p256.pem" > "$good/p256-new-label.pem"
{ printf '\n  \t\n'; cat "$good/p256.pem"; printf '\n\n'; } > "$good/p256-whitespace.pem"
sed 's/$/\r/' "$good/p384.pem" > "$good/p384-crlf.pem"

# ---- bad: mutations of good requests -------------------------------------------------------------
python3 - "$good" "$bad" <<'EOF'
import random, sys
good, bad = sys.argv[1], sys.argv[2]
der = open(good + "/rsa2048.der", "rb").read()
sig = bytearray(der); sig[-1] ^= 0x01                       # last byte of the RSA signature
open(bad + "/bad-signature.der", "wb").write(bytes(sig))
open(bad + "/trailing-garbage.der", "wb").write(der + b"garbage\n")
open(bad + "/trailing-zero.der", "wb").write(der + b"\x00")
open(bad + "/truncated.der", "wb").write(der[:200])
rng = random.Random(4180)                                   # reproducible "random" bytes
open(bad + "/random.bin", "wb").write(bytes([0x17]) + bytes(rng.randrange(256) for _ in range(511)))
open(bad + "/empty.der", "wb").write(b"")
open(bad + "/whitespace-only.pem", "wb").write(b"  \n\r\n\t\n")
pem = open(good + "/p256.pem", "rb").read()
lines = pem.split(b"\n")
lines[2] = lines[2][:10] + b"!" + lines[2][11:]             # not base64
open(bad + "/bad-base64.pem", "wb").write(b"\n".join(lines))
open(bad + "/two-blocks.pem", "wb").write(pem + open(good + "/rsa2048.pem", "rb").read())
open(bad + "/text-after-end.pem", "wb").write(pem + b"hello\n")
EOF
# a PEM whose base64 body decodes to DER followed by trailing bytes
{ echo "-----BEGIN CERTIFICATE REQUEST-----"; openssl base64 -in "$bad/trailing-garbage.der";
  echo "-----END CERTIFICATE REQUEST-----"; } > "$bad/der-in-pem-trailing.pem"
# a certificate where a request was expected
openssl req -x509 -key "$tmp/p256.key" -subj "/CN=not a request" -days 1 -out "$bad/certificate.pem"

# ---- crafted: hostile content, valid signature ---------------------------------------------------
point=$(openssl pkey -in "$tmp/p256.key" -pubout -outform DER |
        python3 -c 'import sys; print(sys.stdin.buffer.read()[-65:].hex())')

# craft NAME VERSION SUBJECT_SECTION ATTRS_SECTION: writes $bad/NAME.der (or $good with NAME=ok)
craft() {
    name=$1; out=$2; version=$3; subj=$4; attrs=$5
    cat > "$tmp/cri.cnf" <<EOF
asn1 = SEQUENCE:cri
[cri]
version = INTEGER:$version
subject = SEQUENCE:$subj
spki = SEQUENCE:spki
attributes = IMPLICIT:0,SET:$attrs
[spki]
alg = SEQUENCE:ecalg
key = FORMAT:HEX,BITSTRING:$point
[ecalg]
oid = OID:id-ecPublicKey
curve = OID:prime256v1

# subjects ------------------------------------------------------------
[subj_plain]
rdn1 = SET:rdn_cn_plain
[rdn_cn_plain]
atv = SEQUENCE:atv_cn_plain
[atv_cn_plain]
type = OID:commonName
value = UTF8String:crafted.contoso.com

# CN = "admin\0.evil.com": UTF8String tag (12) over raw bytes with a NUL
[subj_nul]
rdn1 = SET:rdn_cn_nul
[rdn_cn_nul]
atv = SEQUENCE:atv_cn_nul
[atv_cn_nul]
type = OID:commonName
value = IMPLICIT:12U,FORMAT:HEX,OCTETSTRING:61646d696e002e6576696c2e636f6d

# attributes ----------------------------------------------------------
[attrs_none]
[attrs_one_san]
a1 = SEQUENCE:extreq_one
[attrs_dup_san]
a1 = SEQUENCE:extreq_dup
[attrs_two_extreq]
a1 = SEQUENCE:extreq_one
a2 = SEQUENCE:extreq_one_b

[extreq_one]
type = OID:extReq
values = SET:exts_one_wrap
[extreq_one_b]
type = OID:extReq
values = SET:exts_b_wrap
[extreq_dup]
type = OID:extReq
values = SET:exts_dup_wrap
[exts_one_wrap]
exts = SEQUENCE:exts_one
[exts_b_wrap]
exts = SEQUENCE:exts_b
[exts_dup_wrap]
exts = SEQUENCE:exts_dup
[exts_one]
e1 = SEQUENCE:ext_san_a
[exts_b]
e1 = SEQUENCE:ext_san_b
[exts_dup]
e1 = SEQUENCE:ext_san_a
e2 = SEQUENCE:ext_san_b
[ext_san_a]
oid = OID:subjectAltName
value = OCTWRAP,SEQUENCE:gn_a
[ext_san_b]
oid = OID:subjectAltName
value = OCTWRAP,SEQUENCE:gn_b
[gn_a]
dns = IMPLICIT:2,IA5STRING:a.contoso.com
[gn_b]
dns = IMPLICIT:2,IA5STRING:b.evil.com
EOF
    openssl asn1parse -genconf "$tmp/cri.cnf" -noout -out "$tmp/cri.der"
    openssl dgst -sha256 -sign "$tmp/p256.key" -out "$tmp/sig.bin" "$tmp/cri.der"
    sighex=$(python3 -c 'import sys; print(open(sys.argv[1],"rb").read().hex())' "$tmp/sig.bin")
    { sed 's/^asn1 = SEQUENCE:cri$/asn1 = SEQUENCE:req/' "$tmp/cri.cnf"; cat <<EOF
[req]
cri = SEQUENCE:cri
alg = SEQUENCE:sigalg
sig = FORMAT:HEX,BITSTRING:$sighex
[sigalg]
oid = OID:ecdsa-with-SHA256
EOF
    } > "$tmp/req.cnf"
    openssl asn1parse -genconf "$tmp/req.cnf" -noout -out "$out/$name.der"
}

craft crafted-ok        "$good" 0 subj_plain attrs_one_san
craft subject-nul       "$bad"  0 subj_nul   attrs_none
craft duplicate-ext     "$bad"  0 subj_plain attrs_dup_san
craft two-ext-requests  "$bad"  0 subj_plain attrs_two_extreq
craft version-2         "$bad"  1 subj_plain attrs_none

# every good request must verify with openssl itself
for f in "$good"/*.pem "$good"/*.der; do
    case $f in *.der) fmt=DER ;; *) fmt=PEM ;; esac
    openssl req -in "$f" -inform $fmt -verify -noout 2>/dev/null ||
        { echo "generated good request does not verify: $f" >&2; exit 1; }
done
echo "CSR corpus written to $good and $bad"
