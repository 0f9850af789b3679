#!/bin/bash
# Issue 14, bulk revocation: `offca revoke --batch FILE` (JSON lines and CSV) revokes a list in
# one transaction, one audit record per certificate plus the list's SHA-256; --dry-run prints
# exactly the run's lines and changes nothing; every bad line is named and refuses the whole
# list (store dump byte-identical before and after), --skip-unknown skips only the unknown ones;
# keyCompromise entries block the key like the single revoke; a kill in the middle of the batch
# leaves nothing revoked; the CRL afterwards lists exactly those serials with their reasons and
# invalidity dates (openssl crl -text); the progress line appears on a terminal only.
. "$(dirname "$0")/common.sh"
command -v mdb_dump >/dev/null || skip_all "mdb_dump (lmdb-utils) is not installed"
offca_setup rbatch
oc init >/dev/null
oc key generate --label root --alg p256 >/dev/null
oc key generate --label iss --alg p256 >/dev/null
oc ca create-root root --key "pkcs11:token=rbatch;object=root;type=private" --subject 'CN=Root' >/dev/null
oc ca create-issuing iss --parent root --key "pkcs11:token=rbatch;object=iss;type=private" \
    --subject 'CN=Iss' --days 1000 >/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/k.key" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/kc.key" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/kf.key" 2>/dev/null
