#!/bin/bash
# Issue 5, HSM faults during issuance (wrong PIN, unknown token label and a missing module path are
# in t_hierarchy.sh; a locked token and C_Sign failing on a CA certificate in t_token.sh). Here:
# a module path that is not a PKCS#11 module, the token deleted, the CA key deleted out from under
# a running 300-entry batch, and C_Sign failing mid-batch (tests/shim/p11shim.so). Each must exit 4
# with a message naming the token/module, record nothing it did not output and output nothing it
# did not record: the certificates committed before the fault are on disk AND in the store, and the
# audit chain verifies.
. "$(dirname "$0")/common.sh"
offca_setup offca-hf
SHIM="$REPO/build/tests/p11shim.so"
[ -f "$SHIM" ] || { notok "p11shim.so built" "run make $SHIM"; t_done; exit 1; }
oc init >/dev/null
oc key generate --label ca --alg p256 >/dev/null
oc ca create-root ca --key "pkcs11:token=offca-hf;object=ca;type=private" --subject 'CN=HSM Fault CA' \
    --days 3650 >/dev/null
oc ca export ca -o "$T/ca.pem"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/k.key" 2>/dev/null
openssl req -new -key "$T/k.key" -subj /CN=host -out "$T/h.csr" 2>/dev/null
manifest() { # manifest NAME COUNT: outputs in $T/NAME/
    mkdir -p "$T/$1"
    for i in $(seq 1 "$2"); do
        printf '{"csr":"%s","san":["dns:%s%d.example.com"],"out":"%s/%s/%d.pem"}\n' \
            "$T/h.csr" "$1" "$i" "$T" "$1" "$i"
    done >"$T/$1.jsonl"
}
serials() { oc --json list | grep -o '"serial":"[0-9a-f]*"' | cut -d'"' -f4 | sort; }
files_serials() { # serials of every certificate file in DIR, one openssl pass
    cat "$1"/*.pem 2>/dev/null >"$T/all.pem"
    [ -s "$T/all.pem" ] || return 0
    openssl crl2pkcs7 -nocrl -certfile "$T/all.pem" | openssl pkcs7 -print_certs -text -noout |
        awk '/Serial Number:/ { getline; gsub(/[ :]/, ""); print tolower($0) }' | sort
}
# consistent NAME DIR BEFORE-FILE: the new store records are exactly the files in DIR, one
# cert.issue audit record each, every file verifies, the chain verifies.
consistent() {
    serials | comm -13 "$3" - >"$T/new.txt"
    files_serials "$2" >"$T/files.txt"
    check "$1: the new store records are exactly the certificate files written ($(wc -l <"$T/new.txt") / $(wc -l <"$T/files.txt"))" \
        cmp -s "$T/new.txt" "$T/files.txt"
    check "$1: one cert.issue audit record per new certificate" \
        test "$(oc --json audit list | grep -o '"action":"cert.issue"' | wc -l)" = "$(serials | wc -l)"
    if [ -s "$T/files.txt" ]; then
        openssl verify -x509_strict -CAfile "$T/ca.pem" "$2"/*.pem >"$T/v.out" 2>&1
        check "$1: every file written verifies" test "$(grep -c ': OK$' "$T/v.out")" = "$(wc -l <"$T/files.txt")"
    fi
    check "$1: no temp file left" test -z "$(find "$2" -name '.offca-tmp-*')"
    expect_rc 0 "$1: audit verify passes" -- oc audit verify
}

# ---- a module path that is a shared library but not a PKCS#11 module ------------------------
NOTP11=$(ls /usr/lib/x86_64-linux-gnu/libz.so.1 /lib/x86_64-linux-gnu/libz.so.1 2>/dev/null | head -1)
if [ -n "$NOTP11" ]; then
    sed "s|^module = .*|module = \"$NOTP11\"|" "$T/ca.toml" >"$T/notp11.toml"
    expect_rc 4 "not a PKCS#11 module: sign exits 4" -- "$OFFCA" -c "$T/notp11.toml" sign --ca ca \
        --template vpn-server --csr "$T/h.csr" --san dns:x.example.com -o "$T/x.pem"
    expect_in "$NOTP11" "not a PKCS#11 module: message names the path"
    expect_in "C_GetFunctionList" "not a PKCS#11 module: message says what is missing"
    check "not a PKCS#11 module: nothing written" test ! -e "$T/x.pem"
else
    notok "a non-PKCS#11 shared library to load (libz.so.1)" "not found"
fi
# a module path that is not even a shared library
printf 'not a library\n' >"$T/junk.so"
sed "s|^module = .*|module = \"$T/junk.so\"|" "$T/ca.toml" >"$T/junk.toml"
expect_rc 4 "module file is not a library: exit 4" -- "$OFFCA" -c "$T/junk.toml" key list
expect_in "$T/junk.so" "module file is not a library: message names the path"
expect_in "hsm.module in ca.toml" "module file is not a library: message says what to fix"

# ---- C_Sign failing mid-batch (the shim fails every C_Sign after the 100th) -----------------
sed "s|^module = .*|module = \"$SHIM\"|" "$T/ca.toml" >"$T/shim.toml"
manifest csign 300
serials >"$T/before.txt"
P11SHIM_FAIL_SIGN_AFTER=100 expect_rc 4 "C_Sign fails after 100: batch exits 4" -- \
    "$OFFCA" -c "$T/shim.toml" sign --ca ca --template vpn-server --batch "$T/csign.jsonl"
expect_in "C_Sign: CKR_DEVICE_ERROR" "C_Sign failure: message names the call and the error"
expect_in "check the HSM's health and logs" "C_Sign failure: message says what to do"
expect_in "token 'offca-hf'" "C_Sign failure: message names the token"
check "C_Sign failure: the batch stops at the fault (summary: 100 issued, 1 failed)" \
    grep -q ": 100 issued, 0 skipped (output exists), 1 failed" <<<"$OUT"
expect_in "stopped at manifest line 101 by the HSM/store fault above: 100 issued, 0 skipped (output exists), 1 failed, 0 recovered, 199 not attempted" \
    "C_Sign failure: the stop summary says where it stopped, what was done and what was not attempted"
expect_in "re-run the same command to resume" "C_Sign failure: the stop summary says how to resume"
check "C_Sign failure: exactly the 100 signed certificates are on disk" \
    test "$(find "$T/csign" -name '*.pem' | wc -l)" = 100
consistent "C_Sign failure" "$T/csign" "$T/before.txt"
expect_rc 0 "C_Sign failure: the re-run (token healthy) completes the batch" -- \
    "$OFFCA" -c "$T/shim.toml" sign --ca ca --template vpn-server --batch "$T/csign.jsonl"
check "C_Sign failure: the re-run skipped the 100 and issued 200" grep -q ": 200 issued, 100 skipped" <<<"$OUT"
consistent "C_Sign failure, after the re-run" "$T/csign" "$T/before.txt"

# ---- the CA key deleted out from under a running batch --------------------------------------
# The batch (the test build, $OFFCA_TEST_BIN, one worker: the only thread that calls the token
# once the batch runs) stops itself right after its 74th signature
# (OFFCA_FAULT=batch.entry-prepared:74:stop), outside any PKCS#11 call; the key is deleted while
# it is stopped; continued, it must fail at its next signature. A stop placed in the writer
# (batch.group-written) could land while the worker was inside C_Sign, where SoftHSM holds a
# read lock on the token's generation and key files: pkcs11-tool's delete then waited on that
# lock for ever. So the test checks that the stopped batch holds no lock on the token's files
# before deleting, and bounds the deletion (timeout) so a regression fails instead of hanging.
manifest del 1000
serials >"$T/before.txt"
(OFFCA_FAULT=batch.entry-prepared:74:stop exec "$OFFCA_TEST_BIN" -c "$T/ca.toml" sign --ca ca \
    --template vpn-server --workers 1 --batch "$T/del.jsonl" >"$T/del.out" 2>"$T/del.err") &
pid=$!
token_locks() { # token_locks PID: inodes of the token's files PID holds a POSIX lock on
    find "$T/tokens" -type f -printf '%i\n' | sort -u >"$T/tok.inodes"
    awk -v p="$1" '$2 != "->" && $5 == p { n = split($6, a, ":"); print a[n] }' /proc/locks |
        sort -u | comm -12 - "$T/tok.inodes"
}
check "key deletion: the batch stopped after its 74th signature" wait_stopped "$pid"
check "key deletion: at the stop the batch holds no lock on the token's files (/proc/locks)" \
    test -z "$(token_locks "$pid")"
check "key deletion: pkcs11-tool deletes the CA key while the batch is stopped (within 60 s)" \
    timeout 60 pkcs11-tool --module "$SOFTHSM_MODULE" --token-label offca-hf --login --pin 1234 \
    --delete-object --type privkey --label ca
kill -CONT "$pid" 2>/dev/null
wait_gone "$pid" || kill -KILL "$pid" 2>/dev/null   # bounded (300 s): a hang fails, never blocks
wait "$pid"; rc=$?
check "key deletion: the batch exits 4 (exit $rc)" test "$rc" = 4
check "key deletion: exactly the 74 entries signed before the deletion are on disk" \
    test "$(find "$T/del" -name '*.pem' | wc -l)" = 74
check "key deletion: the stop summary says where (line 75) and what was done" \
    grep -q "stopped at manifest line 75 by the HSM/store fault above: 74 issued" "$T/del.err"
check "key deletion: message names C_Sign and the token" grep -q "token 'offca-hf': C_Sign:" "$T/del.err"
check "key deletion: message says what to do" grep -q "CKR_OBJECT_HANDLE_INVALID: failed; the key is gone" "$T/del.err"
consistent "key deletion" "$T/del" "$T/before.txt"
expect_rc 3 "key deletion: the next run refuses the missing key" -- \
    oc sign --ca ca --template vpn-server --batch "$T/del.jsonl"
expect_in "no such private key in token 'offca-hf'" "key deletion: next run names the missing key"
expect_in "offca key list" "key deletion: next run says what to do"

# ---- the token itself deleted ---------------------------------------------------------------
softhsm2-util --delete-token --token offca-hf >/dev/null 2>&1
manifest gone 5
serials >"$T/before.txt"
expect_rc 4 "token deleted: sign exits 4" -- oc sign --ca ca --template vpn-server --batch "$T/gone.jsonl"
expect_in "token 'offca-hf': not found" "token deleted: message names the token"
expect_in "initialise the token" "token deleted: message says what to do"
check "token deleted: nothing written" test -z "$(find "$T/gone" -name '*.pem')"
check "token deleted: nothing recorded" test "$(serials)" = "$(cat "$T/before.txt")"
t_done
