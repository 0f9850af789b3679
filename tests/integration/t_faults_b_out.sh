#!/bin/bash
# Issue 11 point 6, outputs are never lost after the commit: `sign -o FILE` and `sign --pfx FILE`
# stage their output before the certificate is recorded and move it into place after; a kill
# or a failing disk at a given moment (strace fault injection on one system call: placed by the
# event, not by timing) never leaves a recorded certificate without a way to its output, and a
# re-run never issues a second certificate for the same request.
#   renameat2   the move into place, after the commit      (kill; EROFS)
#   fdatasync   LMDB's commit flush, before the commit     (kill)
#   fsync       the PKCS#12 flushed before the commit      (ENOSPC: a full disk)
. "$(dirname "$0")/common.sh"
command -v strace >/dev/null || skip_all "strace is not installed"
offca_setup faults-out
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0   # LeakSanitizer cannot run under ptrace
URI() { echo "pkcs11:token=faults-out;object=$1;type=private"; }
oc init >/dev/null
oc key generate --label ca --alg p256 >/dev/null
oc ca create-root ca --key "$(URI ca)" --subject 'CN=Out CA' >/dev/null
oc ca export ca -o "$T/ca.pem"
for n in a b c; do
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/$n.key" \
        -subj "/CN=$n" -out "$T/$n.csr" 2>/dev/null
done
ncerts() { oc --json list --ca ca | grep -o '"serial"' | wc -l; }
staged() { find "$T/o" -name '.*offca-stage-*' -o -name '.offca-tmp-*' | wc -l; }
# fault SYSCALL ACTION CMD...: run CMD under strace, ACTION (signal=KILL, error=ENOSPC, ...) on the
# first call of SYSCALL; sets RC, OUT, ERR like expect_rc
fault() {
    local sc=$1 act=$2; shift 2
    OUT=$(strace -f -qq -o /dev/null -e trace="$sc" -e inject="$sc:$act:when=1" "$@" 2>"$T/.err")
    RC=$?; ERR=$(cat "$T/.err")
}
SIGN=("$OFFCA" -c "$T/ca.toml" sign --ca ca --template vpn-server)
mkdir -p "$T/o"

# ---- sign -o: killed between the commit and the rename ----
n0=$(ncerts)
fault renameat2 signal=KILL "${SIGN[@]}" --csr "$T/a.csr" --san dns:a.example -o "$T/o/a.pem"
check "sign -o killed at the rename (after the commit): killed (137)" test "$RC" -eq 137
check "  ... the certificate is recorded" test "$(ncerts)" -eq $((n0 + 1))
check "  ... no a.pem yet" test ! -e "$T/o/a.pem"
check "  ... the output is staged under its serial" test "$(staged)" -eq 1
expect_rc 0 "the same command again recovers it" -- \
    "${SIGN[@]}" --csr "$T/a.csr" --san dns:a.example -o "$T/o/a.pem"
expect_in "recovered certificate" "  ... saying so"
check "  ... no second certificate for the request" test "$(ncerts)" -eq $((n0 + 1))
check "  ... a.pem is the recorded certificate" eval \
    'oc --json list --ca ca | grep -qi "$(openssl x509 -in "$T/o/a.pem" -noout -serial | cut -d= -f2)"'
check "  ... and verifies under the CA" eval \
    'openssl verify -CAfile "$T/ca.pem" "$T/o/a.pem" >/dev/null 2>&1'
check "  ... nothing left behind in the directory" test "$(staged)" -eq 0

# ---- sign -o: killed before the commit ----
n0=$(ncerts)
fault fdatasync signal=KILL "${SIGN[@]}" --csr "$T/b.csr" --san dns:b.example -o "$T/o/b.pem"
check "sign -o killed in the commit's flush: killed (137)" test "$RC" -eq 137
check "  ... nothing recorded" test "$(ncerts)" -eq "$n0"
expect_rc 0 "the same command again issues it" -- \
    "${SIGN[@]}" --csr "$T/b.csr" --san dns:b.example -o "$T/o/b.pem"
check "  ... exactly one certificate" test "$(ncerts)" -eq $((n0 + 1))
check "  ... the stale staged file is gone" test "$(staged)" -eq 0

