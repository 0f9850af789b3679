#!/bin/bash
# directory import FILE...: several exports (Export-Csv, csvde, ldifde) in one transaction, merge
# by principal or --replace, --dry-run, the change report (exact counts, re-created accounts
# listed), every refusal (message, exit code, directory and audit log unchanged), a 200,000-row
# import, the progress line only on a terminal, and doctor's finding for a certificate whose
# principal got a new SID.
. "$(dirname "$0")/common.sh"
offca_setup offca-dir
oc init >/dev/null
oc key generate --label root --alg p256 >/dev/null
oc key generate --label issuing --alg p256 >/dev/null
oc ca create-root root --key "pkcs11:token=offca-dir;object=root;type=private" --subject 'CN=Root' >/dev/null
oc ca create-issuing issuing --parent root --key "pkcs11:token=offca-dir;object=issuing;type=private" \
    --subject 'CN=Issuing' --days 1000 >/dev/null
D=S-1-5-21-1004336348-1177238915-682003330
# sid_b64 RID: the binary objectSid of $D-RID (MS-DTYP 2.4.2), base64 as ldifde writes it
sid_hex() { printf '010500000000000515000000dcf4dc3b833d2b46828ba628%s' "$(printf '%08x' "$1" | sed -E 's/(..)(..)(..)(..)/\4\3\2\1/')"; }
sid_b64() { sid_hex "$1" | xxd -r -p | base64 -w0; }
state() { oc directory list; oc audit list --json; }
listing() { oc directory list | sort; }

# ---- two exports with different columns, one transaction ----
printf '\xef\xbb\xbf#TYPE Microsoft.ActiveDirectory.Management.ADComputer\r\n"DistinguishedName","DNSHostName","SamAccountName","SID"\r\n"CN=PC42,DC=contoso,DC=com","pc42.contoso.com","PC42$","%s-1105"\r\n"CN=PC43,DC=contoso,DC=com","pc43.contoso.com","PC43$","%s-1106"\r\n' \
    "$D" "$D" >"$T/computers.csv"
printf '"SamAccountName","UserPrincipalName","objectSid"\n"alice","alice@contoso.com","%s"\n"bob","bob@contoso.com","%s-2002"\n' \
    "$(sid_b64 2001)" "$D" >"$T/users.csv"
expect_rc 0 "Get-ADComputer and Get-ADUser exports imported together" -- oc directory import "$T/computers.csv" "$T/users.csv"
check "report: 4 added from 2 files" test "$OUT" = "imported 4 principals from 2 files (merge): 4 added, 0 changed, 0 SID changed, 0 unchanged, 0 kept, 0 removed; the directory now holds 4 principals"
check "directory list: exactly the four principals" test "$(listing)" = "$(printf 'PC42$\t-\tpc42.contoso.com\t%s-1105\nPC43$\t-\tpc43.contoso.com\t%s-1106\nalice\talice@contoso.com\t-\t%s-2001\nbob\tbob@contoso.com\t-\t%s-2002' "$D" "$D" "$D" "$D" | sort)"
check "one audit record for the import, naming both files" test "$(oc audit list --json | jq -r '[.[]|select(.action=="directory.import")]|length')" = 1
check "the audit record holds the counts" grep -q "merge, 4 principals: 4 added" <<<"$(oc audit list --json | jq -r '.[]|select(.action=="directory.import")|.detail')"
check "no progress line when stderr is not a terminal" test -z "$ERR"

# ---- a certificate for PC42, then PC42 is re-created (ldifde export) ----
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/k.key" 2>/dev/null
openssl req -new -key "$T/k.key" -subj /CN=pc42.contoso.com -addext subjectAltName=DNS:pc42.contoso.com -out "$T/pc42.csr" 2>/dev/null
expect_rc 0 "pc42 issues with its directory SID" -- oc sign --ca issuing --template intune-device --csr "$T/pc42.csr" -o "$T/pc42.pem"
SERIAL=$(openssl x509 -in "$T/pc42.pem" -noout -serial | cut -d= -f2 | tr A-F a-f)
oc crl publish >/dev/null 2>&1
expect_rc 0 "doctor is clean before the account changes" -- oc doctor
check "doctor: no directory SID finding yet" test "$(grep -c 'directory SID' <<<"$OUT")" = 0

