#!/bin/bash
# Issue 11.3: never stay green while the token is gone. With the SoftHSM token's token.object
# emptied, the token directory deleted, or one CA's key object deleted, `crl publish` with
# nothing due and `doctor` used to say "CRL n is current; nothing to do" / "0 error(s)", exit 0.
# Both must check that every CA key they would need is reachable (module, token, login, key
# object) and report an unreachable key as an error (publish: exit 4; doctor: an ERROR finding in
# text and --json, exit 4), even when nothing is due. Restoring the token directory from a copy
# taken while no process used it (README, "Backing up the token") makes both green again.
. "$(dirname "$0")/common.sh"
offca_setup fa-tok
URI() { echo "pkcs11:token=fa-tok;object=$1;type=private"; }
oc init >/dev/null
for k in root iss; do oc key generate --label $k --alg p256 >/dev/null; done
oc ca create-root root --key "$(URI root)" --subject 'CN=Tok Root' >/dev/null
oc ca create-issuing iss --parent root --key "$(URI iss)" --subject 'CN=Tok iss' >/dev/null
expect_rc 0 "setup: first publish" -- oc crl publish
expect_rc 0 "setup: nothing due: exit 0" -- oc crl publish
expect_in "iss: CRL 1 is current" "setup: nothing due says so"
expect_rc 0 "setup: doctor is green" -- oc doctor
# The backup, as the README says: the token directory copied with its modes while no offca or
# other PKCS#11 user runs (no process has the module loaded between the commands of this script).
cp -a "$T/tokens" "$T/tokens.bak"
TOKDIR=$(dirname "$(find "$T/tokens" -name token.object)")
P0=$(cd "$T/pub" && md5sum *)
S0=$(oc --json audit list | jq length)

# gone NAME: the publish and doctor checks for one kind of damage
gone() {
    expect_rc 4 "$1: crl publish with nothing due exits 4" -- oc crl publish
    expect_in "CRL 1 is current" "$1: crl publish still says which CRL is current"
    expect_in "the CA key is unreachable" "$1: crl publish says the key is unreachable"
    expect_in "restore the token" "$1: crl publish says what to do"
    check "$1: crl publish: the error is on stderr" grep -q "unreachable" <<<"$ERR"
    check "$1: crl publish changed no published file" test "$(cd "$T/pub" && md5sum *)" = "$P0"
    expect_rc 4 "$1: doctor exits 4" -- oc doctor
    expect_in "ERROR   $2: CA key:" "$1: doctor reports an ERROR for $2's key"
    check "$1: doctor's summary counts it" grep -Eq '^[1-9][0-9]* error\(s\)' <<<"$OUT"
    expect_rc 4 "$1: doctor --json exits 4" -- oc --json doctor
    check "$1: doctor --json has the ERROR finding for $2's key" \
        test "$(jq --arg c "$2" '[.[]|select(.severity=="ERROR" and .rule=="CA key" and .certificate==$c)]|length' <<<"$OUT")" = 1
}
restore() {
    rm -rf "$T/tokens"
    cp -a "$T/tokens.bak" "$T/tokens"
    expect_rc 0 "$1: after restoring the backup: crl publish exits 0" -- oc crl publish
    expect_in "iss: CRL 1 is current" "$1: after the restore nothing is due"
    expect_rc 0 "$1: after restoring the backup: doctor exits 0" -- oc doctor
    expect_in "0 error(s)" "$1: after the restore doctor is green"
}

# ---- token.object emptied (what a SIGKILL during SoftHSM's rewrite leaves) ----
: >"$TOKDIR/token.object"
gone "token.object emptied" root
restore "token.object emptied"

# ---- the token directory deleted ----
rm -rf "$T/tokens"/*
gone "token directory deleted" root
expect_in "token 'fa-tok'" "token directory deleted: the message names the token"
restore "token directory deleted"

# ---- one CA's key object deleted: that CA is an error, the other is still current ----
pkcs11-tool --module "$SOFTHSM_MODULE" --token-label fa-tok --login --pin 1234 \
    --delete-object --type privkey --label iss >/dev/null 2>&1
expect_rc 4 "iss key deleted: crl publish exits 4" -- oc crl publish
expect_in "root: CRL 1 is current" "iss key deleted: root is still current"
expect_in "iss: CRL 1 is current (next publish due" "iss key deleted: iss says its current CRL"
expect_in "the CA key is unreachable" "iss key deleted: iss's key is reported"
expect_in "no such private key" "iss key deleted: the message says what is missing"
expect_rc 4 "iss key deleted: doctor exits 4" -- oc --json doctor
check "iss key deleted: doctor --json: one CA key ERROR, for iss" \
    test "$(jq -c '[.[]|select(.rule=="CA key")|.certificate]' <<<"$OUT")" = '["iss"]'
restore "key deleted"
check "no audit record was added by the failing runs" test "$(oc --json audit list | jq length)" = "$S0"
t_done
