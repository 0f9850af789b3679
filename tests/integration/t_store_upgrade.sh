#!/bin/bash
# Issues 12 and 13, store schema 3 (CA generations, imported and pre-signed CRLs): a store
# written by the last schema 1 offca (commit c459a3d) and one written by the last schema 2 offca
# (c51081b: by_key and blocked_keys, no generations, no crl_imported / crl_presigned), each built
# from git into build/compat/, is upgraded in place by this offca on first open, in one
# transaction that creates every database schema 3 has; afterwards everything it held still
# lists, revokes and publishes, the new databases take records (crl presign), and the old binary
# refuses the upgraded store instead of misreading it.
. "$(dirname "$0")/common.sh"
build_old() { # build_old COMMIT: that offca, built once per checkout (about 30 s on 2 cores)
    local dir="$REPO/build/compat/$1"
    [ -x "$dir/build/offca" ] && return 0
    command -v git >/dev/null && git -C "$REPO" cat-file -e "$1^{commit}" 2>/dev/null || return 1
    rm -rf "$dir"; mkdir -p "$dir"
    git -C "$REPO" archive "$1" | tar -x -C "$dir" &&
        make -C "$dir" -j2 build/offca >"$T/build-$1.log" 2>&1
}
T0=$T
leaf() { # leaf BIN NAME: a vpn-server certificate issued by iss with BIN
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/$2.key" \
        -subj "/CN=$2" -out "$T/$2.csr" 2>/dev/null
    "$1" -c "$T/ca.toml" sign --ca iss --template vpn-server --csr "$T/$2.csr" \
        --san "dns:$2.example" -o "$T/$2.pem" >/dev/null
}
ser() { openssl x509 -in "$1" -noout -serial | cut -d= -f2 | tr A-F a-f; }

