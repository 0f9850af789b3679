#!/bin/bash
# Issue 5, security checks. The PIN (a distinctive one, from pin_file) never appears in offca's
# argv or environment, in anything offca writes to any file descriptor (every write traced with
# strace: stdout, stderr, the store, the outputs, syslog if it were there), in the store or audit
# log, or in the outputs; offca starts no child process; while it holds the PIN its core-file
# limit is 0 and it is not dumpable (proven as a non-root user: a process of the same user can read
# a dumpable process's /proc/PID/environ and ptrace it, but not offca's). File modes are set
# explicitly (the test runs under umask 000): store dir 0700, store files 0600, PKCS#12 0600,
# issued and exported certificates 0644, published CRLs and CA certificates 0644.
. "$(dirname "$0")/common.sh"
offca_setup offca-sec
# umask 000 from here on: what offca creates must get its modes explicitly. The setup above (ca.toml,
# publish dir, token) keeps the usual umask: offca refuses a world-writable ca.toml or publish dir.
umask 000
PIN='Qv7-offca-pin-93751'
pkcs11-tool --module "$SOFTHSM_MODULE" --token-label offca-sec --login --pin 1234 \
    --change-pin --new-pin "$PIN" >/dev/null 2>&1
(umask 077; printf '%s\n' "$PIN" >"$T/pin")
expect_rc 0 "init with the distinctive PIN" -- oc init
oc key generate --label ca --alg p256 >/dev/null
oc ca create-root ca --key "pkcs11:token=offca-sec;object=ca;type=private" --subject 'CN=Sec CA' \
    --days 3650 >/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/k.key" 2>/dev/null
openssl req -new -key "$T/k.key" -subj /CN=host -out "$T/h.csr" 2>/dev/null
manifest() { # manifest NAME COUNT
    mkdir -p "$T/$1"
    for i in $(seq 1 "$2"); do
        printf '{"csr":"%s","san":["dns:%s%d.example.com"],"out":"%s/%s/%d.pem"}\n' \
            "$T/h.csr" "$1" "$i" "$T" "$1" "$i"
    done >"$T/$1.jsonl"
}
# wait_first DIR PID: until DIR holds a certificate (offca is past its login) or PID ended (10 s)
wait_first() {
    for _ in $(seq 1 200); do
        [ -n "$(find "$1" -name '*.pem' | head -1)" ] && return 0
        kill -0 "$2" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}
nopin() { # nopin NAME FILE...: the PIN is in none of the files (binary-safe)
    local hits
    hits=$(grep -alF -- "$PIN" "${@:2}" 2>/dev/null)
    check "$1" test -z "$hits"
    [ -z "$hits" ] || echo "#   PIN found in: $hits"
}

# ---- argv, environment, core limit of a running batch (root) --------------------------------
# The batch (the test build) stops itself after its first group (past its login, holding the
# PIN's session), so it is caught running however fast the machine; then it is continued.
manifest b1 400
(OFFCA_FAULT=batch.group-written:1:stop exec "$OFFCA_TEST_BIN" -c "$T/ca.toml" sign --ca ca \
    --template vpn-server --batch "$T/b1.jsonl" >"$T/b1.out" 2>"$T/b1.err") &
pid=$!
if wait_stopped "$pid"; then
    tr '\0' '\n' <"/proc/$pid/cmdline" >"$T/cmdline"
    tr '\0' '\n' <"/proc/$pid/environ" >"$T/environ"
    cp "/proc/$pid/limits" "$T/limits"
    ps -ww -o args= -p "$pid" >"$T/ps"
    ok "caught offca while it holds the PIN (pid $pid)"
else
    notok "caught offca while it holds the PIN" "the batch ended or wrote nothing"
    : >"$T/cmdline"; : >"$T/environ"; : >"$T/limits"; : >"$T/ps"
fi
kill -CONT "$pid" 2>/dev/null
wait_gone "$pid" || kill -KILL "$pid" 2>/dev/null
wait "$pid"; rc=$?
check "running: the batch, continued, completes (exit $rc)" test "$rc" = 0
check "running: its argv is the command line offca was given" grep -q -- '--batch' "$T/cmdline"
nopin "running: PIN not in argv (/proc/PID/cmdline)" "$T/cmdline"
nopin "running: PIN not in ps output" "$T/ps"
check "running: environment read" test -s "$T/environ"
nopin "running: PIN not in its environment (/proc/PID/environ)" "$T/environ"
check "running: Max core file size is 0 (soft and hard)" \
    grep -Eq '^Max core file size +0 +0 ' "$T/limits"

