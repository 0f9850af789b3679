#!/bin/bash
# Issue 13, crl import refusals on the issuing machine: the same number with other content, a
# CRL of another root, a root with the same name and another key (AKID), a bad signature, not a
# CRL, expired, not yet valid. Each is refused with its reason and leaves the published file
# and the store exactly as they were. Then SIGKILL during an import (after the commit, and with
# the CRL's temp file written): the next run puts the recorded CRL in place.
. "$(dirname "$0")/offline_lib.sh"
offline_setup || { notok "two machines set up"; t_done; exit 1; }
R ca sign-subordinate root --csr "$T/iss.csr" -o "$T/iss.pem" >/dev/null
R crl publish --ca root --out "$T/carry" >/dev/null
I ca import iss --cert "$T/iss.pem" --chain "$T/carry/root.crt" >/dev/null
expect_rc 0 "import CRL 1" -- I crl import "$T/carry/root.crl"

# CRL 2 twice: the root store copied before the first, put back before the second (a root
# restored from an old backup signs the same number again)
cp -a "$T/r/store" "$T/r/store.bak"
R crl publish --ca root --force --out "$T/carry" >/dev/null; cp "$T/carry/root.crl" "$T/two-a.crl"
rm -rf "$T/r/store"; mv "$T/r/store.bak" "$T/r/store"
R crl publish --ca root --force --out "$T/carry" >/dev/null; cp "$T/carry/root.crl" "$T/two-b.crl"
check "two different CRLs numbered 2" bash -c "test '$(crlnum "$T/two-a.crl")' = 0x02 && test '$(crlnum "$T/two-b.crl")' = 0x02 && ! cmp -s '$T/two-a.crl' '$T/two-b.crl'"
expect_rc 0 "import the first CRL 2" -- I crl import "$T/two-a.crl"

# another root, and a root with the same name but another key
R key generate --label other --alg p256 >/dev/null; R key generate --label twin --alg p256 >/dev/null
R ca create-root other --key "$(RURI other)" --subject 'CN=Other Root' >/dev/null
R ca create-root twin --key "$(RURI twin)" --subject 'CN=Offline Root,O=Contoso' >/dev/null
R crl publish --ca other >/dev/null; R crl publish --ca twin >/dev/null
cp "$T/two-a.crl" "$T/badsig.crl"
LEN=$(stat -c %s "$T/badsig.crl")
flip_byte "$T/badsig.crl" $((LEN - 2))
printf 'not a CRL\n' >"$T/junk.crl"

refused() { # refused RC NAME FRAGMENT FILE...: exit RC, the reason, file and store unchanged
    local rc=$1 name=$2 frag=$3; shift 3
    local before sum
    before=$(sha256sum <"$T/i/pub/root.crl"); sum=$(store_sum i)
    expect_rc "$rc" "refused: $name" -- I crl import "$@"
    expect_in "$frag" "refused: $name: says '$frag'"
    check "refused: $name: root.crl as it was" test "$(sha256sum <"$T/i/pub/root.crl")" = "$before"
    check "refused: $name: the store as it was" test "$(store_sum i)" = "$sum"
}
refused 1 "same number, other content" "already imported with other content" "$T/two-b.crl"
refused 1 "another root's CRL" "wrong issuer" "$T/r/pub/other.crl"
refused 1 "same name, another key" "authority key identifier" "$T/r/pub/twin.crl"
refused 1 "bad signature" "bad signature" "$T/badsig.crl"
refused 3 "not a CRL" "not a CRL" "$T/junk.crl"
refused 1 "a set with one bad file imports nothing" \
    "bad signature" "$T/carry/root.crl" "$T/badsig.crl"
R crl publish --ca root --force --out "$T/carry" >/dev/null           # CRL 3
cp "$T/carry/root.crl" "$T/three.crl"
NOW=$(( $(crltime "$T/carry/root.crl" next) + 1 ))
before=$(sha256sum <"$T/i/pub/root.crl"); sum=$(store_sum i)
expect_rc 1 "refused: expired (the issuing machine's clock past its nextUpdate)" -- IT crl import "$T/carry/root.crl"
expect_in "expired" "refused: expired: says so"
check "refused: expired: root.crl and the store as they were" \
    test "$(sha256sum <"$T/i/pub/root.crl")$(store_sum i)" = "$before$sum"
NOW=$(( $(date +%s) + 20 * 86400 ))
RT crl publish --ca root --force --out "$T/carry" >/dev/null          # CRL 4, 20 days ahead
cp "$T/carry/root.crl" "$T/future.crl"
refused 1 "not yet valid (thisUpdate 20 days ahead, not continuing CRL 3)" "not yet valid" "$T/future.crl"

# ---- SIGKILL after the commit: the recorded CRL is put in place by the next run ----
two=$(sha256sum <"$T/i/pub/root.crl")
expect_rc 137 "import CRL 3, killed after its commit (crlimp.committed)" -- \
    env OFFCA_FAULT=crlimp.committed "$OFFCA_TEST_BIN" -c "$T/i/ca.toml" crl import "$T/three.crl"
expect_in "fault point crlimp.committed" "the kill landed after the commit"
check "killed: root.crl is still CRL 2" test "$(sha256sum <"$T/i/pub/root.crl")" = "$two"
expect_rc 0 "the hourly crl publish puts the recorded CRL 3 in place" -- I crl publish
expect_in "put back" "cron says it put the file back"
check "root.crl is CRL 3" cmp -s "$T/i/pub/root.crl" "$T/three.crl"
# ---- SIGKILL with the temp file written, not renamed ----
R crl publish --ca root --force --out "$T/carry" >/dev/null           # CRL 5 (4 was refused)
expect_rc 137 "import CRL 5, killed with its temp file written (crl.temp-written)" -- \
    env OFFCA_FAULT=crl.temp-written "$OFFCA_TEST_BIN" -c "$T/i/ca.toml" crl import "$T/carry/root.crl"
check "killed: root.crl is still CRL 3" cmp -s "$T/i/pub/root.crl" "$T/three.crl"
check "killed: a temp file was left" bash -c "ls -a '$T/i/pub' | grep -q '^\.root\.crl\..*\.tmp$'"
expect_rc 0 "importing it again finishes the job" -- I crl import "$T/carry/root.crl"
expect_in "already imported" "the CRL was recorded before the kill"
check "root.crl is CRL 5" cmp -s "$T/i/pub/root.crl" "$T/carry/root.crl"
check "the temp file is gone" bash -c "! ls -a '$T/i/pub' | grep -q '\.tmp$'"
expect_rc 0 "issuing machine: audit verify after the kills" -- I audit verify
expect_rc 0 "audit list shows the imports" -- I audit list
check "crl.import records for CRLs 1, 2, 3, 5" test "$(grep -c 'crl.import ' <<<"$OUT")" -ge 4
t_done
