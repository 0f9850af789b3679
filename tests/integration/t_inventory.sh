#!/bin/bash
# Issue 14, inventory: `offca list` filters (--ca with --expiring, --template, --sid, --san),
# --sort and --csv (parsed back); `offca report` writes the whole inventory as CSV or JSON (mode
# 0600, atomic, parsed back) and records its SHA-256 in the audit log; refusals leave the store
# and the file as they were; `offca report --renewals` lists what expires with the principal and
# a re-issue command that works as printed; progress on a terminal only.
. "$(dirname "$0")/common.sh"
command -v mdb_dump >/dev/null || skip_all "mdb_dump (lmdb-utils) is not installed"
offca_setup inventory
oc init >/dev/null
oc key generate --label root --alg p256 >/dev/null
oc key generate --label iss --alg p256 >/dev/null
oc ca create-root root --key "pkcs11:token=inventory;object=root;type=private" --subject 'CN=Root' >/dev/null
oc ca create-issuing iss --parent root --key "pkcs11:token=inventory;object=iss;type=private" \
    --subject 'CN=Iss' --days 1000 >/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/k.key" 2>/dev/null
SID=S-1-5-21-1004336348-1177238915-682003330-1105
req() { openssl req -new -key "$T/k.key" -subj "/CN=$1" -out "$T/$1.csr" 2>/dev/null; }
ser() { openssl x509 -in "$1" -noout -serial | cut -d= -f2 | tr A-F a-f; }
for n in v1 v2 v3; do
    req $n; oc sign --ca iss --template vpn-server --csr "$T/$n.csr" --san "dns:$n.example" -o "$T/$n.pem" >/dev/null
done
req pc9.contoso.com
oc sign --ca iss --template intune-device-manual --sid "$SID" --csr "$T/pc9.contoso.com.csr" \
    --san dns:pc9.contoso.com -o "$T/pc9.pem" >/dev/null
req ap1
oc sign --ca iss --template autopilot-provisioning --csr "$T/ap1.csr" --san dns:ap1.contoso.com -o "$T/ap1.pem" >/dev/null
oc revoke --ca iss --serial "$(ser "$T/v3.pem")" --reason keyCompromise --invalidity-date 2026-11-01T00:00:00Z >/dev/null 2>&1
# keyCompromise blocked k.key: the renewal below uses a new key
S_v1=$(ser "$T/v1.pem"); S_v2=$(ser "$T/v2.pem"); S_v3=$(ser "$T/v3.pem")
S_pc9=$(ser "$T/pc9.pem"); S_ap1=$(ser "$T/ap1.pem")
ISS_SER=$(ser <(oc ca export iss))
dump() { mdb_dump -a "$T/store" | md5sum; }
bad() { # bad RC TEXT NAME -- CMD...: refused, the store dump unchanged
    local rc=$1 frag=$2 name=$3 before; shift 4
    before=$(dump)
    expect_rc "$rc" "$name: exit $rc" -- "$@"
    expect_in "$frag" "$name: message"
    check "$name: store unchanged (mdb_dump)" test "$before" = "$(dump)"
}
col() { python3 -c 'import csv,sys; r=list(csv.DictReader(open(sys.argv[1], newline=""))); print("\n".join(x[sys.argv[2]] for x in r))' "$@"; }

# ---- list ----
expect_rc 0 "list --csv" -- oc list --csv
printf '%s\n' "$OUT" >"$T/list.csv"
check "list --csv: the header row" test "$(head -1 "$T/list.csv")" = \
    "ca,generation,serial,subject,sans,sid,template,not_before,not_after,status,revoked_at,reason,invalidity_date"
check "list --csv parses back: one row per certificate (6)" test "$(col "$T/list.csv" serial | wc -l)" = 6
check "list --csv: the same serials as list --json" test "$(col "$T/list.csv" serial | sort)" = "$(oc --json list | jq -r '.[].serial' | sort)"
check "list --csv: the default order is CA name, then serial" test "$(col "$T/list.csv" ca | tr '\n' ' ')" = "iss iss iss iss iss root "
check "list --csv: serials ascending within a CA" test "$(col "$T/list.csv" serial | head -5)" = "$(col "$T/list.csv" serial | head -5 | sort)"
check "list --csv: pc9's SID and SAN" test "$(python3 -c 'import csv,sys; r=[x for x in csv.DictReader(open(sys.argv[1], newline="")) if x["serial"]==sys.argv[2]][0]; print(r["sid"], r["sans"], r["template"], r["generation"])' "$T/list.csv" "$S_pc9")" = \
    "$SID dns:pc9.contoso.com intune-device-manual 0"
check "list --csv: v3 revoked keyCompromise with its invalidity date" test "$(python3 -c 'import csv,sys; r=[x for x in csv.DictReader(open(sys.argv[1], newline="")) if x["serial"]==sys.argv[2]][0]; print(r["status"], r["reason"], r["invalidity_date"], bool(r["revoked_at"]))' "$T/list.csv" "$S_v3")" = \
    "revoked keyCompromise 2026-11-01T00:00:00Z True"