# ---- every byte offca writes, traced; and no child process ----------------------------------
if ! command -v strace >/dev/null; then
    echo "# skip: the write trace needs strace (make deps installs it)"
    : >"$T/b2.out"; : >"$T/b2.err"
else
    manifest b2 50
    export P11SHIM_LOG="$T/shim.log"   # harmless when unused; the PIN must not reach any log
    # LeakSanitizer stops the world with ptrace and a helper clone: it cannot run under strace
    # (make asan); the leak check is not what this trace is about.
    if ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" strace -f -qq -s 65536 -xx -o "$T/strace" \
            -e trace=read,write,pwrite64,writev,pwritev,pwritev2,sendto,sendmsg,connect,execve,clone,clone3,fork,vfork \
            "$OFFCA" -c "$T/ca.toml" sign --ca ca --template vpn-server --batch "$T/b2.jsonl" \
            >"$T/b2.out" 2>"$T/b2.err"; then
        ok "traced batch exits 0"
    else
        notok "traced batch exits 0" "$(tail -3 "$T/b2.err")"
    fi
    HEXPIN=$(printf %s "$PIN" | xxd -p | tr -d '\n' | sed 's/../\\x&/g')
    check "traced: strace saw the writes (certificates, store pages)" test "$(grep -c '^[0-9]* *pwrite64\|^[0-9]* *write' "$T/strace")" -gt 50
    # control: the trace shows the PIN where offca does read it (pin_file), so the search can succeed
    check "traced (control): the PIN appears in the read() of pin_file" \
        bash -c "grep -E '^[0-9]+ +read\\(' '$T/strace' | grep -qF -- '$HEXPIN'"
    check "traced: the PIN is in no write, pwrite, writev, sendto or sendmsg" \
        bash -c "! grep -vE '^[0-9]+ +read\\(' '$T/strace' | grep -qF -- '$HEXPIN'"
    # threads (sign --batch --workers: clone with CLONE_THREAD) are not child processes
    check "traced: offca starts no child process (one execve, no fork, no clone without CLONE_THREAD)" \
        test "$(grep -E '^[0-9]+ +(execve|clone|clone3|fork|vfork)\(' "$T/strace" | grep -vc CLONE_THREAD)" = 1
    check "traced: nothing was sent to syslog (no connect to /dev/log)" bash -c "! grep -q 'connect(.*/dev/log' '$T/strace'"