b64=$(sid_b64 1201)
{ printf 'version: 1\n\n# ldifde export of the computers OU\ndn: OU=Computers,DC=contoso,DC=com\nchangetype: add\nobjectClass: organizationalUnit\n\n'
  printf 'dn: CN=PC42,OU=Computers,DC=contoso,DC=com\r\nchangetype: add\r\nobjectClass: computer\r\n'
  printf 'sAMAccountName: PC42$\r\ndNSHostName: pc42.con\r\n toso.com\r\n# a comment\r\nobjectSid:: %s\r\n %s\r\n\r\n' "${b64:0:20}" "${b64:20}"
  printf 'dn:: %s\nsAMAccountName:: %s\nobjectSid:: %s\n' "$(printf 'CN=Stéphane,DC=contoso,DC=com' | base64 -w0)" \
      "$(printf 'stéphane' | base64 -w0)" "$(sid_b64 2003)"
} >"$T/computers.ldf"
before=$(state)
expect_rc 0 "--dry-run of the ldifde export" -- oc directory import --dry-run "$T/computers.ldf"
dry=$OUT
check "dry run: report" test "$(head -1 <<<"$OUT")" = "dry run, nothing written: would import 2 principals from $T/computers.ldf (merge): 1 added, 0 changed, 1 SID changed, 0 unchanged, 3 kept, 0 removed; the directory would hold 5 principals"
check "dry run: the OU was skipped" grep -qx "1 LDIF entries without a principal name skipped (OUs, containers)" <<<"$OUT"
check "dry run: PC42 listed with old and new SID and its line" grep -qx "SID changed: PC42\$: $D-1105 -> $D-1201 ($T/computers.ldf:8)" <<<"$OUT"
check "dry run: nothing written, no audit record" test "$before" = "$(state)"
expect_rc 0 "ldifde export merged (folded lines, CRLF, comments, base64 dn and name)" -- oc directory import "$T/computers.ldf"
check "the real run reports what the dry run said" test "$(sed 1d <<<"$OUT")" = "$(sed 1d <<<"$dry")"
check "the real run's first line" test "$(head -1 <<<"$OUT")" = "imported 2 principals from $T/computers.ldf (merge): 1 added, 0 changed, 1 SID changed, 0 unchanged, 3 kept, 0 removed; the directory now holds 5 principals"
expect_rc 0 "directory show PC42\$" -- oc directory show 'PC42$'
expect_in "$D-1201" "PC42 has its new SID"
expect_rc 0 "the non-ASCII name from base64 is found" -- oc directory show 'STéphane'
expect_in "$D-2003" "stéphane's SID"
expect_rc 1 "doctor flags the certificate of the re-created PC42" -- oc doctor
expect_in "ERROR   issuing/$SERIAL: directory SID (strong certificate mapping): its SID $D-1105 is not the directory's $D-1201 for dns:pc42.contoso.com" "doctor: finding names the certificate, both SIDs and the name"
expect_in "offca sign --ca issuing --template intune-device --csr NEW.csr" "doctor: the reissue command"
expect_in "offca revoke --ca issuing --serial $SERIAL --reason superseded" "doctor: the revoke command"
expect_rc 1 "doctor --json has the finding" -- oc --json doctor
check "doctor --json: one directory SID finding, an error" test "$(jq '[.[]|select(.rule|test("directory SID"))|.severity]' <<<"$OUT" | jq -r 'join(",")')" = ERROR
oc revoke --ca issuing --serial "$SERIAL" --reason superseded >/dev/null
expect_rc 0 "doctor is clean again once the certificate is revoked" -- oc doctor
check "doctor: the finding is gone" test "$(grep -c 'directory SID' <<<"$OUT")" = 0

