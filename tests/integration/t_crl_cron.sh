#!/bin/bash
# Issue 4, `offca crl publish` as cron runs it: nothing due -> one line per CA, exit 0, files
# untouched byte for byte; a revocation, Next CRL Publish reached (OFFCA_TEST_NOW), or a
# tampered file -> publish with a higher number; CRL times (period, overlap, clock skew); delta
# CRLs judged by `openssl crl -text` and `openssl verify -use_deltas` (incl. removeFromCRL
# after unrevoke); overlapping runs; exit codes, stderr and syslog; the shipped cron/systemd files.
. "$(dirname "$0")/common.sh"
offca_setup crl-cron
cat >>"$T/ca.toml" <<TOML
[ca.root]
crl_period = "90d"
crl_overlap = "30d"
[ca.iss]
crl_period = "7d"
crl_overlap = "2d"
[ca.dl]
crl_period = "7d"
crl_overlap = "2d"
delta_period = "1d"
TOML
URI() { echo "pkcs11:token=crl-cron;object=$1;type=private"; }
ser() { openssl x509 -in "$1" -noout -serial | cut -d= -f2; }
leaf() { # leaf CA NAME -> $T/NAME.pem
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/$2.key" \
        -subj "/CN=$2" -out "$T/$2.csr" 2>/dev/null
    oc sign --ca "$1" --template vpn-server --csr "$T/$2.csr" --san "dns:$2.example" \
        -o "$T/$2.pem" >/dev/null
}
crltext() { openssl crl -inform DER -in "$1" -noout -text; }
num() { local h; h=$(openssl crl -inform DER -in "$1" -noout -crlnumber | cut -d= -f2); echo $((16#${h#0x})); }
epoch() { date -u -d "$1" +%s; }
last_upd() { epoch "$(openssl crl -inform DER -in "$1" -noout -lastupdate | cut -d= -f2)"; }
next_upd() { epoch "$(openssl crl -inform DER -in "$1" -noout -nextupdate | cut -d= -f2)"; }
ncp() { # Microsoft Next CRL Publish (1.3.6.1.4.1.311.21.4) as seconds since the epoch
    local v; v=$(crltext "$1" | grep -A1 '1.3.6.1.4.1.311.21.4' | tail -n 1 | grep -oE '[0-9]{12}Z')
    epoch "20${v:0:2}-${v:2:2}-${v:4:2} ${v:6:2}:${v:8:2}:${v:10:2} UTC"
}
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
crl_ok() { openssl crl -inform DER -in "$T/pub/$1" -CAfile "$T/$2.pem" -noout 2>&1 | grep -q 'verify OK'; }
snap() { (cd "$T/pub" && ls -i --full-time *.crl *.crt; md5sum *.crl *.crt); }

oc init >/dev/null
for k in root iss dl; do oc key generate --label $k --alg p256 >/dev/null; done
oc ca create-root root --key "$(URI root)" --subject 'CN=Cron Root' >/dev/null
oc ca create-issuing iss --parent root --key "$(URI iss)" --subject 'CN=Cron iss' >/dev/null
oc ca create-issuing dl --parent root --key "$(URI dl)" --subject 'CN=Cron dl' >/dev/null
for c in root iss dl; do oc ca export $c -o "$T/$c.pem"; done
leaf iss a; leaf iss b; leaf dl d1; leaf dl d2; leaf dl d3

# ---- first run, then a run with nothing due ----
T0=$(date +%s)
expect_rc 0 "first run publishes every CA" -- oc crl publish
T1=$(date +%s)
for l in "dl: published CRL 1" "dl: published delta CRL 2" "iss: published CRL 1" "root: published CRL 1"; do
    expect_in "$l" "first run: $l"
done
check "first run: exactly 4 lines" test "$(wc -l <<<"$OUT")" = 4
for c in root iss dl; do check "$c.crl verifies against $c's certificate" crl_ok $c.crl $c; done
check "dl+.crl verifies" crl_ok dl+.crl dl
S0=$(snap)
expect_rc 0 "second run with no change exits 0" -- oc crl publish
check "second run: one line per CA (3)" test "$(wc -l <<<"$OUT")" = 3
check "second run: every line says nothing to do" test "$(grep -c '; nothing to do$' <<<"$OUT")" = 3
check "second run: nothing on stderr" test -z "$ERR"
check "second run: the files are unchanged byte for byte (same inode, time, hash)" test "$(snap)" = "$S0"
expect_in "iss: CRL 1 is current (next publish due $(iso "$(ncp "$T/pub/iss.crl")"))" \
    "the line shows iss's real Next CRL Publish time"
expect_in "root: CRL 1 is current (next publish due $(iso "$(ncp "$T/pub/root.crl")"))" \
    "the line shows the root's real Next CRL Publish time"
expect_in "dl: CRL 2 is current (next publish due $(iso "$(ncp "$T/pub/dl+.crl")"))" \
    "with deltas the line shows the delta's (earlier) Next CRL Publish"
expect_rc 0 "--ca runs only that CA" -- oc crl publish --ca iss
check "--ca: one line" test "$(wc -l <<<"$OUT")" = 1

# ---- CRL times: thisUpdate backdated 10 min, Next CRL Publish = +period, nextUpdate = +overlap ----
F="$T/pub/iss.crl"
# the clock read by the first run lies between T0 and T1, however long the run took
check "thisUpdate is the first run's clock minus 10 minutes" \
    test $(($(last_upd "$F") + 600)) -ge "$T0" -a $(($(last_upd "$F") + 600)) -le "$T1"
check "Next CRL Publish = thisUpdate + 7d + skew" test $(($(ncp "$F") - $(last_upd "$F"))) = $((7 * 86400 + 600))
check "nextUpdate = Next CRL Publish + 2d overlap" test $(($(next_upd "$F") - $(ncp "$F"))) = $((2 * 86400))
check "root: nextUpdate - Next CRL Publish = 30d" test $(($(next_upd "$T/pub/root.crl") - $(ncp "$T/pub/root.crl"))) = $((30 * 86400))
check "CRL carries CA Version 1.3.6.1.4.1.311.21.1" grep -q '1.3.6.1.4.1.311.21.1' <<<"$(crltext "$F")"

# ---- a revocation makes the next run publish ----
expect_rc 0 "revoke a" -- oc revoke --ca iss --serial "$(ser "$T/a.pem")" --reason superseded
expect_rc 0 "run after the revocation" -- oc crl publish
expect_in "iss: published CRL 2" "iss publishes CRL 2"
check "only iss published (root and dl: nothing to do)" test "$(grep -c 'nothing to do' <<<"$OUT")" = 2
check "iss.crl number went 1 -> 2" test "$(num "$T/pub/iss.crl")" = 2
check "iss.crl lists a as superseded" bash -c "openssl crl -inform DER -in '$T/pub/iss.crl' -noout -text | grep -A4 'Serial Number: $(ser "$T/a.pem")' | grep -q Superseded"
expect_rc 0 "and the run after that has nothing to do" -- oc crl publish --ca iss
expect_in "nothing to do" "nothing to do after publishing"

# ---- the clock reaching Next CRL Publish (OFFCA_TEST_NOW) ----
NCP=$(ncp "$T/pub/iss.crl")
expect_rc 0 "a minute before Next CRL Publish: nothing" -- env OFFCA_TEST_NOW=$((NCP - 60)) "$OFFCA_TEST_BIN" -c "$T/ca.toml" crl publish --ca iss
expect_in "nothing to do" "not yet due"
expect_rc 0 "one second past Next CRL Publish: publish" -- env OFFCA_TEST_NOW=$((NCP + 1)) "$OFFCA_TEST_BIN" -c "$T/ca.toml" crl publish
expect_in "iss: published CRL 3" "iss publishes CRL 3 when due"
expect_in "root: CRL 1 is current" "the root (90d) is not due"
expect_in "dl: published CRL 3" "dl's base (7d) is due too"
check "the new CRL's thisUpdate follows the clock override" test "$(last_upd "$T/pub/iss.crl")" = $((NCP + 1 - 600))
check "still lists a" bash -c "openssl crl -inform DER -in '$T/pub/iss.crl' -noout -text | grep -q 'Serial Number: $(ser "$T/a.pem")'"

# ---- a published file that is not the recorded one is published again ----
printf 'garbage' >"$T/pub/iss.crl"
expect_rc 0 "tampered iss.crl: the next run republishes" -- oc crl publish --ca iss
expect_in "iss: published CRL 4" "republished as CRL 4"
check "the republished file verifies" crl_ok iss.crl iss

# ---- delta CRLs ----
expect_rc 0 "dl: a fresh base on the real clock (the last one was dated by the override)" -- \
    oc crl publish --ca dl --force
B=$(num "$T/pub/dl.crl")
BT=$(crltext "$T/pub/dl.crl"); DT=$(crltext "$T/pub/dl+.crl")
check "base: has a Freshest CRL extension (non-critical)" bash -c "grep -q 'X509v3 Freshest CRL: *$' <<<'$BT'"
check "base: Freshest CRL URI" grep -q "URI:http://127.0.0.1:${OFFCA_TEST_PORT:-18080}/pki/dl+.crl" <<<"$BT"
check "base: no Delta CRL Indicator" bash -c "! grep -q 'Delta CRL Indicator' <<<'$BT'"
check "delta: Delta CRL Indicator is critical" grep -q 'Delta CRL Indicator: critical' <<<"$DT"
check "delta: indicator names the base number" test "$(grep -A1 'Delta CRL Indicator' <<<"$DT" | tail -n 1 | tr -d ' ')" = "$B"
check "delta number > base number" test "$(num "$T/pub/dl+.crl")" -gt "$B"
check "iss (no delta_period) has no Freshest CRL and no delta file" \
    bash -c "! openssl crl -inform DER -in '$T/pub/iss.crl' -noout -text | grep -q Freshest && test ! -e '$T/pub/iss+.crl'"
BASE0=$(md5sum <"$T/pub/dl.crl")
expect_rc 0 "revoke d1 (keyCompromise)" -- oc revoke --ca dl --serial "$(ser "$T/d1.pem")" --reason keyCompromise
expect_rc 0 "publish: only a delta" -- oc crl publish --ca dl
expect_in "dl: published delta CRL" "a delta was published"
check "no new base" bash -c "! grep -q 'dl: published CRL' <<<'$OUT'"
check "the base file is unchanged" test "$(md5sum <"$T/pub/dl.crl")" = "$BASE0"
openssl crl -inform DER -in "$T/pub/dl.crl" -out "$T/base.pem"
openssl crl -inform DER -in "$T/pub/dl+.crl" -out "$T/delta.pem"
# -extended_crl: without it OpenSSL 3.0 scores a delta like a full CRL (get_crl_score's else-if
# chain skips "don't process deltas" unless extended CRL support is on) and, when the delta's
# thisUpdate is newer, takes the delta AS the full CRL: base-only revocations then pass.
dverify() { openssl verify -crl_check -use_deltas -extended_crl -CAfile "$T/root.pem" -untrusted "$T/dl.pem" "$@"; }
expect_rc 2 "openssl -use_deltas: d1 (revoked only in the delta) is revoked" -- \
    dverify -CRLfile "$T/base.pem" -CRLfile "$T/delta.pem" "$T/d1.pem"
expect_in "certificate revoked" "openssl says certificate revoked"
expect_rc 0 "openssl with the base alone: d1 is still good (it is only in the delta)" -- \
    dverify -CRLfile "$T/base.pem" "$T/d1.pem"
expect_rc 0 "openssl -use_deltas: d3 (never revoked) is good" -- \
    dverify -CRLfile "$T/base.pem" -CRLfile "$T/delta.pem" "$T/d3.pem"

# certificateHold in a base, then unrevoke: the next delta says removeFromCRL
S2=$(ser "$T/d2.pem")
expect_rc 0 "put d2 on hold" -- oc revoke --ca dl --serial "$S2" --reason certificateHold
expect_rc 0 "publish a new base with the hold" -- oc crl publish --ca dl --force
openssl crl -inform DER -in "$T/pub/dl.crl" -out "$T/base2.pem"
check "the base lists d2 as Certificate Hold" bash -c "openssl crl -in '$T/base2.pem' -noout -text | grep -A4 'Serial Number: $S2' | grep -q 'Certificate Hold'"
expect_rc 0 "unrevoke d2" -- oc unrevoke --ca dl --serial "$S2"
expect_in "released from hold: $S2" "unrevoke says released"
BASE2=$(md5sum <"$T/pub/dl.crl")
expect_rc 0 "publish after unrevoke: a delta" -- oc crl publish --ca dl
expect_in "dl: published delta CRL" "delta published after unrevoke"
check "the base is unchanged" test "$(md5sum <"$T/pub/dl.crl")" = "$BASE2"
DT=$(crltext "$T/pub/dl+.crl")
check "the delta lists d2 with reason Remove From CRL" bash -c "grep -A4 'Serial Number: $S2' <<<'$DT' | grep -q 'Remove From CRL'"
check "the delta does not list d1 (it is in the new base)" bash -c "! grep -q 'Serial Number: $(ser "$T/d1.pem")' <<<'$DT'"
openssl crl -inform DER -in "$T/pub/dl+.crl" -out "$T/delta2.pem"
expect_rc 2 "openssl with the base alone: d2 is on hold" -- dverify -CRLfile "$T/base2.pem" "$T/d2.pem"
expect_in "certificate revoked" "base alone: revoked (hold)"
expect_rc 0 "openssl -use_deltas: removeFromCRL releases d2" -- \
    dverify -CRLfile "$T/base2.pem" -CRLfile "$T/delta2.pem" "$T/d2.pem"
expect_rc 2 "openssl -use_deltas: d1 stays revoked" -- \
    dverify -CRLfile "$T/base2.pem" -CRLfile "$T/delta2.pem" "$T/d1.pem"
expect_rc 0 "a new base after the release" -- oc crl publish --ca dl --force
check "the new base does not list d2 (tombstones are not revocations)" \
    bash -c "! openssl crl -inform DER -in '$T/pub/dl.crl' -noout -text | grep -q 'Serial Number: $S2'"
check "nor does its delta (the release predates the base)" \
    bash -c "! openssl crl -inform DER -in '$T/pub/dl+.crl' -noout -text | grep -q 'Serial Number: $S2'"
check "the new base still lists d1" bash -c "openssl crl -inform DER -in '$T/pub/dl.crl' -noout -text | grep -q 'Serial Number: $(ser "$T/d1.pem")'"
DNCP=$(ncp "$T/pub/dl+.crl"); BASE3=$(md5sum <"$T/pub/dl.crl")
expect_rc 0 "past the delta's Next CRL Publish (1d) but not the base's (7d): a delta only" -- \
    env OFFCA_TEST_NOW=$((DNCP + 1)) "$OFFCA_TEST_BIN" -c "$T/ca.toml" crl publish --ca dl
expect_in "dl: published delta CRL" "delta due by time"
check "base untouched" test "$(md5sum <"$T/pub/dl.crl")" = "$BASE3"

# a delta that is not the last one recorded (a run killed between base and delta, or an old
# copy put back) is published again at once, from the current base
cp "$T/pub/dl+.crl" "$T/old-delta.crl"
expect_rc 0 "a new delta" -- oc crl publish --ca dl --force
BASE4=$(md5sum <"$T/pub/dl.crl"); cp "$T/old-delta.crl" "$T/pub/dl+.crl"
expect_rc 0 "an old delta put back: the next run publishes a delta" -- oc crl publish --ca dl
expect_in "dl: published delta CRL" "delta republished"
check "  and leaves the base alone" test "$(md5sum <"$T/pub/dl.crl")" = "$BASE4"
check "  the new delta's indicator names the current base" test "$(crltext "$T/pub/dl+.crl" | grep -A1 'Delta CRL Indicator' | tail -n 1 | tr -d ' ')" = "$(num "$T/pub/dl.crl")"

# ---- CRL numbers only go up, across base and delta ----
check "numbers: dl+ > dl, and every CRL verifies" bash -c "[ $(num "$T/pub/dl+.crl") -gt $(num "$T/pub/dl.crl") ]"
check "audit records every publication" bash -c "[ \$('$OFFCA' -c '$T/ca.toml' audit list | grep -c crl.publish) -ge 10 ]"

# ---- overlapping runs ----
N0=$(num "$T/pub/iss.crl")
oc crl publish --ca iss --force >"$T/o1" 2>&1 & P1=$!
oc crl publish --ca iss --force >"$T/o2" 2>&1 & P2=$!
wait $P1; R1=$?; wait $P2; R2=$?
check "two overlapping --force runs both exit 0" test "$R1$R2" = 00
N1=$(grep -o 'published CRL [0-9]*' "$T/o1" | grep -o '[0-9]*$'); N2=$(grep -o 'published CRL [0-9]*' "$T/o2" | grep -o '[0-9]*$')
check "their CRL numbers are distinct and above the old one" bash -c "[ -n '$N1' ] && [ -n '$N2' ] && [ '$N1' != '$N2' ] && [ $N1 -gt $N0 ] && [ $N2 -gt $N0 ]"
check "the published file is the later one and verifies" bash -c "[ $(num "$T/pub/iss.crl") = $(( N1 > N2 ? N1 : N2 )) ]"
check "the published file verifies after the overlap" crl_ok iss.crl iss
check "no temp files left in the publish dir" bash -c "[ -z \"\$(ls -A '$T/pub' | grep -vE '^(root|iss|dl)\\+?\\.(crl|crt)\$|^\\.offca-publish\\.lock\$')\" ]"

# ---- exit codes and messages ----
S0=$(snap)
expect_rc 2 "--ca naming an unknown CA: usage error (2)" -- oc crl publish --ca nosuch
expect_in "crl publish --ca nosuch: CA 'nosuch' is not in the store" "says so before deciding anything"
check "unknown CA: no stdout line" test -z "$OUT"
check "unknown CA: no file written" test "$(snap)" = "$S0"
expect_rc 2 "--ca with an invalid name: usage error (2)" -- oc crl publish --ca '../x'
expect_rc 2 "unexpected argument: usage error (2)" -- oc crl publish extra
expect_rc 2 "unknown option: usage error (2)" -- oc crl publish --now
: >"$T/notadir"
expect_rc 4 "publish dir that is not a directory: exit 4" -- \
    "$OFFCA" -c <(sed "s#^dir = .*#dir = \"$T/notadir\"#" "$T/ca.toml") crl publish
expect_in "publish dir $T/notadir: cannot open: Not a directory; create it" "message names the publish dir and the fix"
expect_rc 0 "crl publish --help documents the exit codes" -- oc crl publish --help
expect_in "2 usage (bad option, --ca not in the" "help: exit 2"
expect_in "4 HSM, store or file failure" "help: exit 4"
if command -v strace >/dev/null && strace -qq -o /dev/null true 2>/dev/null; then
    # glibc's syslog() sends to /dev/log: make its connect succeed (injected) to see the payload.
    # (LeakSanitizer cannot run under ptrace: leak checks are off for these three runs only)
    SL() { ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" strace -f -qq \
           -e trace=connect,sendto -e inject=connect:retval=0 -s 400 -o "$T/strace" "$@"; }
    expect_rc 0 "syslog: nothing-due run" -- SL "$OFFCA" -c "$T/ca.toml" crl publish --ca iss
    check "syslog gets the nothing-to-do line at user.info" grep -q '"<14>.*offca\[[0-9]*\]: iss: CRL [0-9]* is current' "$T/strace"
    expect_rc 2 "syslog: unknown CA" -- SL "$OFFCA" -c "$T/ca.toml" crl publish --ca nosuch
    check "syslog gets the error at user.err" grep -q "\"<11>.*offca\[[0-9]*\]: crl publish --ca nosuch: CA 'nosuch' is not in the store" "$T/strace"
    expect_rc 0 "syslog: a publication" -- SL "$OFFCA" -c "$T/ca.toml" crl publish --ca iss --force
    check "syslog gets the published line" grep -q '"<14>.*offca\[[0-9]*\]: iss: published CRL' "$T/strace"
else
    echo "# skip syslog checks: strace missing or ptrace not permitted"
fi

# ---- offca doctor on what offca publishes ----
DOC() { local at=$1; shift; env OFFCA_TEST_NOW="$at" "$OFFCA_TEST_BIN" -c "$T/ca.toml" doctor "$@"; }
NOW=$(date +%s); INCP=$(ncp "$T/pub/iss.crl"); INU=$(next_upd "$T/pub/iss.crl")
expect_rc 0 "doctor: everything published and fresh" -- DOC "$NOW"
check "doctor: no error, no warning" grep -q '^0 error(s), 0 warning(s)$' <<<"$OUT"
expect_rc 0 "doctor --ca iss past its Next CRL Publish: a warning, exit 0" -- DOC $((INCP + 60)) --ca iss
check "  names iss.crl and the late publisher" grep -q "^warning iss: Microsoft Next CRL Publish: $T/pub/iss.crl is past its Next CRL Publish" <<<"$OUT"
expect_rc 1 "doctor past the same time: dl's delta (1d + 2d) has expired, exit 1" -- DOC $((INCP + 60))
check "  says dl+.crl expired" grep -q "^ERROR   dl: NPS revocation check (reason 258): $T/pub/dl+.crl expired" <<<"$OUT"
expect_rc 1 "doctor past iss's nextUpdate: an error, exit 1" -- DOC $((INU + 60)) --ca iss
check "  says the CRL expired, reason 258" grep -q "^ERROR   iss: NPS revocation check (reason 258): $T/pub/iss.crl expired" <<<"$OUT"
cp "$T/pub/iss.crl" "$T/iss.keep"; cp "$T/pub/dl.crl" "$T/pub/iss.crl"
expect_rc 1 "doctor: a CRL signed by another CA in iss.crl is an error" -- DOC "$NOW"
check "  says it is not signed by this CA" grep -q "^ERROR   iss: .*iss.crl is not a DER CRL signed by this CA" <<<"$OUT"
cp "$T/iss.keep" "$T/pub/iss.crl"; mv "$T/pub/dl+.crl" "$T/dl+.keep"
expect_rc 1 "doctor: a missing delta CRL is an error" -- DOC "$NOW"
check "  names the missing file" grep -q "^ERROR   dl: .*no CRL published at $T/pub/dl+.crl" <<<"$OUT"
mv "$T/dl+.keep" "$T/pub/dl+.crl"
expect_rc 0 "doctor: all well again" -- DOC "$NOW"

# ---- tools/offca.cron, tools/offca-crl.service, tools/offca-crl.timer ----
CRON="$REPO/tools/offca.cron"; SVC="$REPO/tools/offca-crl.service"; TMR="$REPO/tools/offca-crl.timer"
check "offca.cron exists" test -f "$CRON"
LINE=$(grep -vE '^\s*(#|$|[A-Z]+=)' "$CRON")
check "offca.cron has exactly one job line" test "$(wc -l <<<"$LINE")" = 1
check "offca.cron job is hourly (fixed minute, * * * *)" bash -c "awk '{exit !(\$1 ~ /^[0-9]+\$/ && \$1 < 60 && \$2\$3\$4\$5 == \"****\")}' <<<'$LINE'"
check "offca.cron runs as the offca user: offca -c /etc/offca/ca.toml crl publish" \
    grep -qE '^[0-9]+ \* \* \* \* offca [^ ]*/offca -c /etc/offca/ca\.toml crl publish$' <<<"$LINE"
check "service: oneshot as the dedicated user offca" bash -c "grep -qx 'Type=oneshot' '$SVC' && grep -qx 'User=offca' '$SVC'"
check "service: ExecStart runs offca -c /etc/offca/ca.toml crl publish" grep -qE '^ExecStart=[^ ]*/offca -c /etc/offca/ca\.toml crl publish$' "$SVC"
check "timer: hourly, Persistent=true" bash -c "grep -qx 'OnCalendar=hourly' '$TMR' && grep -qx 'Persistent=true' '$TMR'"
check "timer: installed into timers.target" grep -qx 'WantedBy=timers.target' "$TMR"
if command -v systemd-analyze >/dev/null; then
    mkdir -p "$T/units"
    sed "s#^ExecStart=[^ ]*/offca #ExecStart=$OFFCA #" "$SVC" >"$T/units/offca-crl.service"
    cp "$TMR" "$T/units/offca-crl.timer"
    expect_rc 0 "systemd-analyze verify accepts the service and the timer" -- \
        bash -c "cd '$T/units' && systemd-analyze verify ./offca-crl.service ./offca-crl.timer"
    # it also loads the units ours pull in, and complains about theirs (freeradius.service's
    # MemoryLimit=, when that package is installed): only complaints about our two count
    ours=$(printf '%s\n' "$ERR$OUT" | grep -Ev '^(/lib|/usr/lib|/etc)/systemd/' | grep -v '^$')
    check "systemd-analyze verify printed no complaint about offca's units" test -z "$ours"
else
    echo "# skip systemd-analyze verify: systemd-analyze is not installed"
fi
# Every certificate and CRL this script made lints clean (offca lint, each with its issuer).
shopt -s nullglob
lint_clean lint "$T"/*.pem "$T"/*.der "$T"/*.crt "$T"/*.cer "$T"/*.crl "$T"/pub/*.crt "$T"/pub/*.crl
shopt -u nullglob
t_done
