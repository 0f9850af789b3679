# Shared helpers for integration scripts (bash). Source it; call t_done at the end.
#   ok NAME / notok NAME [DETAIL]   record a result ("ok - NAME" / "not ok - NAME")
#   expect_rc RC NAME -- CMD...     run CMD, record ok when its exit code is RC; keeps $OUT/$ERR
#   expect_in TEXT NAME             ok when $ERR or $OUT contains TEXT
#   softhsm_token LABEL             fresh SoftHSM token in $T (SOFTHSM2_CONF private), PIN in $T/pin
#   skip_all REASON                 report a one-line skip and exit 0 with no failures
#   wait_stopped PID [SECONDS]      until PID is stopped (SIGSTOP); 1 if it ended or the bound passed
#   wait_gone PID [SECONDS]         until PID has ended; 1 if the bound passed (PID left running)
#   wait_line FILE REGEX PID [SECONDS]  until a line of FILE matches REGEX (grep -E): a server
#                                   PID writing FILE says it is ready; 1 if PID ended first or
#                                   the bound passed
# $OFFCA is the production binary; $OFFCA_TEST_BIN the test build (build/offca-test: the same
# sources plus the seams, $OFFCA_TEST_NOW and $OFFCA_FAULT), for the scripts that need them.
set -u
T=$(mktemp -d /tmp/offca-it.XXXXXX)
trap 'rm -rf "$T"' EXIT
_pass=0; _fail=0
OFFCA=${OFFCA:-$(cd "$(dirname "$0")/../.." && pwd)/build/offca}
OFFCA_TEST_BIN=${OFFCA_TEST_BIN:-$(cd "$(dirname "$0")/../.." && pwd)/build/offca-test}
SOFTHSM_MODULE=${SOFTHSM_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
ok()    { _pass=$((_pass + 1)); echo "ok - $1"; }
notok() { _fail=$((_fail + 1)); echo "not ok - $1"; [ $# -gt 1 ] && printf '#   %s\n' "$2"; return 0; }
check() { # check NAME CONDITION-COMMAND...
    local name=$1; shift
    if "$@"; then ok "$name"; else notok "$name" "command: $*"; fi
}
expect_rc() { # expect_rc RC NAME -- CMD...
    local want=$1 name=$2; shift 3
    OUT=$("$@" 2>"$T/.err"); RC=$?; ERR=$(cat "$T/.err")
    if [ "$RC" -eq "$want" ]; then ok "$name"; else notok "$name" "exit $RC, wanted $want; stderr: $ERR"; fi
}
expect_in() { # expect_in TEXT NAME: TEXT in the last command's stderr or stdout
    case "$ERR$OUT" in *"$1"*) ok "$2" ;; *) notok "$2" "missing '$1' in: $ERR $OUT" ;; esac
}
skip_all() { echo "# skip: $1"; echo "# 0 passed, 0 failed"; exit 0; }
softhsm_token() { # softhsm_token LABEL: a throwaway token; exports SOFTHSM2_CONF
    [ -f "$SOFTHSM_MODULE" ] || skip_all "SoftHSM2 is not installed ($SOFTHSM_MODULE missing)"
    mkdir -p "$T/tokens"
    printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$T" >"$T/softhsm2.conf"
    export SOFTHSM2_CONF="$T/softhsm2.conf"
    softhsm2-util --init-token --free --label "$1" --so-pin 87654321 --pin 1234 >/dev/null
    (umask 077; printf '1234\n' >"$T/pin")
}
# Bounded polls (the bounds are generous: they only stop a hang, no verdict depends on speed).
wait_stopped() { # wait_stopped PID [SECONDS]: state T in /proc/PID/stat
    local i st
    for ((i = 0; i < ${2:-120} * 20; i++)); do
        st=$(sed -n 's/^[0-9]* (.*) \(.\).*/\1/p' "/proc/$1/stat" 2>/dev/null) || return 1
        [ -n "$st" ] || return 1
        [ "$st" = T ] && return 0
        [ "$st" = Z ] && return 1
        sleep 0.05
    done
    return 1
}
wait_gone() { # wait_gone PID [SECONDS]
    local i
    for ((i = 0; i < ${2:-300} * 20; i++)); do
        kill -0 "$1" 2>/dev/null || return 0
        [ "$(sed -n 's/^[0-9]* (.*) \(.\).*/\1/p' "/proc/$1/stat" 2>/dev/null)" = Z ] && return 0
        sleep 0.05
    done
    return 1
}
wait_line() { # wait_line FILE REGEX PID [SECONDS]
    local i
    for ((i = 0; i < ${4:-120} * 20; i++)); do
        grep -Eq -- "$2" "$1" 2>/dev/null && return 0
        kill -0 "$3" 2>/dev/null || { grep -Eq -- "$2" "$1" 2>/dev/null; return; }
        sleep 0.05
    done
    return 1
}
t_done() { echo "# $_pass passed, $_fail failed"; [ "$_fail" -eq 0 ]; }
# lint_clean NAME FILE...: every certificate and CRL among FILEs (PEM or DER; others ignored)
# has no lint finding at all under `offca lint`, each checked against its issuer found among the
# FILEs by name (openssl's subject/issuer hashes). One result per file: "NAME: lint FILE".
lint_clean() {
    local name=$1 f h fmt kind iss out; shift
    declare -A subj=()
    for f in "$@"; do
        for fmt in PEM DER; do
            h=$(openssl x509 -inform $fmt -in "$f" -noout -subject_hash 2>/dev/null) &&
                { subj[$h]=$f; break; }
        done
    done
    for f in "$@"; do
        kind=; iss=
        for fmt in PEM DER; do
            if h=$(openssl x509 -inform $fmt -in "$f" -noout -issuer_hash 2>/dev/null); then
                kind=cert; break
            elif h=$(openssl crl -inform $fmt -in "$f" -noout -hash 2>/dev/null); then
                kind=crl; break
            fi
        done
        [ -n "$kind" ] || continue
        iss=${subj[$h]:-}
        if [ -z "$iss" ]; then notok "$name: lint $(basename "$f")" "no issuer among the files"; continue; fi
        out=$("$OFFCA" lint --issuer "$iss" "$f" 2>&1)
        if [ $? -eq 0 ] && [ -z "$out" ]; then ok "$name: lint $(basename "$f") ($kind)"
        else notok "$name: lint $(basename "$f") ($kind)" "$out"; fi
    done
}
