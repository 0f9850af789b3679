#!/bin/bash
# Issue 12, crash safety of `offca ca renew`: SIGKILL at every step of a renewal that comes
# before, at or after its one write transaction, placed by the test build's fault points
# ($OFFCA_TEST_BIN with OFFCA_FAULT=point:n, README "Development"): renew.signed (certificates
# signed, nothing stored), store.before-commit, store.committed, renew.committed (recorded, no
# file written), and each crl.temp-written / crl.renamed of the certificate files written after
# the commit. After each kill the store holds either the old state (no new generation, no new
# record under the parent, no new file in the publish directory) or the whole new generation
# (CA record, generation, the record under the parent, the audit record); the next
# 'crl publish' brings the publish directory in line, and the audit chain verifies. Same-key and
# new-key renewals of an issuing CA, and a root rollover (with its two link certificates).
. "$(dirname "$0")/common.sh"
offca_setup renew-crash
URI() { echo "pkcs11:token=renew-crash;object=$1;type=private"; }
oc init >/dev/null
for k in root root2 iss iss2; do oc key generate --label $k --alg p256 >/dev/null; done
oc ca create-root root --key "$(URI root)" --subject 'CN=Crash Root' >/dev/null
oc ca create-issuing iss --parent root --key "$(URI iss)" --subject 'CN=Crash Iss' >/dev/null
oc crl publish >/dev/null
gens() { oc --json ca show "$1" | grep -o '"cert_index"' | wc -l; }
snapshot() { rm -rf "$T/snap"; mkdir "$T/snap"; cp -a "$T/store" "$T/pub" "$T/tokens" "$T/snap/"; }
restore() { rm -rf "$T/store" "$T/pub" "$T/tokens"; cp -a "$T/snap/store" "$T/snap/pub" "$T/snap/tokens" "$T/"; }

# One trial: `ca renew CA ARGS` killed at the n-th time it reaches POINT; judge what is left.
# Returns 1 when the run never reached that point (no more trials for it).
trial() { # trial CA FILE POINT N ARGS...: FILE = the certificate file the renewal publishes
    local ca=$1 file=$2 pt=$3 n=$4 g0 g1 under0 audit0 rc; shift 4
    restore
    g0=$(gens "$ca"); under0=$(oc list --ca root | wc -l); audit0=$(oc audit list | wc -l)
    OFFCA_FAULT="$pt:$n" "$OFFCA_TEST_BIN" -c "$T/ca.toml" ca renew "$ca" "$@" \
        >"$T/k.out" 2>"$T/k.err"; rc=$?
    grep -q "fault point $pt #$n" "$T/k.err" || { [ "$rc" = 0 ] || echo "# $pt:$n: rc $rc"; return 1; }
    [ "$rc" = 137 ] || { bad=$((bad + 1)); echo "# $pt:$n: exit $rc, not killed"; }
    g1=$(gens "$ca")
    if [ "$g1" = "$g0" ]; then
        old=$((old + 1))
        [ -e "$T/pub/$file" ] && { bad=$((bad + 1)); echo "# $pt:$n: old state but $file published"; }
        [ "$(oc list --ca root | wc -l)" = "$under0" ] || { bad=$((bad + 1)); echo "# $pt:$n: half: a record under root"; }
        [ "$(oc audit list | wc -l)" = "$audit0" ] || { bad=$((bad + 1)); echo "# $pt:$n: half: an audit record"; }
    elif [ "$g1" = $((g0 + 1)) ]; then
        new=$((new + 1))
        [ "$(oc audit list | grep -c ca.renew)" = 1 ] || { bad=$((bad + 1)); echo "# $pt:$n: no ca.renew audit record"; }
        oc crl publish >/dev/null 2>&1 || { bad=$((bad + 1)); echo "# $pt:$n: publish failed"; }
        cmp -s <(oc ca export "$ca" --der) "$T/pub/$file" ||
            { bad=$((bad + 1)); echo "# $pt:$n: $file is not the CA's certificate"; }
    else
        bad=$((bad + 1)); echo "# $pt:$n: $g0 -> $g1 generations"
    fi
    ls -a "$T/pub" | grep -q "\.tmp$" && oc crl publish >/dev/null 2>&1
    ls -a "$T/pub" | grep -q "\.tmp$" && { bad=$((bad + 1)); echo "# $pt:$n: temp file left after publish"; }
    oc audit verify >/dev/null 2>&1 || { bad=$((bad + 1)); echo "# $pt:$n: audit chain broken"; }
    return 0
}
run_all() { # run_all NAME CA FILE ARGS...
    local label=$1 ca=$2 file=$3 pt n; shift 3
    old=0 new=0 bad=0 total=0
    for pt in renew.signed store.before-commit store.committed renew.committed \
              crl.temp-written crl.renamed; do
        n=1
        while trial "$ca" "$file" "$pt" "$n" "$@"; do total=$((total + 1)); n=$((n + 1)); done
    done
    echo "# $label: $total kill points, $old left the old state, $new the whole new generation, $bad bad"
    check "$label: every kill leaves the old state or the whole new generation" test "$bad" = 0
    check "$label: kills before the commit leave the old state, after it the new generation" \
        test "$old" -ge 2 -a "$new" -ge 3
}
snapshot
run_all "same-key renewal" iss "iss(1).crt" --same-key
run_all "new-key renewal" iss "iss(1).crt" --new-key "$(URI iss2)"
run_all "root rollover" root "root(1).crt" --new-key "$(URI root2)"
check "after the last root trial: both link certificates are published" \
    test -s "$T/pub/root(0-1).crt" -a -s "$T/pub/root(1-0).crt"
restore
t_done
