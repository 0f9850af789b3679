#!/bin/bash
# Issue 11 point 4, never lose a revocation to a damaged store:
#   a store dumped and reloaded without its `revoked` database (mdb_dump / mdb_load) is refused by
#   every command, init included, with the restore advice, and never recreated: the next CRL
#   cannot silently drop a keyCompromise revocation;
#   audit verify holds the audit records against the databases: a dropped revocation,
#   certificate or CRL state is named (serial / CA), exit 4;
#   a truncated data.mdb is a message and exit 4, not SIGBUS (135);
#   a foreign LMDB environment at the store path is refused, not extended.
. "$(dirname "$0")/common.sh"
command -v mdb_dump >/dev/null && command -v mdb_load >/dev/null ||
    skip_all "mdb_dump/mdb_load (lmdb-utils) are not installed"
offca_setup faults-store
URI() { echo "pkcs11:token=faults-store;object=$1;type=private"; }
S="$T/store"
oc init >/dev/null
oc key generate --label ca --alg p256 >/dev/null
oc ca create-root ca --key "$(URI ca)" --subject 'CN=Store CA' >/dev/null
for n in a b; do
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/$n.key" \
        -subj "/CN=$n" -out "$T/$n.csr" 2>/dev/null
    oc sign --ca ca --template vpn-server --csr "$T/$n.csr" --san "dns:$n.example" \
        -o "$T/$n.pem" 2>/dev/null
done
A=$(openssl x509 -in "$T/a.pem" -noout -serial | cut -d= -f2 | tr A-F a-f)
B=$(openssl x509 -in "$T/b.pem" -noout -serial | cut -d= -f2 | tr A-F a-f)
oc revoke --ca ca --serial "$A" --reason keyCompromise >/dev/null
oc crl publish >/dev/null
listed() { openssl crl -inform DER -in "$T/pub/ca.crl" -noout -text | tr A-F a-f | grep -q "$A"; }
check "setup: the CRL lists the keyCompromise revocation" listed
cp -a "$S" "$T/store.good"
mdb_dump -a "$S" >"$T/dump"
# reload MODE DB... : a copy of the store from the dump with the databases dropped (MODE drop) or
# emptied (MODE empty), put at the store path (the good one kept in store.good)
reload() {
    local mode=$1; shift
    awk -v mode="$mode" -v dbs=" $* " '
        /^db_pagesize=/ { next }
        /^VERSION=/ { sec = ""; hdr = ""; hit = 0; inhdr = 1 }
        inhdr && /^database=/ { hit = index(dbs, " " substr($0, 10) " ") > 0 }
        { sec = sec $0 "\n"; if (inhdr) hdr = hdr $0 "\n" }
        /^HEADER=END/ { inhdr = 0 }
        /^DATA=END/ { if (!hit) printf "%s", sec; else if (mode == "empty") printf "%sDATA=END\n", hdr }
' "$T/dump" >"$T/dump.f"
    rm -rf "$S"; mkdir -m 0700 "$S"
    mdb_load -f "$T/dump.f" "$S" && chmod 0600 "$S"/*.mdb
}
restore() { rm -rf "$S"; cp -a "$T/store.good" "$S"; }

# ---- a store without its revoked database ----
reload drop revoked
check "setup: the reloaded store has no 'revoked' database" eval '! mdb_dump -s revoked "$S" >/dev/null 2>&1'
cp "$T/pub/ca.crl" "$T/crl.before"
expect_rc 4 "list on a store missing 'revoked' is refused (exit 4)" -- oc list
expect_in "database 'revoked' is missing from an initialised store" "  ... naming the database"
expect_in "restore it from a backup" "  ... with the restore advice"
check "  ... not 'not initialised; run offca init'" eval '! printf "%s" "$ERR" | grep -q "not initialised"'
expect_rc 4 "init refuses it too (exit 4)" -- oc init
expect_in "Do not run 'offca init'" "  ... saying init does not repair it"
check "  ... and the database was not recreated" eval '! mdb_dump -s revoked "$S" >/dev/null 2>&1'
expect_rc 4 "crl publish refuses it" -- oc crl publish --force
check "  ... the published CRL is unchanged (still lists the revocation)" cmp -s "$T/pub/ca.crl" "$T/crl.before"
expect_rc 4 "audit verify refuses it" -- oc audit verify
restore
expect_rc 0 "the restored store works" -- oc list
expect_rc 0 "  ... audit verify on the good store" -- oc audit verify
expect_in "store holds everything the audit log records" "  ... says it checked the store"

# ---- audit verify holds the records against the databases ----
reload empty revoked
expect_rc 4 "audit verify with the revoked database emptied: exit 4" -- oc audit verify
expect_in "audit chain intact" "  ... the chain itself is intact"
expect_in "revocation of $A" "  ... the dropped revocation named by its serial"
expect_in "missing from the revoked database" "  ... and what it means"
reload empty certs serials by_expiry crl_state
expect_rc 4 "audit verify with certificates and CRL state emptied: exit 4" -- oc audit verify
expect_in "certificate $B" "  ... a dropped certificate named by its serial"
expect_in "CRL state of CA 'ca' is missing" "  ... the dropped CRL state named by its CA"
restore

# ---- a truncated data.mdb ----
size=$(stat -c %s "$S/data.mdb")
truncate -s $((size / 2)) "$S/data.mdb"
expect_rc 4 "list on a truncated data.mdb: exit 4, not SIGBUS" -- oc list
expect_in "data.mdb is truncated or damaged" "  ... saying so"
expect_in "restore it from a backup" "  ... with the restore advice"
expect_rc 4 "init on a truncated data.mdb: exit 4" -- oc init
expect_rc 4 "crl publish on a truncated data.mdb: exit 4" -- oc crl publish --force
truncate -s 0 "$S/data.mdb"
expect_rc 4 "an emptied data.mdb is refused, init included" -- oc init
check "  ... and left empty (not a fresh store)" test "$(stat -c %s "$S/data.mdb")" -eq 0
restore

# ---- a foreign LMDB environment ----
F="$T/foreign"
mkdir -m 0700 "$F"
printf 'VERSION=3\nformat=print\ntype=btree\ndatabase=sessions\nHEADER=END\n k1\n v1\nDATA=END\n' |
    mdb_load "$F" && chmod 0600 "$F"/*.mdb
sum=$(md5sum <"$F/data.mdb")
sed "s|^path = .*|path = \"$F\"|" "$T/ca.toml" >"$T/foreign.toml"
expect_rc 4 "init at a foreign LMDB environment is refused" -- "$OFFCA" -c "$T/foreign.toml" init
expect_in "not an offca store" "  ... saying so"
check "  ... and it is not extended (data.mdb unchanged)" test "$(md5sum <"$F/data.mdb")" = "$sum"
check "  ... no offca database added" eval '! mdb_dump -s meta "$F" >/dev/null 2>&1'
expect_rc 4 "list at it is refused too" -- "$OFFCA" -c "$T/foreign.toml" list
expect_in "not an offca store" "  ... saying so"
t_done