SID=S-1-5-21-1004336348-1177238915-682003330-1105
mk() { # mk NAME [KEY] [TEMPLATE ARGS...]: certificate $T/NAME.pem, dns:NAME.example by default
    local n=$1 key=${2:-$T/k.key}; shift; [ $# -gt 0 ] && shift
    openssl req -new -key "$key" -subj "/CN=$n" -out "$T/$n.csr" 2>/dev/null
    [ $# -gt 0 ] || set -- --template vpn-server --san "dns:$n.example"
    oc sign --ca iss "$@" --csr "$T/$n.csr" -o "$T/$n.pem" >/dev/null
}
ser() { openssl x509 -in "$1" -noout -serial | cut -d= -f2 | tr A-F a-f; }
for n in a b c d e h; do mk $n; done
mk f "$T/kf.key"; mk g "$T/kf.key"       # f and g share a key: --all-with-key below
mk kc1 "$T/kc.key"; mk kc2 "$T/kc.key"
mk dup1 "$T/k.key" --template vpn-server --san dns:dup.example
mk dup2 "$T/k.key" --template vpn-server --san dns:dup.example
mk pc9.contoso.com "$T/k.key" --template intune-device-manual --sid "$SID" --san dns:pc9.contoso.com
for n in a b c d e f g h kc1 kc2 dup1 dup2 pc9.contoso.com; do eval "S_${n//[.-]/_}=\$(ser \$T/\$n.pem)"; done
ROOT_SER=$(oc --json list --ca root | jq -r '.[0].serial')
dump() { mdb_dump -a "$T/store" | md5sum; }
# bad RC TEXT NAME -- CMD...: refused with RC and TEXT; the store dump is unchanged
bad() {
    local rc=$1 frag=$2 name=$3 before; shift 4
    before=$(dump)
    expect_rc "$rc" "$name: exit $rc" -- "$@"
    expect_in "$frag" "$name: message"
    check "$name: store unchanged (mdb_dump)" test "$before" = "$(dump)"
}

# ---- options ----
bad 2 "--serial is not allowed with --batch" "--batch with --serial" -- oc revoke --batch /dev/null --serial 01
bad 2 "only with --batch FILE" "--dry-run without --batch" -- oc revoke --ca iss --serial "$S_a" --dry-run
bad 2 "only with --batch FILE" "--skip-unknown without --batch" -- oc revoke --ca iss --serial "$S_a" --skip-unknown
printf '{"serial":"%s"}\n' "$S_a" >"$T/one.jsonl"
bad 2 "CA 'nope' is not in the store" "--batch --ca NAME not in the store" -- oc revoke --batch "$T/one.jsonl" --ca nope
bad 3 "No such file" "--batch of a missing file" -- oc revoke --batch "$T/missing.jsonl"
: >"$T/empty.csv"
bad 3 "empty; give a header row" "an empty file" -- oc revoke --batch "$T/empty.csv"
printf '# nothing\n\n' >"$T/comments.jsonl"
bad 3 "no entries" "a JSON-lines file of comments only" -- oc revoke --batch "$T/comments.jsonl"
printf 'serail,reason\n%s,superseded\n' "$S_a" >"$T/col.csv"
bad 3 "column 'serail' is unknown" "CSV with an unknown column" -- oc revoke --batch "$T/col.csv"
printf '\xff\xfes\x00' >"$T/u16.csv"
bad 3 "UTF-16" "a UTF-16 file" -- oc revoke --batch "$T/u16.csv"
printf 'serial\n"%s\n' "$S_a" >"$T/quote.csv"
bad 3 "never closed" "CSV with an unclosed quote" -- oc revoke --batch "$T/quote.csv"

# ---- malformed lines: every one named, exit 3, nothing revoked ----
{
    printf '{"serial":"%s","reason":"superseded"}\n' "$S_a"
    printf '{"serial":"%s",}\n' "$S_b"
    printf '{"serial":"%s","reason":"stolen"}\n' "$S_c"
    printf '{"serial":"%s","invalidity_date":"2026-13-01"}\n' "$S_d"
    printf '{"serial":"xyz"}\n'
    printf '{"reason":"superseded"}\n'
    printf '{"serial":"%s","san":"dns:e.example"}\n' "$S_e"
    printf '{"serial":"%s","colour":"red"}\n' "$S_f"
    printf '{"serial":"%s","reason":"removeFromCRL"}\n' "$S_g"
    printf '{"san":"dns:h.example"}\n{"serial":"%s"}\n' "$S_h"
    printf '{"serial":"%s"}\n' "$S_a"
    printf '{"san":"bogus"}\n'
    printf '{"serial":"%s","reason":3}\n' "$S_b"
} >"$T/malformed.jsonl"
bad 3 "lines 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 14)" "malformed lines: the summary lists every bad line" -- \
    oc revoke --batch "$T/malformed.jsonl"
expect_in "malformed.jsonl:2: column" "bad JSON named with line and column"
expect_in "malformed.jsonl:3: reason 'stolen': RFC 5280 5.3.1: unknown reason" "a bad reason named"
expect_in "malformed.jsonl:4: invalidity_date '2026-13-01': not RFC 3339 UTC" "a bad date named"
expect_in "malformed.jsonl:5: serial 'xyz': not a hex serial" "a bad serial named"
expect_in "malformed.jsonl:6: no certificate named" "a line without a target named"
expect_in "malformed.jsonl:7: both a serial and a subject/san" "a line with two targets named"
expect_in "malformed.jsonl:8: key 'colour': unknown key" "an unknown key named"
expect_in "malformed.jsonl:9: reason removeFromCRL: not a revocation reason" "removeFromCRL refused"
expect_in "malformed.jsonl:11: the same certificate as line 10" "a duplicate (san then serial) named with the first line"
expect_in "malformed.jsonl:12: the same certificate as line 1" "a duplicate serial named"
expect_in "malformed.jsonl:13: san 'bogus'" "a SAN without type named"
expect_in "malformed.jsonl:14: key 'reason': expected a string" "a non-string value named"
bad 3 "nothing was revoked" "--skip-unknown never skips malformed lines" -- \
    oc revoke --batch "$T/malformed.jsonl" --skip-unknown

# ---- unknown and conflicting entries: exit 1; --skip-unknown skips only the unknown ----
oc revoke --ca iss --serial "$S_h" --reason superseded >/dev/null   # already revoked below
{
    printf '{"serial":"%s","reason":"superseded"}\n' "$S_a"
    printf '{"serial":"0badc0de"}\n'
    printf '{"san":"dns:nobody.example"}\n'
    printf '{"serial":"%s"}\n' "$S_h"
} >"$T/unknown.jsonl"
bad 1 "(lines 2, 3, 4); nothing was revoked; fix or remove them (or --skip-unknown" \
    "unknown entries refuse the list" -- oc revoke --batch "$T/unknown.jsonl"
expect_in "unknown.jsonl:2: serial 0badc0de: no such certificate in the store" "unknown serial named"
expect_in "unknown.jsonl:3: san dns:nobody.example: no valid certificate matches" "unmatched SAN named"
expect_in "unknown.jsonl:4: serial $S_h of CA 'iss': already revoked (superseded" "already revoked named"
{
    printf '{"san":"dns:dup.example"}\n'
    printf '{"serial":"%s","ca":"root"}\n' "$S_b"
    printf '{"serial":"%s","ca":"nope"}\n' "$S_c"
    printf '{"serial":"0badc0de"}\n'
} >"$T/conflict.jsonl"
bad 1 "(lines 1, 2, 3); nothing was revoked" "conflicting entries refuse even with --skip-unknown" -- \
    oc revoke --batch "$T/conflict.jsonl" --skip-unknown
expect_in "conflict.jsonl:1: san dns:dup.example: ambiguous: 2 valid certificates match" "ambiguous SAN named"
expect_in "$S_dup1" "the ambiguous message names both serials (1)"
expect_in "$S_dup2" "the ambiguous message names both serials (2)"
expect_in "conflict.jsonl:2: serial $S_b: issued by CA 'iss', not 'root'" "another CA's serial named"
expect_in "conflict.jsonl:3: ca 'nope': not in the store" "a CA not in the store named"

before=$(dump)
expect_rc 0 "--skip-unknown: the known entry is revoked, the unknown ones skipped" -- \
    oc revoke --batch "$T/unknown.jsonl" --skip-unknown
expect_in "revoked: $S_a of CA 'iss' ($T/unknown.jsonl:1, reason superseded)" "the revoked line"
expect_in "skipped: $T/unknown.jsonl:2: serial 0badc0de: no such certificate" "skipped line 2 said"
expect_in "skipped: $T/unknown.jsonl:4: serial $S_h of CA 'iss': already revoked" "skipped line 4 said"
expect_in "1 revoked, 3 skipped (unknown), of 4 entries" "the summary counts"
check "the store changed" test "$before" != "$(dump)"
check "a is revoked" test "$(oc --json show "$S_a" | jq -r .status)" = revoked

# ---- the good list: dry run, then the run ----
cat >"$T/good.jsonl" <<JSON
# retired devices, ticket 4711
{"serial": "$(echo "$S_b" | tr a-f A-F | sed 's/../&:/g; s/:$//')", "reason": "cessationOfOperation"}
{"san": "dns:C.example", "reason": "superseded", "invalidity_date": "2026-11-01T00:00:00Z"}

{"subject": "CN=d", "ca": "iss"}
{"serial": "$S_kc1", "reason": "keyCompromise", "invalidity_date": "2026-10-15T12:30:00Z"}
{"san": "pc9.contoso.com", "subject": "cn=pc9.contoso.com"}
JSON
sed -i 's/"pc9.contoso.com"/"dns:pc9.contoso.com"/' "$T/good.jsonl"
before=$(dump)
expect_rc 0 "--dry-run" -- oc revoke --batch "$T/good.jsonl" --reason affiliationChanged --dry-run
DRY=$OUT
check "--dry-run: the store is unchanged (mdb_dump)" test "$before" = "$(dump)"
expect_in "(dry run): 5 would be revoked, 0 skipped (unknown), of 5 entries; nothing was changed" "dry-run summary"
expect_rc 0 "the run" -- oc revoke --batch "$T/good.jsonl" --reason affiliationChanged
RUN=$OUT
check "--dry-run printed exactly the run's lines (all but the summary)" \
    test "$(sed '$d' <<<"$DRY")" = "$(sed '$d' <<<"$RUN")"
expect_in "revoked: $S_b of CA 'iss' ($T/good.jsonl:2, reason cessationOfOperation)" "serial with colons and upper case"
expect_in "revoked: $S_c of CA 'iss' ($T/good.jsonl:3, reason superseded, invalidity date 2026-11-01T00:00:00Z)" "SAN matched case-insensitively, with its date"
expect_in "revoked: $S_d of CA 'iss' ($T/good.jsonl:5, reason affiliationChanged)" "subject match; --reason is the default"
expect_in "revoked: $S_kc1 of CA 'iss' ($T/good.jsonl:6, reason keyCompromise, invalidity date 2026-10-15T12:30:00Z)" "keyCompromise entry"
expect_in "key blocked: SPKI SHA-256" "keyCompromise blocks the key, as the single revoke"
expect_in "same key, still valid: $S_kc2 of CA 'iss'; revoke it: offca revoke --ca iss --serial $S_kc2 --reason keyCompromise" \
    "the other certificate of the key is listed with its command"
expect_in "revoked: $S_pc9_contoso_com of CA 'iss' ($T/good.jsonl:7" "SAN + subject match"
expect_in "batch $T/good.jsonl: 5 revoked, 0 skipped (unknown), of 5 entries; publish with 'offca crl publish'" "summary"
# the audit log: one cert.revoke per certificate, then the list with its SHA-256
AUD=$(oc audit list --json)
for s in "$S_b" "$S_c" "$S_d" "$S_kc1" "$S_pc9_contoso_com"; do
    check "audit: cert.revoke of $s from the batch" \
        test "$(jq -r --arg s "$s" '[.[] | select(.action=="cert.revoke" and .object==$s and (.detail|test("batch=good.jsonl:")))] | length' <<<"$AUD")" = 1
done
check "audit: revoke.batch records the list's SHA-256" \
    test "$(jq -r '[.[] | select(.action=="revoke.batch")] | last | .detail' <<<"$AUD" | sed 's/.*sha256=\([0-9a-f]*\).*/\1/')" = "$(sha256sum <"$T/good.jsonl" | cut -d' ' -f1)"
expect_rc 0 "audit verify after the batch" -- oc audit verify
openssl req -new -key "$T/kc.key" -subj /CN=kc3 -out "$T/kc3.csr" 2>/dev/null
bad 1 "revoked for keyCompromise" "the blocked key is not certified again" -- \
    oc sign --ca iss --template vpn-server --csr "$T/kc3.csr" --san dns:kc3.example -o "$T/kc3.pem"
bad 1 "nothing was revoked" "the same list again: every entry already revoked" -- oc revoke --batch "$T/good.jsonl"

# ---- CSV, --all-with-key, the CRL ----
printf '\xef\xbb\xbfSerial,San,Reason,Invalidity_Date\r\n%s,,keyCompromise,2026-09-01T00:00:00Z\r\n,"dns:e.example",privilegeWithdrawn,\r\n' \
    "$S_kc2" >"$T/list.csv"
printf '{"serial":"%s","reason":"keyCompromise"}\n' "$S_f" >"$T/f.jsonl"
expect_rc 0 "CSV (BOM, CRLF, quoted field, any header case)" -- oc revoke --batch "$T/list.csv"
expect_in "revoked: $S_kc2 of CA 'iss' ($T/list.csv:2, reason keyCompromise, invalidity date 2026-09-01T00:00:00Z)" "CSV line 2"
expect_in "revoked: $S_e of CA 'iss' ($T/list.csv:3, reason privilegeWithdrawn)" "CSV line 3"
expect_in "same key, already revoked: $S_kc1" "keyCompromise of the second certificate names the first as revoked"
expect_rc 0 "--all-with-key revokes the other certificates of the key in the same transaction" -- \
    oc revoke --batch "$T/f.jsonl" --all-with-key
expect_in "same key, revoked too: $S_g of CA 'iss'" "same key, revoked too (g)"
expect_rc 0 "crl publish" -- oc crl publish --ca iss
openssl crl -inform DER -in "$T/pub/iss.crl" -noout -text >"$T/crl.txt"
want=$(printf '%s\n' "$S_a" "$S_b" "$S_c" "$S_d" "$S_e" "$S_f" "$S_g" "$S_h" "$S_kc1" "$S_kc2" "$S_pc9_contoso_com" | sort)
got=$(sed -n 's/^ *Serial Number: //p' "$T/crl.txt" | tr A-F a-f | sort)
check "the CRL lists exactly the revoked serials" test "$want" = "$got"
entry() { awk -v s="$(echo "$1" | tr a-f A-F)" '/Serial Number:/ {on = ($3 == s)} on' "$T/crl.txt"; }
check "CRL: b is cessationOfOperation" grep -q "Cessation Of Operation" <<<"$(entry "$S_b")"
check "CRL: c is superseded with invalidity date 2026-11-01" bash -c 'grep -q Superseded <<<"$1" && grep -A1 "Invalidity Date" <<<"$1" | grep -q "Nov  1 00:00:00 2026 GMT"' _ "$(entry "$S_c")"
check "CRL: d is affiliationChanged (the --reason default)" grep -q "Affiliation Changed" <<<"$(entry "$S_d")"
check "CRL: kc1 is keyCompromise with invalidity date 2026-10-15T12:30" bash -c 'grep -q "Key Compromise" <<<"$1" && grep -A1 "Invalidity Date" <<<"$1" | grep -q "Oct 15 12:30:00 2026 GMT"' _ "$(entry "$S_kc1")"
check "CRL: kc2 is keyCompromise with invalidity date 2026-09-01" bash -c 'grep -q "Key Compromise" <<<"$1" && grep -A1 "Invalidity Date" <<<"$1" | grep -q "Sep  1 00:00:00 2026 GMT"' _ "$(entry "$S_kc2")"
check "CRL: e is privilegeWithdrawn, no invalidity date" bash -c 'grep -q "Privilege Withdrawn" <<<"$1" && ! grep -q "Invalidity Date" <<<"$1"' _ "$(entry "$S_e")"
check "CRL: g (same key as f, --all-with-key) is keyCompromise" grep -q "Key Compromise" <<<"$(entry "$S_g")"
check "CRL: pc9 is affiliationChanged" grep -q "Affiliation Changed" <<<"$(entry "$S_pc9_contoso_com")"

# ---- one transaction: a kill in the middle of the batch leaves nothing revoked ----
for n in m1 m2 m3 m4; do mk $n; done
printf '{"serial":"%s"}\n' "$(ser "$T/m1.pem")" "$(ser "$T/m2.pem")" "$(ser "$T/m3.pem")" "$(ser "$T/m4.pem")" >"$T/m.jsonl"
before=$(dump)
expect_rc 137 "a kill after the second entry of four (fault point revoke.batch-entry:2)" -- \
    env OFFCA_FAULT=revoke.batch-entry:2 "$OFFCA_TEST_BIN" -c "$T/ca.toml" revoke --batch "$T/m.jsonl"
expect_in "fault point revoke.batch-entry #2 (line 2): SIGKILL" "the kill landed on the second entry"
check "after the kill the store is unchanged: nothing revoked (mdb_dump)" test "$before" = "$(dump)"
check "m1 is still valid" test "$(oc --json show "$(ser "$T/m1.pem")" | jq -r .status)" = valid
expect_rc 0 "the same list afterwards revokes all four" -- oc revoke --batch "$T/m.jsonl"
expect_in "4 revoked, 0 skipped" "all four"

# ---- progress: one line on a terminal, nothing otherwise ----
for n in p1 p2 p3; do mk $n; done
printf '{"serial":"%s"}\n' "$(ser "$T/p1.pem")" "$(ser "$T/p2.pem")" >"$T/p.jsonl"
printf 'san\ndns:p3.example\n' >"$T/p.csv"
expect_rc 0 "without a terminal" -- oc revoke --batch "$T/p.jsonl" --dry-run
check "no progress line when stderr is not a terminal" test -z "$ERR"
script -qec "$OFFCA -c $T/ca.toml revoke --batch $T/p.jsonl" /dev/null >"$T/tty.out" 2>&1
check "on a terminal: the progress line with count, rate" grep -q $'\rrevoke --batch: revoked: 2/2 (100%), [0-9]*/s, done' "$T/tty.out"
script -qec "$OFFCA -c $T/ca.toml revoke --batch $T/p.csv" /dev/null >"$T/tty2.out" 2>&1
check "on a terminal: the certificates searched for a SAN are counted" \
    grep -q $'\rrevoke --batch: certificates searched: [0-9]*/[0-9]* (100%)' "$T/tty2.out"

# ---- crl publish: the entries counted on a terminal, the CRL the same either way ----
# Two copies of the same store publish at the same (test) clock, one on a terminal, one not:
# the TBSCertList (everything the CA signs; P-256 signatures differ each time) is byte-identical.
cp -a "$T/store" "$T/store2"; mkdir -m 0755 "$T/pub2"
sed -e "s|^path = \"$T/store\"|path = \"$T/store2\"|" -e "s|^dir = \"$T/pub\"|dir = \"$T/pub2\"|" "$T/ca.toml" >"$T/c2.toml"
NOW=$(( $(date +%s) + 3600 ))
script -qec "env OFFCA_TEST_NOW=$NOW $OFFCA_TEST_BIN -c $T/ca.toml crl publish --ca iss --force" /dev/null >"$T/tty3.out" 2>&1
NREV=$(oc --json list --ca iss | jq '[.[] | select(.status == "revoked")] | length')
NUM=$(openssl crl -inform DER -in "$T/pub/iss.crl" -noout -crlnumber | sed 's/^crlNumber=0x//')
check "crl publish on a terminal: one line counting the $NREV entries of CRL $((16#$NUM)), with the rate" \
    grep -q $'\riss: CRL '"$((16#$NUM))"' entries: '"$NREV/$NREV"' (100%), [0-9]*/s, done' "$T/tty3.out"
check "  ... and the number of entries is the CRL's" test "$(openssl crl -inform DER -in "$T/pub/iss.crl" -noout -text | grep -c 'Serial Number:')" = "$NREV"
check "  ... the line ends before the published line on stdout" grep -q $'done\033\[K\r\?\niss: published CRL' "$T/tty3.out"
expect_rc 0 "the same publication off a terminal" -- env OFFCA_TEST_NOW=$NOW "$OFFCA_TEST_BIN" -c "$T/c2.toml" crl publish --ca iss --force
check "  ... no progress line on stderr" test -z "$ERR"
tbs() { # the TBSCertList of a DER CRL: the first element of the outer SEQUENCE
    local off hl len
    read -r off hl len < <(openssl asn1parse -inform DER -in "$1" |
        sed -n '2s/^ *\([0-9]*\):d=1 *hl=\([0-9]*\) *l= *\([0-9]*\) cons: SEQUENCE.*/\1 \2 \3/p')
    [ -n "$len" ] && tail -c +$((off + 1)) "$1" | head -c $((hl + len))
}
tbs "$T/pub/iss.crl" >"$T/tbs1"; tbs "$T/pub2/iss.crl" >"$T/tbs2"
check "  ... the CRL signed on a terminal lists the same bytes (TBSCertList identical)" \
    bash -c '[ "$(wc -c <"$1")" -gt 500 ] && cmp "$1" "$2"' _ "$T/tbs1" "$T/tbs2"
t_done
