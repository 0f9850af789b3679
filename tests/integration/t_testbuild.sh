#!/bin/bash
# Issue 8/9, the test seams stay out of the shipped binary: build/offca ($OFFCA) carries no
# $OFFCA_TEST_NOW clock override, no $OFFCA_FAULT fault points and no raw store hooks (strings
# and nm find none of them), and setting those variables changes nothing it does; the test build
# ($OFFCA_TEST_BIN, build/offca-test) has all three (the control that the search can succeed).
. "$(dirname "$0")/common.sh"
[ "$(head -c 4 "$OFFCA" | od -An -c | tr -d ' ')" = '177ELF' ] ||
    skip_all "$OFFCA is a wrapper, not the binary (strings/nm need the ELF file)"
SEAMS='OFFCA_TEST_NOW|OFFCA_FAULT|fault point'
SYMS='store_test_raw|store_test_set_schema|faultpoint_'
check "strings build/offca: no OFFCA_TEST_NOW, OFFCA_FAULT or fault point text" \
    bash -c "! strings -a '$OFFCA' | grep -Eq '$SEAMS'"
check "nm build/offca: no store_test_raw_*, store_test_set_schema or faultpoint_* symbol" \
    bash -c "! nm -a '$OFFCA' | grep -Eq '$SYMS'"
check "control: strings finds all three texts in the test build" \
    test "$(strings -a "$OFFCA_TEST_BIN" | grep -Eo "$SEAMS" | sort -u | wc -l)" = 3
check "control: nm finds the hooks and the fault points in the test build" \
    test "$(nm -a "$OFFCA_TEST_BIN" | grep -Eo 'store_test_raw_put|store_test_raw_get|faultpoint_reach' | sort -u | wc -l)" = 3

offca_setup offca-tb
oc init >/dev/null
oc key generate --label ca --alg p256 >/dev/null
oc ca create-root ca --key "pkcs11:token=offca-tb;object=ca;type=private" --subject CN=TB \
    --days 3650 >/dev/null
oc ca export ca -o "$T/ca.pem"
lastupd() { date -u -d "$(openssl crl -inform DER -in "$1" -noout -lastupdate | cut -d= -f2)" +%s; }
FUTURE=$(( $(date +%s) + 40 * 86400 ))
# The clock: build/offca follows the real one whatever OFFCA_TEST_NOW says
T0=$(date +%s)
expect_rc 0 "build/offca publishes with OFFCA_TEST_NOW set 40 days ahead" -- \
    env OFFCA_TEST_NOW=$FUTURE "$OFFCA" -c "$T/ca.toml" crl publish --force
T1=$(date +%s)
U=$(( $(lastupd "$T/pub/ca.crl") + 600 ))
check "build/offca: the CRL's thisUpdate is the real clock minus the skew, not OFFCA_TEST_NOW" \
    test "$U" -ge "$T0" -a "$U" -le "$T1"
expect_rc 0 "the test build publishes with the same OFFCA_TEST_NOW" -- \
    env OFFCA_TEST_NOW=$FUTURE "$OFFCA_TEST_BIN" -c "$T/ca.toml" crl publish --force
check "control: the test build's thisUpdate follows OFFCA_TEST_NOW" \
    test "$(lastupd "$T/pub/ca.crl")" = $((FUTURE - 600))

# Fault points: build/offca ignores OFFCA_FAULT (and does not check it)
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/l.key" \
    -subj /CN=l -out "$T/l.csr" 2>/dev/null
for spec in sign.committed store.before-commit:1:kill no.such.point; do
    rm -f "$T/l.pem"
    expect_rc 0 "build/offca with OFFCA_FAULT=$spec: sign completes" -- \
        env OFFCA_FAULT=$spec "$OFFCA" -c "$T/ca.toml" sign --ca ca --template vpn-server \
        --csr "$T/l.csr" --san dns:l.example -o "$T/l.pem"
    check "build/offca with OFFCA_FAULT=$spec: the certificate is written and verifies" \
        openssl verify -CAfile "$T/ca.pem" "$T/l.pem"
    check "build/offca with OFFCA_FAULT=$spec: nothing on stderr" test -z "$ERR"
done
rm -f "$T/l.pem"
expect_rc 137 "control: the test build with OFFCA_FAULT=sign.committed is SIGKILLed" -- \
    env OFFCA_FAULT=sign.committed "$OFFCA_TEST_BIN" -c "$T/ca.toml" sign --ca ca \
    --template vpn-server --csr "$T/l.csr" --san dns:l.example -o "$T/l.pem"
expect_in "offca: fault point sign.committed #1 ($T/l.pem): SIGKILL" "control: it says where"
expect_rc 86 "the test build with OFFCA_FAULT=store.committed:exit exits 86 after the commit" -- \
    env OFFCA_FAULT=store.committed:exit "$OFFCA_TEST_BIN" -c "$T/ca.toml" sign --ca ca \
    --template vpn-server --csr "$T/l.csr" --san dns:l.example -o "$T/l2.pem"
expect_in "offca: fault point store.committed #1 ($T/store): exit" "  with the line saying where"
check "  and nothing written under the output name" test ! -e "$T/l2.pem"
expect_rc 2 "the test build refuses an unknown fault point (exit 2)" -- \
    env OFFCA_FAULT=no.such.point "$OFFCA_TEST_BIN" --version
expect_in "'no.such.point' is not <point>[:<n>][:kill|stop|exit]" "  with the expected form"
expect_in "batch.group-committed" "  and the list of points"
expect_rc 2 "the test build refuses a count of 0" -- \
    env OFFCA_FAULT=sign.committed:0 "$OFFCA_TEST_BIN" --version
expect_rc 2 "the test build refuses an unknown action" -- \
    env OFFCA_FAULT=sign.committed:1:explode "$OFFCA_TEST_BIN" --version
expect_rc 0 "the same sources: both report the same version" -- \
    test "$("$OFFCA" --version)" = "$("$OFFCA_TEST_BIN" --version)"
t_done
