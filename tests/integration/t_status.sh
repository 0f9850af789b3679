#!/bin/bash
# Issue 13, `offca status`: exit 0 ok / 1 warnings / 2 errors with a test clock (OFFCA_TEST_NOW):
# no CRL yet (2), fresh (0), Next CRL Publish passed within the grace (1), overdue (2), past
# nextUpdate (2), a CA certificate within 90 days of expiry (1) and expired (2); the counts of
# valid / expiring / expired / revoked certificates, with --expiring-days; --json; and
# --prometheus: every line of the textfile matches the node exporter format, every sample has its
# HELP and TYPE, the figures equal the JSON's, the file is replaced atomically (mode 0644); a CA
# renewed with a new key: one line / JSON object / key_index sample per key generation.
. "$(dirname "$0")/common.sh"
offca_setup offca-status
oc init >/dev/null
oc key generate --label root --alg p256 >/dev/null
oc key generate --label iss --alg p256 >/dev/null
oc ca create-root root --key "pkcs11:token=offca-status;object=root;type=private" \
    --subject 'CN=Status Root' --days 3650 >/dev/null
oc ca create-issuing iss --parent root --key "pkcs11:token=offca-status;object=iss;type=private" \
    --subject 'CN=Status Issuing' --days 1000 >/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/k.key" 2>/dev/null
issue() { # issue NAME DAYS: a vpn-server certificate from iss, serial in $T/NAME.serial
    openssl req -new -key "$T/k.key" -subj "/CN=$1" -out "$T/$1.csr" 2>/dev/null
    oc sign --ca iss --template vpn-server --csr "$T/$1.csr" --san "dns:$1.example.com" \
        --days "$2" -o "$T/$1.pem" >/dev/null 2>"$T/sign.err" ||
        notok "issue $1" "offca sign failed: $(cat "$T/sign.err")"
    openssl x509 -in "$T/$1.pem" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f' >"$T/$1.serial"
}
issue long1 365; issue long2 300; issue soon 10; issue mid 45; issue gone 200
oc revoke --ca iss --serial "$(cat "$T/gone.serial")" --reason superseded >/dev/null
check "five certificates issued by iss" test "$(oc --json list --ca iss | jq length)" = 5
NOW=$(date +%s)
# the test clock: the test build reads OFFCA_TEST_NOW where one exists (lib.sh's OFFCA_TEST_BIN)
CLOCK_BIN=${OFFCA_TEST_BIN:-$OFFCA}
[ -x "$CLOCK_BIN" ] || CLOCK_BIN=$OFFCA
st() { OFFCA_TEST_NOW=$1 "$CLOCK_BIN" -c "$T/ca.toml" "${@:2}"; }
json() { st "$NOW" --json status | jq -r "$1"; }
crltime_of() { date -u -d "$(openssl crl -inform DER -in "$1" -noout -"${2}update" | sed 's/^[^=]*=//')" +%s; }

expect_rc 2 "no CRL published yet: errors (exit 2)" -- st "$NOW" status
expect_in "no CRL published: run 'offca crl publish'" "the error says what to do"
expect_in "root CRL      none imported" "imported root CRL horizon: none imported"
oc crl publish >/dev/null
expect_rc 0 "fresh CRLs: ok (exit 0)" -- st "$NOW" status
expect_in "iss (active): ok" "the CA's line"
expect_in "2 CA(s): 0 with errors, 0 with warnings" "the summary line"
check "counts (default 30 days): 3 valid, 1 expiring, 0 expired, 1 revoked" test \
    "$(json '.cas[]|select(.name=="iss")|.certificates|"\(.valid) \(.expiring) \(.expired) \(.revoked)"')" = "3 1 0 1"
check "--expiring-days 60 counts the 45-day certificate as expiring" test \
    "$(st "$NOW" --json status --expiring-days 60 | jq -r '.cas[]|select(.name=="iss")|.certificates|"\(.valid) \(.expiring)"')" = "2 2"
check "the root counts the issuing CA certificate it issued" test \
    "$(json '.cas[]|select(.name=="root")|.certificates.valid')" = 1