# ---- csvde, --json, a rename (changed) and an unchanged principal ----
printf 'DN,objectClass,sAMAccountName,userPrincipalName,objectSid\r\n"CN=Alice Adams,CN=Users,DC=contoso,DC=com",user,alice,alice.adams@contoso.com,X'"'"'%s'"'"'\r\n"CN=Bob,CN=Users,DC=contoso,DC=com",user,bob,bob@contoso.com,X'"'"'%s'"'"'\r\n"CN=Zoe,DC=contoso,DC=com",user,X'"'"'7a6fc3ab'"'"',,X'"'"'%s'"'"'\r\n' \
    "$(sid_hex 2001)" "$(sid_hex 2002)" "$(sid_hex 2004)" >"$T/users-csvde.csv"
expect_rc 0 "csvde export merged (--json)" -- oc --json directory import "$T/users-csvde.csv"
check "json: counts" test "$(jq -c '[.mode,.dry_run,.files,.principals,.added,.changed,.sid_changed,.unchanged,.kept,.removed,.total]' <<<"$OUT")" = '["merge",false,1,3,1,1,0,1,3,0,6]'
check "json: no SID change listed" test "$(jq '.sid_changes|length' <<<"$OUT")" = 0
expect_rc 0 "alice's new UPN" -- oc directory show alice.adams@contoso.com
expect_in "$D-2001" "alice keeps her SID under the new UPN"
expect_rc 0 "csvde's X'..' name decoded (UTF-8)" -- oc directory show 'zoë'
expect_rc 2 "alice's old UPN is gone" -- oc directory show alice@contoso.com

# ---- --replace: the directory becomes exactly the exports ----
expect_rc 0 "--replace with the computers export and the users export" -- \
    oc directory import --replace "$T/computers.csv" "$T/users-csvde.csv"
check "replace: report" test "$(head -1 <<<"$OUT")" = "imported 5 principals from 2 files (replace): 0 added, 0 changed, 1 SID changed, 4 unchanged, 0 kept, 1 removed; the directory now holds 5 principals"
check "replace: PC42 back to its first SID is listed" grep -qx "SID changed: PC42\$: $D-1201 -> $D-1105 ($T/computers.csv:3)" <<<"$OUT"
check "replace: directory list is exactly the two files" test "$(listing)" = "$(printf 'PC42$\t-\tpc42.contoso.com\t%s-1105\nPC43$\t-\tpc43.contoso.com\t%s-1106\nalice\talice.adams@contoso.com\t-\t%s-2001\nbob\tbob@contoso.com\t-\t%s-2002\nzoë\t-\t-\t%s-2004' "$D" "$D" "$D" "$D" "$D" | sort)"
expect_rc 0 "directory list --json" -- oc directory list --json
check "list --json: five objects with their SIDs" test "$(jq -r 'map(.sid)|sort|join(" ")' <<<"$OUT")" = "$D-1105 $D-1106 $D-2001 $D-2002 $D-2004"

# ---- refusals: message, exit code, directory and audit log as they were ----
bad() { # bad RC FRAGMENT NAME -- CMD...
    local rc=$1 frag=$2 name=$3 before; shift 4
    before=$(state)
    expect_rc "$rc" "$name: exit $rc" -- "$@"
    expect_in "$frag" "$name: message"
    check "$name: directory and audit log unchanged" test "$before" = "$(state)"
}
printf 'SamAccountName,SID\nbob,%s-2002\npc42$,%s-3000\n' "$D" "$D" >"$T/dup-name.csv"
bad 3 "$T/dup-name.csv:3: column SamAccountName: 'pc42\$' is also on $T/computers.csv:3 (names are case-insensitive); one principal in two exports" \
    "one principal in two files" -- oc directory import "$T/computers.csv" "$T/dup-name.csv"
printf 'SamAccountName,SID\ncarol,%s-1106\n' "$D" >"$T/dup-sid.csv"
bad 3 "$T/dup-sid.csv:2: column SID: $D-1106 is also the SID of $T/computers.csv:4: two principals share one SID" \
    "two principals sharing one SID across files" -- oc directory import "$T/computers.csv" "$T/dup-sid.csv"