fi
nopin "the PIN is not in stdout or stderr of any run" "$T/b1.out" "$T/b1.err" "$T/b2.out" "$T/b2.err"
nopin "the PIN is not in the store (data.mdb, lock.mdb)" "$T/store/data.mdb" "$T/store/lock.mdb"
oc --json audit list >"$T/audit.json"
nopin "the PIN is not in the audit log" "$T/audit.json"
nopin "the PIN is not in any certificate written" "$T"/b1/*.pem

# ---- not dumpable: proven as a non-root user -------------------------------------------------
# offca runs as nobody (its files handed over to nobody); another nobody process then tries to
# read its environment and to ptrace it. The same two reads on a dumpable nobody process (sleep)
# succeed, so the test can fail.
NOBODY=$(id -u nobody 2>/dev/null)
if ! command -v gdb >/dev/null; then
    echo "# skip: the ptrace proof needs gdb (not in make deps; add it to DEPS_PKGS)"
elif [ -n "$NOBODY" ] && setpriv --reuid="$NOBODY" --regid="$NOBODY" --clear-groups true 2>/dev/null; then
    # The batch is caught by an event, not by its speed: the test build stops itself after its
    # first group (fault point batch.group-written:1:stop) and is continued after the checks.
    manifest b3 200
    # nobody must reach everything it runs and reads: the checkout may live where only root can
    # go (a clone in /root, mode 0700), so the binary is copied into $T (the templates already
    # are: offca_setup's copy in $T/templates).
    NOBODY_OFFCA=$OFFCA_TEST_BIN
    if [ "$(head -c 4 "$OFFCA_TEST_BIN" | od -An -c | tr -d ' ')" = '177ELF' ]; then
        mkdir -p "$T/bin"; cp "$OFFCA_TEST_BIN" "$T/bin/offca-test"; NOBODY_OFFCA=$T/bin/offca-test
    fi
    cp "$T/ca.toml" "$T/ca-nobody.toml"
    chown -R nobody "$T"; chmod 711 "$T"
    (OFFCA_FAULT=batch.group-written:1:stop exec setpriv --reuid="$NOBODY" --regid="$NOBODY" \
        --clear-groups "$NOBODY_OFFCA" -c "$T/ca-nobody.toml" \
        sign --ca ca --template vpn-server --batch "$T/b3.jsonl" >"$T/b3.out" 2>"$T/b3.err") &
    pid=$!
    (exec setpriv --reuid="$NOBODY" --regid="$NOBODY" --clear-groups sleep 20) &
    ctl=$!
    if wait_stopped "$pid"; then
        check "control: a dumpable nobody process's environ is readable by nobody" \
            bash -c "setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups cat /proc/$ctl/environ >/dev/null 2>&1"
        check "control: ... and it can be ptraced by nobody (gdb attach)" \
            bash -c "timeout 20 setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups gdb -batch -nx -p $ctl -ex 'info inferiors' 2>&1 | grep -q 'process $ctl'"
        check "offca (nobody) exposes no environment to nobody" \
            bash -c "! setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups cat /proc/$pid/environ >/dev/null 2>&1"
        check "offca (nobody) cannot be ptraced by nobody (gdb attach refused)" \
            bash -c "! timeout 20 setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups gdb -batch -nx -p $pid -ex 'info inferiors' 2>&1 | grep -q 'process $pid'"
        check "offca's /proc entries belong to root (the kernel's mark of a non-dumpable process)" \
            test "$(stat -c %u "/proc/$pid/environ")" = 0
    else
        notok "caught offca running as nobody" "$(tail -3 "$T/b3.err")"
    fi
    kill "$ctl" 2>/dev/null; wait "$ctl" 2>/dev/null
    kill -CONT "$pid" 2>/dev/null
    wait "$pid"; rc=$?
    check "offca as nobody completes its batch (exit $rc)" test "$rc" = 0
    chown -R root "$T"
else
    notok "setpriv to nobody works" "cannot prove non-dumpable without a second user"
fi

# ---- file modes under umask 000 --------------------------------------------------------------
check "umask is 000 in this test" test "$(umask)" = 0000
mode() { stat -c %a "$1"; }
check "store directory 0700" test "$(mode "$T/store")" = 700
check "store data.mdb 0600" test "$(mode "$T/store/data.mdb")" = 600
check "store lock.mdb 0600" test "$(mode "$T/store/lock.mdb")" = 600
expect_rc 0 "sign -o" -- oc sign --ca ca --template vpn-server --csr "$T/h.csr" --san dns:m.example.com -o "$T/one.pem"
check "issued certificate file 0644" test "$(mode "$T/one.pem")" = 644
check "batch outputs 0644" test "$(stat -c %a "$T"/b1/*.pem | sort -u)" = 644
serial=$(openssl x509 -in "$T/one.pem" -noout -serial | cut -d= -f2 | tr A-F a-f)
expect_rc 0 "export -o" -- oc export "$serial" -o "$T/exp.pem"
check "exported certificate 0644" test "$(mode "$T/exp.pem")" = 644
(umask 077; printf 'pfx-pass-1\n' >"$T/pfxpass")
expect_rc 0 "PKCS#12 flow" -- oc sign --ca ca --template vpn-server --generate-key p256 \
    --subject CN=p12host --san dns:p12host.example.com --pfx "$T/out.p12" --pfx-pass-file "$T/pfxpass"
check "PKCS#12 file 0600" test "$(mode "$T/out.p12")" = 600
expect_rc 0 "crl publish" -- oc crl publish
check "published files exist" test -n "$(ls "$T/pub")"
for f in "$T"/pub/*; do
    check "published $(basename "$f") 0644" test "$(mode "$f")" = 644
done
nopin "the PIN is in no published file nor in the PKCS#12" "$T"/pub/* "$T/out.p12"
t_done
