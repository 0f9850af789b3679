#!/bin/bash
# Issue 3, bad input: every refusal has its exit code, a message fragment, no output file, and
# leaves the store untouched (offca --json list and offca audit list --json equal before/after).
. "$(dirname "$0")/common.sh"
offca_setup offca-issue-bad
oc init >/dev/null
oc key generate --label root --alg p256 >/dev/null
oc key generate --label issuing --alg p256 >/dev/null
oc ca create-root root --key "pkcs11:token=offca-issue-bad;object=root;type=private" --subject 'CN=Root' >/dev/null
oc ca create-issuing issuing --parent root --key "pkcs11:token=offca-issue-bad;object=issuing;type=private" \
    --subject 'CN=Issuing' --days 1000 >/dev/null
SID=S-1-5-21-1004336348-1177238915-682003330-1105
BAD=$REPO/tests/data/bad
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/k.key" 2>/dev/null
req() { # req OUT SUBJ [SAN [more openssl req args]]
    local out=$1 subj=$2 san=${3:-}; shift 2; [ $# -gt 0 ] && shift
    [ -n "$san" ] && set -- -addext "subjectAltName=$san" "$@"
    openssl req -new -key "$T/k.key" -subj "$subj" "$@" -out "$out" 2>/dev/null
}
state() { oc --json list; oc audit list --json; oc --json directory show 'PC42$'; }
# bad RC FRAGMENT NAME -- CMD...: refused with RC and FRAGMENT; nothing written, nothing stored.
bad() {
    local rc=$1 frag=$2 name=$3 before; shift 4
    rm -f "$T/out.pem"
    before=$(state)
    expect_rc "$rc" "$name: exit $rc" -- "$@"
    expect_in "$frag" "$name: message"
    check "$name: nothing stored, no audit record" test "$before" = "$(state)"
    check "$name: no certificate written" test ! -e "$T/out.pem"
}
MAN=(oc sign --ca issuing --template intune-device-manual --sid "$SID" -o "$T/out.pem" --csr)

printf '"SamAccountName","DNSHostName","SID"\n"PC42$","pc42.contoso.com","%s"\n' "$SID" >"$T/ad.csv"
expect_rc 0 "directory import (the data the bad imports must not touch)" -- oc directory import "$T/ad.csv"
req "$T/ok.csr" /CN=pc42.contoso.com DNS:pc42.contoso.com
expect_rc 0 "the good request issues (the refusals below are about their one defect)" -- \
    oc sign --ca issuing --template intune-device-manual --sid "$SID" --csr "$T/ok.csr" -o "$T/good.pem"
check "the store snapshot the refusals compare holds the good certificate" \
    grep -q "$(openssl x509 -in "$T/good.pem" -noout -serial | cut -d= -f2 | tr A-F a-f)" <<<"$(state)"

# ---- the request file ----
bad 3 "signature does not verify (proof of possession failed)" "CSR with a bad signature" -- "${MAN[@]}" "$BAD/csr/bad-signature.der"
bad 3 "8 trailing bytes after the request" "DER with trailing bytes" -- "${MAN[@]}" "$BAD/csr/trailing-garbage.der"
bad 3 "1 trailing bytes after the request" "DER with one trailing zero" -- "${MAN[@]}" "$BAD/csr/trailing-zero.der"
bad 3 "a PEM file holding two CSRs" "PEM file with two CSRs" -- "${MAN[@]}" "$BAD/csr/two-blocks.pem"
bad 3 "the file is empty" "empty file" -- "${MAN[@]}" "$BAD/csr/empty.der"
bad 3 "the file is empty" "whitespace-only PEM" -- "${MAN[@]}" "$BAD/csr/whitespace-only.pem"
bad 3 "not a certificate request, or a damaged one" "truncated DER" -- "${MAN[@]}" "$BAD/csr/truncated.der"
bad 3 "not a CERTIFICATE REQUEST" "a certificate instead of a CSR" -- "${MAN[@]}" "$BAD/csr/certificate.pem"
bad 3 "attribute CN (2.5.4.3) has an embedded NUL" "subject with an embedded NUL" -- "${MAN[@]}" "$BAD/csr/subject-nul.der"
bad 3 "requested twice" "extension requested twice" -- "${MAN[@]}" "$BAD/csr/duplicate-ext.der"
{ cat "$T/ok.csr"; head -c $((1024 * 1024)) /dev/zero | tr '\0' '\n'; } >"$T/big.csr"
bad 3 "over the 1 MiB limit" "file over 1 MiB (a valid CSR padded)" -- "${MAN[@]}" "$T/big.csr"
bad 3 "1 MiB limit" "a 2 MiB stdin stream is cut off at the limit" -- timeout 120 bash -c \
    'head -c 2097152 /dev/zero | "$0" -c "$1" sign --ca issuing --template intune-device-manual --sid "$2" --csr - -o "$3"' \
    "$OFFCA" "$T/ca.toml" "$SID" "$T/out.pem"
mkfifo "$T/fifo"
bad 3 "not a regular file" "a FIFO is refused without being opened for reading" -- timeout 120 "$OFFCA" -c "$T/ca.toml" \
    sign --ca issuing --template intune-device-manual --sid "$SID" --csr "$T/fifo" -o "$T/out.pem"
bad 3 "No such file" "missing file" -- "${MAN[@]}" "$T/nonexistent.csr"

# ---- key ----
openssl req -new -newkey rsa:1024 -nodes -keyout /dev/null -subj /CN=pc42 \
    -addext subjectAltName=DNS:pc42.contoso.com -out "$T/rsa1024.csr" 2>/dev/null
bad 1 "RSA key of 1024 bits is below the minimum" "RSA-1024" -- "${MAN[@]}" "$T/rsa1024.csr"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-521 -nodes -keyout /dev/null -subj /CN=pc42 \
    -addext subjectAltName=DNS:pc42.contoso.com -out "$T/p521.csr" 2>/dev/null
bad 1 "EC key on curve secp521r1 is not allowed" "P-521 (template allows P-256, P-384)" -- "${MAN[@]}" "$T/p521.csr"

# ---- extensions and SAN ----
req "$T/eku.csr" /CN=pc42 DNS:pc42.contoso.com -addext extendedKeyUsage=serverAuth
bad 1 "asks for EKU 1.3.6.1.5.5.7.3.1, which the template does not allow" "EKU not allowed (in the CSR)" -- "${MAN[@]}" "$T/eku.csr"
req "$T/crit.csr" /CN=pc42 DNS:pc42.contoso.com -addext "1.2.3.4=critical,DER:0500"
bad 1 "1.2.3.4" "unknown critical extension requested" -- "${MAN[@]}" "$T/crit.csr"
req "$T/email.csr" /CN=pc42 DNS:pc42.contoso.com,email:pc42@contoso.com
bad 1 "email names are not allowed by this template" "SAN type not allowed (in the CSR)" -- "${MAN[@]}" "$T/email.csr"
bad 1 "upn names are not allowed by this template" "SAN type not allowed (--san)" -- "${MAN[@]}" "$T/ok.csr" --san upn:pc42@contoso.com
req "$T/nosan.csr" /CN=pc42
bad 1 "dns" "required DNS SAN missing" -- "${MAN[@]}" "$T/nosan.csr"
req "$T/wild.csr" /CN=nps 'DNS:*.contoso.com'
bad 1 "dns:*.contoso.com is a wildcard, which this template does not allow" "wildcard DNS (wifi-server)" -- \
    oc sign --ca issuing --template wifi-server --csr "$T/wild.csr" -o "$T/out.pem"
bad 1 "wildcard" "wildcard DNS via --san (vpn-server)" -- oc sign --ca issuing --template vpn-server \
    --csr "$T/ok.csr" --san 'dns:*.contoso.com' -o "$T/out.pem"
bad 1 "san: more than 2 names" "over the template's SAN count (autopilot max 2)" -- oc sign --ca issuing \
    --template autopilot-provisioning --csr "$T/ok.csr" --san dns:a.contoso.com --san dns:b.contoso.com -o "$T/out.pem"

# ---- subject ----
printf 'openssl_conf = init\n[init]\nstbl_section = stbl\n[stbl]\ncommonName = min:1,max:1000\n' >"$T/stbl.cnf"
OPENSSL_CONF=$T/stbl.cnf req "$T/long.csr" "/CN=$(printf 'a%.0s' $(seq 65))" DNS:pc42.contoso.com
bad 1 "CN" "over-long CN (65 > 64 characters)" -- "${MAN[@]}" "$T/long.csr"
check "over-long message names the limit" grep -q 64 <<<"$ERR"
req "$T/loc.csr" /CN=pc42/L=Seattle DNS:pc42.contoso.com
bad 1 "attribute L is not allowed (allowed: CN, O, OU, C, DC)" "subject type the template forbids" -- "${MAN[@]}" "$T/loc.csr"
req "$T/pat.csr" "/CN=pc 42" DNS:pc42.contoso.com
bad 1 "pattern" "CN against the template's pattern" -- "${MAN[@]}" "$T/pat.csr"
req "$T/nocn.csr" /O=Contoso DNS:pc42.contoso.com
bad 1 "CN" "required CN missing" -- "${MAN[@]}" "$T/nocn.csr"
bad 1 "subject" "--subject where the template does not allow an override" -- "${MAN[@]}" "$T/ok.csr" --subject CN=other

# ---- SID ----
S16="S-1-5-21$(for i in $(seq 15); do printf -- '-%d' "$i"; done)"
for s in S-1-5 S-2-5-21-1 S-1-5-021-1 S-1-5-21-4294967296 S-1-5-21-1- "$S16" "$SID " \
         S-1-4294967296-1 S-1-0x0000FFFFFFFF-1 "s-1-5-21-1-2-3-4" " $SID" "S-1-5-21-+1-2-3-4" \
         "S-1-5-21-1-2-3-4-" "S-1-5--21" "S-1-0x10000000000-1" ""; do
    bad 1 "MS-DTYP 2.4.2.1" "invalid SID [$s]" -- oc sign --ca issuing --template intune-device-manual \
        --csr "$T/ok.csr" --sid "$s" -o "$T/out.pem"
done
bad 1 "more than 15 sub-authorities" "16 sub-authorities: the reason" -- "${MAN[@]}" "$T/ok.csr" --sid "$S16"
for s in S-1-5-18 S-1-5-32-544 S-1-0x100000000000-1 S-1-5-21-1-2-3; do
    bad 1 "is not a domain account SID" "well-known / non-domain SID $s" -- oc sign --ca issuing \
        --template intune-device-manual --csr "$T/ok.csr" --sid "$s" -o "$T/out.pem"
done
bad 1 "a SID is required and none came from the operator (--sid); add --sid" "SID required but absent" -- \
    oc sign --ca issuing --template intune-device-manual --csr "$T/ok.csr" -o "$T/out.pem"
bad 2 "--sid is not accepted: this template takes the SID from the directory" "--sid on a directory template" -- \
    oc sign --ca issuing --template intune-device --csr "$T/ok.csr" --sid "$SID" -o "$T/out.pem"
bad 1 "this template forbids a SID" "--sid on a SID-forbidden template" -- \
    oc sign --ca issuing --template wifi-server --csr "$T/ok.csr" --sid "$SID" -o "$T/out.pem"
{ printf '[req]\ndistinguished_name=dn\n[dn]\n[ext]\nsubjectAltName=@san\n[san]\nDNS.1=pc44.contoso.com\n'
  printf 'URI.1=tag:microsoft.com,2022-09-14:sid:%s\n' "$SID"; } >"$T/sidurl.cnf"
openssl req -new -config "$T/sidurl.cnf" -reqexts ext -key "$T/k.key" -subj /CN=pc44.contoso.com -out "$T/sidurl.csr"
bad 1 "the request carries SID $SID but this template forbids a SID" "CSR SID URL under autopilot (no SID)" -- \
    oc sign --ca issuing --template autopilot-provisioning --csr "$T/sidurl.csr" -o "$T/out.pem"

# ---- validity, usage ----
bad 1 "731 days is above the maximum 730" "--days over the maximum" -- "${MAN[@]}" "$T/ok.csr" --days 731
bad 1 "6 days is above the maximum 5" "autopilot --days 6" -- oc sign --ca issuing \
    --template autopilot-provisioning --csr "$T/ok.csr" --days 6 -o "$T/out.pem"
bad 1 "below the minimum 5" "--days under the minimum" -- "${MAN[@]}" "$T/ok.csr" --days 4
bad 2 "days" "--days not a number" -- "${MAN[@]}" "$T/ok.csr" --days 12x
bad 2 "template" "unknown template" -- oc sign --ca issuing --template nosuch --csr "$T/ok.csr" -o "$T/out.pem"
bad 2 "nosuch" "unknown CA" -- oc sign --ca nosuch --template intune-device-manual --sid "$SID" --csr "$T/ok.csr" -o "$T/out.pem"
bad 2 "exactly one of --csr, --batch, --generate-key" "--csr and --batch together" -- \
    oc sign --ca issuing --template intune-device-manual --csr "$T/ok.csr" --batch "$T/ok.csr"
bad 2 "exists" "-o onto an existing file" -- oc sign --ca issuing --template intune-device-manual \
    --sid "$SID" --csr "$T/ok.csr" -o "$T/good.pem"
bad 2 "the directory is missing or not writable" "-o into a missing directory (refused before issuing)" -- \
    oc sign --ca issuing --template intune-device-manual --sid "$SID" --csr "$T/ok.csr" -o "$T/nodir/x.pem"
check "the existing file is untouched" bash -c "openssl x509 -in '$T/good.pem' -noout"

# ---- directory CSV: refused whole, the old data stays ----
bad 3 "column SID: SID 'S-1-5-021-1'" "CSV with a bad SID" -- oc directory import "$BAD/csv/bad-sid.csv"
bad 3 "'ws01\$' is also on line 2 (names are case-insensitive)" "CSV with duplicate principals" -- \
    oc directory import "$BAD/csv/duplicate-sam.csv"
bad 3 "UTF-16" "CSV in UTF-16" -- oc directory import "$BAD/csv/utf16.csv"
printf '"SamAccountName","DNSHostName","SID"\n"PC50$","pc50.contoso.com","%s"\n"PC51$","PC50.CONTOSO.COM","S-1-5-21-1-2-3-4"\n' "$SID" >"$T/dupdns.csv"
bad 3 "is also on line 2" "CSV with one DNS name on two rows (case differs)" -- oc directory import "$T/dupdns.csv"
printf '"SamAccountName","DNSHostName","SID"\n"PC52$","pc52.contoso.com,"%s"\n' "$SID" >"$T/quote.csv"
bad 3 "quot" "CSV with a broken quote" -- oc directory import "$T/quote.csv"
printf '"SamAccountName","DNSHostName"\n"PC53$","pc53.contoso.com"\n' >"$T/nosid.csv"
bad 3 "SID" "CSV without a SID column" -- oc directory import "$T/nosid.csv"
expect_rc 0 "directory show after the refused imports" -- oc directory show 'PC42$'
expect_in "$SID" "the old directory data is still there"
expect_rc 2 "nothing of the refused files was imported" -- oc directory show 'WS01$'

# ---- manifest ----
printf 'not json\n' >"$T/m1.jsonl"
bad 3 "m1.jsonl:1" "manifest line that is not JSON" -- oc sign --ca issuing --template intune-device-manual --batch "$T/m1.jsonl"
expect_in "batch $T/m1.jsonl: 0 issued, 0 skipped (output exists), 1 failed" "manifest summary printed"
printf '{"csr": "%s", "out": "%s", "sid": "%s", "colour": "red"}\n' "$T/ok.csr" "$T/out.pem" "$SID" >"$T/m2.jsonl"
bad 3 "key 'colour': unknown key" "manifest line with an unknown key" -- oc sign --ca issuing \
    --template intune-device-manual --batch "$T/m2.jsonl"
printf '{"csr": "%s", "out": "%s", "sid": "%s"}\n' "$T/ok.csr" "$T/out.pem" "$SID" >"$T/m3.jsonl"
bad 2 "per-certificate options go into the manifest lines" "--batch with --sid on the command line" -- \
    oc sign --ca issuing --template intune-device-manual --batch "$T/m3.jsonl" --sid "$SID"
expect_rc 0 "audit verify after all the refusals" -- oc audit verify
t_done