printf 'dn: CN=Carol,DC=contoso,DC=com\nsAMAccountName: PC43$\nobjectSid:: %s\n' "$(sid_b64 3001)" >"$T/dup.ldf"
bad 3 "$T/dup.ldf:1: attribute sAMAccountName: 'PC43\$' is also on $T/computers.csv:4" \
    "a CSV and an LDIF claiming one principal" -- oc directory import "$T/computers.csv" "$T/dup.ldf"
bad 2 "is given twice" "one file named twice" -- oc directory import "$T/users.csv" "$T/users.csv"
bad 2 "needs one or more FILEs" "no file" -- oc directory import --replace
bad 2 "unknown option" "unknown option" -- oc directory import --merge "$T/users.csv"
bad 3 "missing.csv" "a missing file after a good one" -- oc directory import "$T/users.csv" "$T/missing.csv"
printf 'dn: CN=X,DC=contoso,DC=com\nsAMAccountName: X$\nobjectSid:: AQUA*AAA\n' >"$T/b64.ldf"
bad 3 "$T/b64.ldf:3: attribute objectSid: the value after '::' is not base64" "LDIF: bad base64" -- oc directory import "$T/users.csv" "$T/b64.ldf"
printf 'dn: CN=X,DC=contoso,DC=com\nsAMAccountName: X$\nobjectSid:: AQUAAAAAAAUV\n' >"$T/short.ldf"
bad 3 "$T/short.ldf:3: attribute objectSid:" "LDIF: a truncated binary SID" -- oc directory import "$T/short.ldf"
printf 'dn: CN=X,DC=contoso,DC=com\nsAMAccountName: X$\ndNSHostName: x.contoso.com\n' >"$T/nosid.ldf"
bad 3 "$T/nosid.ldf:1: attribute objectSid: the entry 'CN=X,DC=contoso,DC=com' names a principal but has no objectSid" \
    "LDIF: a principal without objectSid" -- oc directory import "$T/nosid.ldf"
printf 'dn: CN=X,DC=contoso,DC=com\nchangetype: modify\nreplace: description\n' >"$T/modify.ldf"
bad 3 "$T/modify.ldf:2: changetype: 'modify' records are changes" "LDIF: change records" -- oc directory import "$T/modify.ldf"
printf 'dn: CN=X,DC=contoso,DC=com\nsAMAccountName: X$\nsAMAccountName: Y$\nobjectSid:: %s\n' "$(sid_b64 3002)" >"$T/twice.ldf"
bad 3 "$T/twice.ldf:3: attribute sAMAccountName: a second value in the entry of line 1" "LDIF: two values" -- oc directory import "$T/twice.ldf"
printf 'dn: CN=X,DC=contoso,DC=com\nthis is not an attribute\n' >"$T/garbage.ldf"
bad 3 "$T/garbage.ldf:2: RFC 2849: 'this is not an attribute' is not an 'attribute: value' line" "LDIF: a line without a colon" -- oc directory import "$T/garbage.ldf"
printf 'dn: OU=Computers,DC=contoso,DC=com\nobjectClass: organizationalUnit\n' >"$T/ou.ldf"
bad 3 "$T/ou.ldf: no entry with sAMAccountName, userPrincipalName or dNSHostName (1 skipped)" "LDIF: no principal at all" -- oc directory import "$T/ou.ldf"
printf 'dn: CN=X,DC=contoso,DC=com\nsAMAccountName:: %s\nobjectSid:: %s\n' "$(printf 'a\tb' | base64 -w0)" "$(sid_b64 3003)" >"$T/ctl.ldf"
bad 3 "$T/ctl.ldf:2: attribute sAMAccountName: a control character" "LDIF: a control character in a base64 name" -- oc directory import "$T/ctl.ldf"
printf 'dn: CN=X,DC=contoso,DC=com\nsAMAccountName:< file:///etc/passwd\nobjectSid:: %s\n' "$(sid_b64 3004)" >"$T/url.ldf"
bad 3 "$T/url.ldf:2: attribute sAMAccountName: a URL value (:<) is not read" "LDIF: a URL value" -- oc directory import "$T/url.ldf"
printf 'd\0n: x\n' >"$T/nul.ldf"
bad 3 "encoding: a NUL byte" "LDIF: a NUL byte" -- oc directory import "$T/nul.ldf"
printf '\xff\xfed\0n\0:\0' >"$T/utf16.ldf"
bad 3 "UTF-16" "ldifde -u output (UTF-16)" -- oc directory import "$T/utf16.ldf"
printf 'DN,sAMAccountName,objectSid\n"CN=X,DC=contoso,DC=com",X$,X'"'"'0105zz'"'"'\n' >"$T/badhex.csv"
bad 3 "$T/badhex.csv:2: column objectSid: csvde value X'0105zz' is not X'<hex digits>'" "csvde: a bad X'..' value" -- oc directory import "$T/badhex.csv"
printf 'DN,sAMAccountName,objectSid\n"CN=X,DC=contoso,DC=com",X'"'"'410042'"'"',X'"'"'%s'"'"'\n' "$(sid_hex 3005)" >"$T/nulname.csv"
bad 3 "$T/nulname.csv:2: column SamAccountName: a NUL byte in a name" "csvde: a NUL byte in an X'..' name" -- oc directory import "$T/nulname.csv"
printf 'SamAccountName,SID\nlongname,%s-%s\n' "$D" "$(printf '1%.0s' {1..12})" >"$T/badsid.csv"
bad 3 "$T/badsid.csv:2: column SID:" "CSV: a bad SID in the second file" -- oc directory import "$T/users.csv" "$T/badsid.csv"