upgrade_from() { # upgrade_from SCHEMA COMMIT
local FROM=$1 V1="$REPO/build/compat/$2/build/offca"
T=$T0/v$FROM; mkdir -p "$T"
offca_setup upgrade$FROM
# the templates of that offca (an older install's config): today's keys are unknown to it
rm -rf "$T/templates"; mkdir -p "$T/templates"
cp "$REPO/build/compat/$2/templates/shipped/"*.toml "$T/templates/"
URI() { echo "pkcs11:token=upgrade$FROM;object=$1;type=private"; }
v1() { "$V1" -c "$T/ca.toml" "$@"; }
# ---- a store made by the schema $FROM offca ----
v1 init >/dev/null
for k in root iss pend; do v1 key generate --label $k --alg p256 >/dev/null; done
v1 ca create-root root --key "$(URI root)" --subject 'CN=Upgrade Root' >/dev/null
v1 ca create-issuing iss --parent root --key "$(URI iss)" --subject 'CN=Upgrade Iss' >/dev/null
v1 ca csr pend --key "$(URI pend)" --subject 'CN=Pending' -o "$T/pend.csr" >/dev/null
leaf "$V1" a; leaf "$V1" b
v1 revoke --ca iss --serial "$(ser "$T/a.pem")" --reason keyCompromise >/dev/null
v1 crl publish >/dev/null
check "the schema $FROM offca made a store with a CRL" test -s "$T/pub/iss.crl"
BEFORE_LIST=$(v1 list); BEFORE_CAS=$(v1 --json ca list); BEFORE_AUDIT=$(v1 audit list | wc -l)
for db in generations crl_imported crl_presigned; do
    check "the schema $FROM store has no '$db' database yet" \
        bash -c "! mdb_stat -s $db '$T/store' >/dev/null 2>&1"
done
cp "$T/pub/iss.crl" "$T/iss-v1.crl"

# ---- first open by this offca: upgraded, nothing lost ----
expect_rc 0 "this offca opens the schema $FROM store" -- oc list
expect_in "upgraded from schema $FROM to 3" "the upgrade is announced on stderr"
check "every certificate still listed, unchanged" test "$OUT" = "$BEFORE_LIST"
for db in generations crl_imported crl_presigned; do
    expect_rc 0 "the upgrade created the '$db' database" -- mdb_stat -s $db "$T/store"
done
expect_rc 0 "meta" -- mdb_dump -p -s meta "$T/store"
check "meta 'dbs' lists every schema 3 database" \
    grep -q 'blocked_keys,generations,crl_imported,crl_presigned$' <<<"$OUT"
expect_rc 0 "a second open does not upgrade again" -- oc list
check "no second upgrade note" bash -c "! grep -q upgraded <<<'$ERR'"
expect_rc 0 "ca list" -- oc --json ca list
check "ca list --json: what the old offca listed is unchanged (generation 0 added)" test \
    "$(sed 's/,"cert_index":0,"key_index":0//g' <<<"$OUT")" = "$BEFORE_CAS"
check "all three CAs list generation 0 (the pending one too: nothing yet)" \
    test "$(grep -o '"cert_index":0,"key_index":0' <<<"$OUT" | wc -l)" = 3
expect_rc 0 "the audit chain verifies across the upgrade" -- oc audit verify
expect_rc 0 "audit list" -- oc audit list
check "one store.upgrade audit record was appended" \
    test "$(grep -c 'store.upgrade' <<<"$OUT")" = 1 -a "$(wc -l <<<"$OUT")" -gt "$BEFORE_AUDIT"
expect_rc 0 "ca show root lists generation 0" -- oc ca show root
expect_in "generation 0" "ca show names the generation"

# ---- still revokes, publishes, issues ----
expect_rc 1 "the leaf revoked by the old offca is still revoked" -- \
    oc revoke --ca iss --serial "$(ser "$T/a.pem")" --reason keyCompromise
expect_in "already revoked" "revoke says already revoked"
expect_rc 0 "revoke the other old leaf" -- oc revoke --ca iss --serial "$(ser "$T/b.pem")"
expect_rc 0 "crl publish after the upgrade" -- oc crl publish
expect_in "iss: published CRL 2" "the CRL number goes on from the old state"
oc ca export root -o "$T/root.pem"; oc ca export iss -o "$T/iss.pem"
CRL=$(openssl crl -inform DER -in "$T/pub/iss.crl" -noout -text)
check "the new CRL lists both old leaves" bash -c \
    "grep -qi 'Serial Number: $(ser "$T/a.pem")' <<<'$CRL' && grep -qi 'Serial Number: $(ser "$T/b.pem")' <<<'$CRL'"
expect_rc 0 "the CRL verifies against the issuing CA" -- \
    openssl crl -inform DER -in "$T/pub/iss.crl" -CAfile "$T/iss.pem" -noout
leaf "$OFFCA" c
if [ "$FROM" = 2 ]; then # schema 2's blocklist survives: a's key was revoked for keyCompromise
    expect_rc 1 "the key blocked by the schema 2 offca is still refused" -- oc sign --ca iss \
        --template vpn-server --csr "$T/a.csr" --san dns:a2.example -o "$T/a2.pem"
    expect_in "revoked for keyCompromise" "the refusal names the compromised key"
fi
expect_rc 2 "openssl: an old leaf is revoked by the new CRL" -- openssl verify -crl_check \
    -CAfile "$T/root.pem" -untrusted "$T/iss.pem" -CRLfile "$T/pub/iss.crl" "$T/b.pem"
expect_in "certificate revoked" "openssl says revoked"
expect_rc 0 "openssl: a leaf issued after the upgrade verifies with the CRL" -- openssl verify \
    -crl_check -CAfile "$T/root.pem" -untrusted "$T/iss.pem" -CRLfile "$T/pub/iss.crl" "$T/c.pem"
mkdir -p "$T/pre"
expect_rc 0 "crl presign on the upgraded store (records in crl_presigned)" -- \
    oc crl presign --ca root --count 2 --out "$T/pre"
RN=$(openssl crl -inform DER -in "$T/pub/root.crl" -noout -crlnumber | sed 's/.*=0x//')
check "the pre-signed CRLs continue the root's numbering from the old store" \
    test -s "$T/pre/root-crl-$((16#$RN + 1)).crl" -a -s "$T/pre/root-crl-$((16#$RN + 2)).crl"
expect_rc 0 "a second presign continues the recorded set" -- \
    oc crl presign --ca root --count 1 --out "$T/pre"
check "its CRL is the next number" test -s "$T/pre/root-crl-$((16#$RN + 3)).crl"
expect_rc 0 "the pending CA is still pending" -- oc --json ca list
check "pend is pending" grep -q '"name":"pend","state":"pending"' <<<"$OUT"

# ---- the old binary refuses the new schema ----
expect_rc 4 "the schema $FROM offca refuses the upgraded store" -- v1 list
expect_in "schema version 3 is newer than this offca understands ($FROM); upgrade offca" \
    "the old offca says to upgrade"
}

for v in "1 c459a3d" "2 c51081b"; do
    set -- $v
    if build_old "$2"; then
        upgrade_from "$1" "$2"
    else
        notok "build the schema $1 offca ($2)" "see $T0/build-$2.log (no git history here?)"
    fi
done
t_done