# ---- a staged certificate of another request is not handed out ----
n0=$(ncerts)
fault renameat2 signal=KILL "${SIGN[@]}" --csr "$T/c.csr" --san dns:c.example -o "$T/o/x.pem"
expect_rc 2 "sign -o onto a file another request's killed run staged: refused" -- \
    "${SIGN[@]}" --csr "$T/a.csr" --san dns:a.example -o "$T/o/x.pem"
expect_in "for another request" "  ... saying why"
expect_in "offca export" "  ... and how to get that certificate"
check "  ... nothing issued" test "$(ncerts)" -eq $((n0 + 1))
check "  ... no x.pem handed to the wrong requester" test ! -e "$T/o/x.pem"
expect_rc 0 "the right request recovers it" -- \
    "${SIGN[@]}" --csr "$T/c.csr" --san dns:c.example -o "$T/o/x.pem"
check "  ... still one certificate" test "$(ncerts)" -eq $((n0 + 1))

# ---- --pfx: a full disk while the PKCS#12 is written ----
export OFFCA_PFX_PASS=correct-horse-9
n0=$(ncerts)
fault fsync error=ENOSPC "${SIGN[@]}" --generate-key p256 --subject CN=p1 --san dns:p1.example \
    --pfx "$T/o/p1.p12"
check "--pfx on a full disk fails (exit 4)" test "$RC" -eq 4
expect_in "nothing was issued" "  ... saying nothing was issued"
check "  ... and nothing was recorded" test "$(ncerts)" -eq "$n0"
check "  ... no file left" test "$(staged)" -eq 0 -a ! -e "$T/o/p1.p12"

# ---- --pfx: the move into place fails after the commit ----
fault renameat2 error=EROFS "${SIGN[@]}" --generate-key p256 --subject CN=p2 --san dns:p2.example \
    --pfx "$T/o/p2.p12"
check "--pfx whose rename fails after the commit: exit 4" test "$RC" -eq 4
expect_in "was issued and recorded" "  ... saying a certificate was issued"
expect_in "the complete file is" "  ... and where the PKCS#12 is"
expect_in "offca revoke --ca ca --serial" "  ... and how to revoke it"
check "  ... recorded once" test "$(ncerts)" -eq $((n0 + 1))
P2=$(find "$T/o" -name '.p2.p12.offca-stage-*')
check "  ... the staged PKCS#12 is kept, with the key" eval \
    'openssl pkcs12 -in "$P2" -passin env:OFFCA_PFX_PASS -nodes 2>/dev/null | grep -q "PRIVATE KEY"'
expect_rc 0 "the same command again puts it in place" -- \
    "${SIGN[@]}" --generate-key p256 --subject CN=p2 --san dns:p2.example --pfx "$T/o/p2.p12"
expect_in "recovered certificate" "  ... saying so"
check "  ... no second certificate" test "$(ncerts)" -eq $((n0 + 1))
check "  ... p2.p12 opens with the password and holds the key" eval \
    'openssl pkcs12 -in "$T/o/p2.p12" -passin env:OFFCA_PFX_PASS -nodes 2>/dev/null | grep -q "PRIVATE KEY"'
check "  ... mode 0600" test "$(stat -c %a "$T/o/p2.p12")" = 600

# ---- --pfx: killed after the commit ----
fault renameat2 signal=KILL "${SIGN[@]}" --generate-key p256 --subject CN=p3 --san dns:p3.example \
    --pfx "$T/o/p3.p12"
check "--pfx killed at the rename: killed (137)" test "$RC" -eq 137
expect_rc 0 "the same command again recovers it" -- \
    "${SIGN[@]}" --generate-key p256 --subject CN=p3 --san dns:p3.example --pfx "$T/o/p3.p12"
check "  ... one certificate for p3" test "$(ncerts)" -eq $((n0 + 2))
check "  ... p3.p12 holds the key" eval \
    'openssl pkcs12 -in "$T/o/p3.p12" -passin env:OFFCA_PFX_PASS -nodes 2>/dev/null | grep -q "PRIVATE KEY"'
check "nothing staged is left behind" test "$(staged)" -eq 0
expect_rc 0 "audit verify: intact" -- oc audit verify
t_done