expect_rc 0 "list --expiring 10 (any CA)" -- oc --json list --expiring 10
check "--expiring 10: only the 5-day autopilot certificate" test "$(jq -r '.[].serial' <<<"$OUT")" = "$S_ap1"
expect_rc 0 "list --ca iss --expiring 10" -- oc --json list --ca iss --expiring 10
check "--ca iss --expiring 10: the autopilot certificate" test "$(jq -r '.[].serial' <<<"$OUT")" = "$S_ap1"
expect_rc 0 "list --ca root --expiring 10" -- oc --json list --ca root --expiring 10
check "--ca root --expiring 10: nothing (--ca is honoured with --expiring)" test "$OUT" = "[]"
expect_rc 0 "list --template vpn-server" -- oc --json list --template vpn-server
check "--template: the three vpn-server certificates" test "$(jq -r '.[].serial' <<<"$OUT" | sort)" = "$(printf '%s\n' "$S_v1" "$S_v2" "$S_v3" | sort)"
expect_rc 0 "list --sid" -- oc --json list --sid "$SID"
check "--sid: pc9 only" test "$(jq -r '.[].serial' <<<"$OUT")" = "$S_pc9"
expect_rc 0 "list --san dns:V2.example" -- oc --json list --san dns:V2.example
check "--san TYPE:VALUE, case-insensitive: v2 only" test "$(jq -r '.[].serial' <<<"$OUT")" = "$S_v2"
expect_rc 0 "list --san ap1.contoso.com" -- oc --json list --san ap1.contoso.com
check "--san VALUE (any type): ap1 only" test "$(jq -r '.[].serial' <<<"$OUT")" = "$S_ap1"
expect_rc 0 "list --san upn:ap1.contoso.com" -- oc --json list --san upn:ap1.contoso.com
check "--san with another type matches nothing" test "$OUT" = "[]"
expect_rc 0 "list --sort expiry --csv" -- oc list --sort expiry --csv
printf '%s\n' "$OUT" >"$T/exp.csv"
check "--sort expiry: notAfter ascending, the autopilot certificate first, the CA certificate last" \
    test "$(col "$T/exp.csv" not_after)" = "$(col "$T/exp.csv" not_after | sort)" -a \
    "$(col "$T/exp.csv" serial | head -1)" = "$S_ap1" -a "$(col "$T/exp.csv" serial | tail -1)" = "$ISS_SER"
expect_rc 0 "list --status revoked --template vpn-server" -- oc --json list --status revoked --template vpn-server
check "filters combine: v3" test "$(jq -r '.[].serial' <<<"$OUT")" = "$S_v3"
bad 2 "--sort 'size': one of ca" "list --sort size" -- oc list --sort size
bad 2 "list --sid 'S-1-5-x'" "list --sid malformed" -- oc list --sid S-1-5-x
bad 2 "CA 'nope' is not in the store" "list --ca unknown" -- oc list --ca nope
bad 2 "--csv and --json: choose one" "list --csv --json" -- oc --json list --csv
bad 2 "not a whole number of days" "list --expiring 0" -- oc list --expiring 0
bad 2 "list --san: empty" "list --san ''" -- oc list --san ''
bad 2 "list --template: empty" "list --template ''" -- oc list --template ''

# ---- report ----
expect_rc 0 "report -o inv.csv" -- oc report -o "$T/inv.csv"
expect_in "report $T/inv.csv: 6 certificates, CSV, SHA-256" "report summary"
check "report: mode 0600" test "$(stat -c %a "$T/inv.csv")" = 600
check "report CSV parses back: 6 rows, the columns of list --csv" test "$(col "$T/inv.csv" serial | wc -l)" = 6 -a "$(head -1 "$T/inv.csv")" = "$(head -1 "$T/list.csv")"
check "report CSV = list --csv (same snapshot, same rows)" cmp -s "$T/inv.csv" "$T/list.csv"
rec() { oc audit list --json | jq -r '[.[] | select(.action=="report.export")] | last | .detail' | sed 's/.*sha256=\([0-9a-f]*\).*/\1/'; }
check "report: the audit record's SHA-256 is the file's" test "$(rec)" = "$(sha256sum <"$T/inv.csv" | cut -d' ' -f1)"
n_exports() { oc audit list --json | jq '[.[] | select(.action=="report.export")] | length'; }
check "one report.export record" test "$(n_exports)" = 1
sum_before=$(sha256sum <"$T/inv.csv")
bad 2 "the file exists" "report onto an existing file without --force" -- oc report -o "$T/inv.csv"
check "  ... the existing file is unchanged" test "$sum_before" = "$(sha256sum <"$T/inv.csv")"
expect_rc 0 "report --format json --force replaces it" -- oc report --format json -o "$T/inv.csv" --force
check "report JSON parses back: 6 objects with generation 0" test "$(jq '[.[] | select(.generation == 0)] | length' "$T/inv.csv")" = 6
check "report JSON: v3's revocation" test "$(jq -r --arg s "$S_v3" '.[] | select(.serial==$s) | "\(.status) \(.reason) \(.invalidity_date) \(.revoked_at != null)"' "$T/inv.csv")" = \
    "revoked keyCompromise 2026-11-01T00:00:00Z true"