check "JSON: root_crl_horizon null (none imported)" test "$(json '.cas[0].root_crl_horizon')" = null
check "JSON: status ok, expiring_days 30" test "$(json '"\(.status) \(.expiring_days)"')" = "ok 30"
check "JSON: CRL number 1 for each CA" test "$(json '[.cas[].crl_number]|join(",")')" = "1,1"
np=$(date -d "$(json '.cas[]|select(.name=="iss")|.crl_next_publish')" +%s)
nu=$(date -d "$(json '.cas[]|select(.name=="iss")|.crl_next_update')" +%s)
check "nextUpdate is after Next CRL Publish" test "$nu" -gt "$np"

expect_rc 1 "Next CRL Publish passed by 30 minutes: warning (exit 1)" -- st $((np + 1800)) status
expect_in "CRL #1 publish due since" "the warning names the due time"
expect_rc 2 "Next CRL Publish passed by 3 hours: overdue, error (exit 2)" -- st $((np + 3 * 3600)) status
expect_in "CRL #1 publish overdue since" "the error names it overdue"
expect_rc 2 "past nextUpdate: error (exit 2)" -- st $((nu + 60)) status
expect_in "past nextUpdate" "the error names nextUpdate"
check "expired certificates counted under the moved clock" test \
    "$(st $((NOW + 46 * 86400)) --json status | jq -r '.cas[]|select(.name=="iss")|.certificates|"\(.expired) \(.revoked)"')" = "2 1"

# A CA certificate near expiry (within the 90 days doctor warns in), then expired.
oc key generate --label short --alg p256 >/dev/null
oc ca create-issuing short --parent root --key "pkcs11:token=offca-status;object=short;type=private" \
    --subject 'CN=Status Short' --days 60 >/dev/null
oc crl publish >/dev/null
expect_rc 1 "a CA certificate expiring within 90 days: warning (exit 1)" -- st "$NOW" status
expect_in "CA certificate expires on" "the warning names the expiry"
expect_in "short (active): warning" "only that CA warns"
exp=$(date -d "$(st "$NOW" --json status | jq -r '.cas[]|select(.name=="short")|.cert_not_after')" +%s)
expect_rc 2 "an expired CA certificate: error (exit 2)" -- st $((exp + 60)) status
expect_in "CA certificate expired on" "the error names it"