# ---- the progress line: on a terminal only ----
if command -v script >/dev/null; then
    script -qec "\"$OFFCA\" -c \"$T/ca.toml\" directory import --dry-run \"$T/users.csv\" >/dev/null" /dev/null >"$T/tty.out" 2>&1
    check "on a terminal: the progress line shows nothing for a dry run (nothing is written)" test "$(grep -c 'directory import:' "$T/tty.out")" = 0
    script -qec "\"$OFFCA\" -c \"$T/ca.toml\" directory import \"$T/users.csv\" >/dev/null" /dev/null >"$T/tty.out" 2>&1
    check "on a terminal: the progress line counts the principals written" grep -q "directory import: 5/5 (100%)" "$T/tty.out"
else
    notok "script(1) (bsdutils) is needed to run offca on a terminal"
fi

# ---- 200,000 rows ----
awk -v d="$D" 'BEGIN { print "SamAccountName,DNSHostName,SID"; for (i = 1; i <= 200000; i++) printf "H%06d$,h%06d.contoso.com,%s-%d\n", i, i, d, 100000 + i }' >"$T/big.csv"
expect_rc 0 "a 200,000-row export with --replace" -- oc directory import --replace "$T/big.csv"
check "200,000: report" test "$OUT" = "imported 200000 principals from $T/big.csv (replace): 200000 added, 0 changed, 0 SID changed, 0 unchanged, 0 kept, 5 removed; the directory now holds 200000 principals"
check "200,000: no progress line in a log" test -z "$ERR"
check "200,000: directory list has every row" test "$(oc directory list | wc -l)" = 200000
expect_rc 0 "200,000: the last row is found" -- oc directory show h200000.contoso.com
expect_in "$D-300000" "200,000: the last row's SID"
expect_rc 0 "200,000: a dry run of the same export" -- oc directory import --dry-run "$T/big.csv"
check "200,000: all unchanged" test "$(head -1 <<<"$OUT")" = "dry run, nothing written: would import 200000 principals from $T/big.csv (merge): 0 added, 0 changed, 0 SID changed, 200000 unchanged, 0 kept, 0 removed; the directory would hold 200000 principals"
t_done