check "report JSON: pc9's SANs as an array, its SID" test "$(jq -r --arg s "$S_pc9" '.[] | select(.serial==$s) | "\(.sans|join(",")) \(.sid) \(.template) \(.ca)"' "$T/inv.csv")" = \
    "dns:pc9.contoso.com $SID intune-device-manual iss"
check "report JSON: the audit record's SHA-256 is the file's" test "$(rec)" = "$(sha256sum <"$T/inv.csv" | cut -d' ' -f1)"
expect_rc 0 "report --ca root -o - (stdout)" -- oc report --ca root -o -
check "report to stdout: one CA certificate row" test "$(printf '%s\n' "$OUT" | sed 1d | cut -d, -f3)" = "$ISS_SER"
check "report to stdout: its SHA-256 recorded" test "$(rec)" = "$(printf '%s\n' "$OUT" | sha256sum | cut -d' ' -f1)"
expect_rc 0 "audit verify after the reports" -- oc audit verify
bad 2 "needs -o FILE" "report without -o" -- oc report
bad 2 "--format 'xml': one of csv, json" "report --format xml" -- oc report --format xml -o "$T/x.csv"
bad 2 "CA 'nope' is not in the store" "report --ca unknown" -- oc report --ca nope -o "$T/x.csv"
check "  ... no file written" test ! -e "$T/x.csv"
bad 4 "No such file or directory" "report into a missing directory: nothing recorded" -- oc report -o "$T/no/dir/x.csv"
check "  ... no new report.export record" test "$(n_exports)" = 3
bad 2 "belong to --renewals" "report --days without --renewals" -- oc report --days 3 -o "$T/x.csv"

# ---- renewals ----
expect_rc 0 "report --renewals --template autopilot-provisioning --days 10" -- \
    oc report --renewals --template autopilot-provisioning --days 10
expect_in "  iss  $S_ap1  ap1.contoso.com" "the expiring certificate with its principal"
CMD=$(sed -n 's/^  offca sign /offca sign /p' <<<"$OUT")
check "the re-issue command, exactly" test "$CMD" = \
    "offca sign --ca iss --template autopilot-provisioning --csr ap1.contoso.com.csr --san dns:ap1.contoso.com -o ap1.contoso.com.pem"
expect_rc 0 "report --renewals --template vpn-server --days 10: nothing expires" -- \
    oc report --renewals --template vpn-server --days 10
check "  ... empty" test -z "$OUT"
expect_rc 0 "renewals of the manual-SID template within 400 days" -- \
    oc report --renewals --template intune-device-manual --days 400 --format csv
check "renewals CSV: the command carries --sid (the template takes it from the operator)" \
    test "$(printf '%s\n' "$OUT" | col /dev/stdin command)" = \
    "offca sign --ca iss --template intune-device-manual --csr pc9.contoso.com.csr --san dns:pc9.contoso.com --sid $SID -o pc9.contoso.com.pem"
expect_rc 0 "renewals JSON to a file" -- oc report --renewals --template autopilot-provisioning --days 10 --format json -o "$T/ren.json"
check "renewals JSON: principal and serial" test "$(jq -r '.[0] | "\(.principal) \(.serial)"' "$T/ren.json")" = "ap1.contoso.com $S_ap1"
check "renewals: nothing recorded" test "$(n_exports)" = 3
# the printed command works as printed (a new key: the old one is allowed, but renew with a new one)
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/k2.key" 2>/dev/null
mkdir "$T/renew" && openssl req -new -key "$T/k2.key" -subj /CN=ap1 -out "$T/renew/ap1.contoso.com.csr" 2>/dev/null
expect_rc 0 "the re-issue command runs as printed" -- bash -c "cd '$T/renew' && \"\$0\" -c '$T/ca.toml' ${CMD#offca }" "$OFFCA"
check "  ... and issued the renewal for the same name" grep -q "DNS:ap1.contoso.com" <<<"$(openssl x509 -in "$T/renew/ap1.contoso.com.pem" -noout -ext subjectAltName)"
bad 2 "template nope: not found" "renewals of an unknown template" -- oc report --renewals --template nope --days 3
bad 2 "needs --template NAME and --days N" "renewals without --days" -- oc report --renewals --template vpn-server
bad 2 "not a whole number of days" "renewals --days 0" -- oc report --renewals --template vpn-server --days 0

# ---- progress ----
script -qec "$OFFCA -c $T/ca.toml report -o $T/tty.csv" /dev/null >"$T/tty.out" 2>&1
check "report on a terminal: the progress line" grep -q $'\rreport: certificates: 7/7 (100%), [0-9]*/s, done' "$T/tty.out"
expect_rc 0 "report without a terminal" -- oc report -o "$T/quiet.csv"
check "  ... no progress line" test -z "$ERR"
t_done
