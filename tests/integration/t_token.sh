#!/bin/bash
# Issue 2 (token and PIN rules) through tests/shim/p11shim.so, a PKCS#11 module that wraps
# SoftHSM and raises the flags or failures SoftHSM never shows: a locked or final-try token is
# refused BEFORE C_Login, a wrong PIN is tried exactly once, a failing C_Sign stores nothing.
. "$(dirname "$0")/common.sh"
offca_setup offca-tok
SHIM="$REPO/build/tests/p11shim.so"
[ -f "$SHIM" ] || { notok "p11shim.so built" "run make $SHIM"; t_done; exit 1; }
sed "s|module = .*|module = \"$SHIM\"|" "$T/ca.toml" >"$T/shim.toml"
os() { "$OFFCA" -c "$T/shim.toml" "$@"; }
export P11SHIM_LOG="$T/shim.log"
logins() { grep -c '^C_Login user' "$T/shim.log" 2>/dev/null || true; }

expect_rc 0 "init through the shim" -- os init
expect_rc 0 "key through the shim" -- os key generate --label k --alg p256
URI="pkcs11:token=offca-tok;object=k;type=private"

: >"$T/shim.log"
P11SHIM_TOKEN_FLAGS=locked expect_rc 4 "locked token refused" -- os key list
expect_in "CKF_USER_PIN_LOCKED" "locked: message names the flag"
expect_in "SO PIN" "locked: message says how to unlock"
check "locked: no login attempted" test "$(logins)" = 0

: >"$T/shim.log"
P11SHIM_TOKEN_FLAGS=final_try expect_rc 4 "final-try token refused" -- os key list
expect_in "CKF_USER_PIN_FINAL_TRY" "final try: message names the flag"
check "final try: no login attempted" test "$(logins)" = 0

: >"$T/shim.log"
(umask 077; echo 0000 >"$T/badpin")
sed "s|pin_file = .*|pin_file = \"$T/badpin\"|" "$T/shim.toml" >"$T/badpin.toml"
expect_rc 4 "wrong PIN refused" -- "$OFFCA" -c "$T/badpin.toml" key list
expect_in "not retried" "wrong PIN: message says it was not retried"
check "wrong PIN: exactly one C_Login" test "$(logins)" = 1
check "the PIN itself never reaches the log" bash -c "! grep -q 0000 '$T/shim.log'"

before=$(os --json ca list)
audit_before=$(os --json audit list | grep -o '"seq"' | wc -l)
P11SHIM_FAIL_SIGN_AFTER=0 expect_rc 4 "C_Sign failure fails the command" -- \
    os ca create-root r --key "$URI" --subject CN=r
expect_in "CKR_DEVICE_ERROR" "C_Sign failure: message names the token error"
check "C_Sign failure: no CA stored" test "$(os --json ca list)" = "$before"
check "C_Sign failure: no audit record" test "$(os --json audit list | grep -o '"seq"' | wc -l)" = "$audit_before"
expect_rc 0 "the same command works once the token does" -- os ca create-root r --key "$URI" --subject CN=r

# PIN sources: OFFCA_PIN when there is no pin_file; neither and no terminal: a usage error.
grep -v '^pin_file' "$T/ca.toml" >"$T/nopin.toml"
OFFCA_PIN=1234 expect_rc 0 "OFFCA_PIN works" -- "$OFFCA" -c "$T/nopin.toml" key list
expect_rc 2 "no PIN source and no terminal" -- setsid "$OFFCA" -c "$T/nopin.toml" key list
expect_in "OFFCA_PIN" "no PIN source: message lists the ways"
ln -s "$T/pin" "$T/pinlink"
sed "s|pin_file = .*|pin_file = \"$T/pinlink\"|" "$T/ca.toml" >"$T/link.toml"
expect_rc 1 "pin_file behind a symlink refused" -- "$OFFCA" -c "$T/link.toml" key list

# A key made extractable on purpose is refused unless the CA's config allows it (then warned).
pkcs11-tool --module "$SOFTHSM_MODULE" --token-label offca-tok --login --pin 1234 \
    --keypairgen --key-type EC:prime256v1 --label xk --id 99 --extractable --sensitive >/dev/null 2>&1
XURI="pkcs11:token=offca-tok;object=xk;type=private"
expect_rc 1 "extractable key refused" -- oc ca create-root xr --key "$XURI" --subject CN=xr
expect_in "CKA_EXTRACTABLE" "extractable: message names the attribute"
printf '[ca.xr]\nallow_extractable_key = true\n' >>"$T/ca.toml"
expect_rc 0 "allowed by allow_extractable_key" -- oc ca create-root xr --key "$XURI" --subject CN=xr
expect_in "extractable" "allowed extractable key is warned about"
t_done