# ---- --prometheus ----
mkdir -p "$T/prom"
expect_rc 1 "--prometheus: same exit code as the screen" -- st "$NOW" status --prometheus "$T/prom/offca.prom"
P="$T/prom/offca.prom"
name='[a-zA-Z_:][a-zA-Z0-9_:]*'
label='[a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*"'
check "every line matches the textfile format" test -z "$(grep -Ev \
    "^(# HELP $name .+|# TYPE $name (gauge|counter|untyped)|$name(\{$label(,$label)*\})? -?[0-9]+(\.[0-9]+)?)\$" "$P")"
check "every sample's metric has HELP and TYPE lines before it" awk '
    /^# HELP / { help[$3] = 1; next } /^# TYPE / { type[$3] = 1; next }
    { n = $1; sub(/\{.*/, "", n); if (!(n in help) || !(n in type)) bad = 1 } END { exit bad }' "$P"
check "no metric has two TYPE lines" test -z "$(grep '^# TYPE' "$P" | cut -d' ' -f3 | sort | uniq -d)"
check "offca_crl_next_update_seconds{ca=\"iss\"} is the CRL's nextUpdate" \
    grep -qx "offca_crl_next_update_seconds{ca=\"iss\"} $nu" "$P"
check "offca_ca_cert_expiry_seconds{ca=\"short\"} is its notAfter" \
    grep -qx "offca_ca_cert_expiry_seconds{ca=\"short\"} $exp" "$P"
check "offca_certificates{ca,state}: 1 revoked, 1 expiring for iss" bash -c \
    "grep -qx 'offca_certificates{ca=\"iss\",state=\"revoked\"} 1' '$P' && grep -qx 'offca_certificates{ca=\"iss\",state=\"expiring\"} 1' '$P'"
check "offca_ca_status: short warns (1), iss ok (0)" bash -c \
    "grep -qx 'offca_ca_status{ca=\"short\"} 1' '$P' && grep -qx 'offca_ca_status{ca=\"iss\"} 0' '$P'"
check "the textfile is mode 0644" test "$(stat -c %a "$P")" = 644
ino=$(stat -c %i "$P")
st $((exp + 60)) status --prometheus "$P" >/dev/null
check "a second run replaces the file by rename (new inode), with the new figures" bash -c \
    "test '$(stat -c %i "$P")' != '$ino' && grep -qx 'offca_ca_status{ca=\"short\"} 2' '$P'"
check "no temporary file left in the textfile directory" test "$(ls -A "$T/prom")" = offca.prom
expect_rc 4 "--prometheus into a missing directory: exit 4" -- st "$NOW" status --prometheus "$T/nodir/x.prom"
check "nothing written there" test ! -e "$T/nodir"

# ---- delta CRLs: their own dates and overdue rule ----
printf '[ca.iss]\ndelta_period = "1d"\n' >>"$T/ca.toml"
oc crl publish >/dev/null
jd() { st "$1" --json status | jq -r ".cas[]|select(.name==\"iss\")|$2"; }
dnp=$(date -d "$(jd "$NOW" .delta_next_publish)" +%s)
check "delta CRL: Next CRL Publish a day ahead, iss ok" test "$(jd "$NOW" .status)" = ok -a "$dnp" -gt "$NOW"
check "delta CRL: nextUpdate = its Next CRL Publish + crl_overlap (2d)" test \
    "$(date -d "$(jd "$NOW" .delta_next_update)" +%s)" = $((dnp + 2 * 86400))
check "delta CRL overdue by 3 hours: iss in error, the base CRL still fresh" test \
    "$(jd $((dnp + 3 * 3600)) '"\(.status) \(.findings|join("|"))"')" = \
    "error delta CRL publish overdue since $(date -u -d "@$dnp" +%Y-%m-%dT%H:%M:%SZ): check the cron job / offca-crl.timer"
st "$NOW" status --prometheus "$P" >/dev/null
check "offca_delta_crl_next_update_seconds for iss only" test \
    "$(grep '^offca_delta_crl_next_update_seconds' "$P")" = "offca_delta_crl_next_update_seconds{ca=\"iss\"} $((dnp + 2 * 86400))"

# ---- key generations: a CA renewed with a new key publishes one CRL per key ----
for k in gen0 gen1; do oc key generate --label $k --alg p256 >/dev/null; done
oc ca create-issuing gen --parent root --key "pkcs11:token=offca-status;object=gen0;type=private" \
    --subject 'CN=Status Gen' --days 900 >/dev/null
oc crl publish --ca gen >/dev/null; oc crl publish --ca gen --force >/dev/null
oc crl publish --ca gen --force >/dev/null
oc ca renew gen --new-key "pkcs11:token=offca-status;object=gen1;type=private" >/dev/null
oc crl publish --ca gen >/dev/null
G=$(st "$NOW" --json status | jq -c '.cas[]|select(.name=="gen")')
n0=$(openssl crl -inform DER -in "$T/pub/gen.crl" -noout -crlnumber | sed 's/.*=//')
n1=$(openssl crl -inform DER -in "$T/pub/gen(1).crl" -noout -crlnumber | sed 's/.*=//')
check "the two keys' CRLs have their own numbers (gen.crl 3, gen(1).crl 1)" test "$n0 $n1" = "0x03 0x01"
check "JSON: two generations, key 0 superseded with CRL 3, key 1 active with CRL 1" test \
    "$(jq -r '[.generations[]|"\(.key_index):\(.state):\(.crl_number):\(.crl_file):\(.cert_file)"]|join(" ")' <<<"$G")" = \
    "0:superseded:3:gen.crl:gen.crt 1:active:1:gen(1).crl:gen(1).crt"
check "JSON: key_index 1 and the CA-level CRL figures are the active key's (kept for compatibility)" \
    test "$(jq -r '"\(.key_index) \(.crl_number) \(.crl_next_update)"' <<<"$G")" = \
    "1 1 $(jq -r '.generations[1].crl_next_update' <<<"$G")"
for k in 0 1; do
    f=gen.crl; [ $k = 1 ] && f='gen(1).crl'
    check "JSON: key $k thisUpdate / nextUpdate are those of $f" test \
        "$(jq -r ".generations[$k]|\"\(.crl_this_update) \(.crl_next_update)\"" <<<"$G" | xargs -n1 date +%s -d | xargs)" = \
        "$(crltime_of "$T/pub/$f" last) $(crltime_of "$T/pub/$f" next)"
done
check "JSON: each generation's certificate expiry is its certificate's notAfter" test \
    "$(jq -r '.generations[]|.cert_not_after' <<<"$G" | xargs -n1 date +%s -d | xargs)" = \
    "$(for c in gen.crt 'gen(1).crt'; do date +%s -d "$(openssl x509 -inform DER -in "$T/pub/$c" -noout -enddate | cut -d= -f2)"; done | xargs)"
expect_rc 1 "text: status (the short CA still warns)" -- st "$NOW" status
expect_in "gen (active): ok" "text: gen is ok with both keys publishing"
check "text: one line per key generation under gen" test "$(sed -n '/^gen (active)/,/^[^ ]/p' <<<"$OUT" | grep -c '^  key index ')" = 2
expect_in "  key index 0   superseded; gen.crt expires $(jq -r '.generations[0].cert_not_after' <<<"$G"); gen.crl #3, thisUpdate $(jq -r '.generations[0].crl_this_update' <<<"$G"), next publish $(jq -r '.generations[0].crl_next_publish' <<<"$G"), nextUpdate $(jq -r '.generations[0].crl_next_update' <<<"$G")" \
    "text: key 0's line (certificate, CRL number and dates)"
expect_in "  key index 1   active; gen(1).crt expires" "text: key 1's line"
st "$NOW" status --prometheus "$P" >/dev/null
pv() { grep -E "^$1\{ca=\"gen\"${2:-}\} " "$P" | cut -d' ' -f2; }
js() { date +%s -d "$(jq -r "$1" <<<"$G")"; }
check "prometheus: offca_ca_key_index{ca=gen} 1" test "$(pv offca_ca_key_index)" = 1
check "prometheus: the active key's series unchanged ({ca} only): CRL 1" test "$(pv offca_crl_number)" = 1
check "prometheus: key 0's CRL number with key_index=\"0\" equals the JSON's (3)" \
    test "$(pv offca_crl_number ',key_index="0"')" = "$(jq -r '.generations[0].crl_number' <<<"$G")"
for m in this_update:crl_this_update next_publish:crl_next_publish next_update:crl_next_update; do
    check "prometheus: offca_crl_${m%%:*}_seconds per key equals the JSON" test \
        "$(pv "offca_crl_${m%%:*}_seconds" ',key_index="0"') $(pv "offca_crl_${m%%:*}_seconds")" = \
        "$(js ".generations[0].${m#*:}") $(js ".generations[1].${m#*:}")"
done
check "prometheus: offca_ca_cert_expiry_seconds per key equals the JSON" test \
    "$(pv offca_ca_cert_expiry_seconds ',key_index="0"') $(pv offca_ca_cert_expiry_seconds)" = \
    "$(js '.generations[0].cert_not_after') $(js '.generations[1].cert_not_after')"
check "prometheus: no key_index sample for the active key, none for a single-key CA" test \
    "$(grep -c 'key_index="1"\|ca="root",key_index' "$P")" = 0
check "prometheus: the textfile still matches the format with the key_index label" test -z "$(grep -Ev \
    "^(# HELP $name .+|# TYPE $name (gauge|counter|untyped)|$name(\{$label(,$label)*\})? -?[0-9]+(\.[0-9]+)?)\$" "$P")"
nu0=$(js '.generations[0].crl_next_update')
expect_rc 2 "key 0's CRL past its nextUpdate: error, named by key index" -- st $((nu0 + 60)) --json status
check "JSON: the finding names key index 0's CRL" jq -e '.cas[]|select(.name=="gen")|.findings|
    any(startswith("key index 0 CRL #3 past nextUpdate"))' <<<"$OUT"

# ---- usage ----
expect_rc 2 "--expiring-days 0 refused" -- st "$NOW" status --expiring-days 0
expect_in "--expiring-days '0': not a whole number of days from 1 to 36500" "with the rule"
expect_rc 2 "an unexpected argument refused" -- st "$NOW" status extra
expect_rc 0 "status --help" -- oc status --help
expect_in "offca_certificates{ca,state}" "help names the metrics"
t_done
