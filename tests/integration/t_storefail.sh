#!/bin/bash
# Issue 5, store failures: the store on a FULL filesystem (a 2 MiB tmpfs filled to the last block)
# and a READ-ONLY store (a read-only bind mount; and `chattr +i` on data.mdb, which stops even
# root). Each must give a clear error (exit 4, the store's path, the cause, what to do), write no
# certificate file and leave the store as it was (it opens, `offca list` unchanged, `offca audit
# verify` passes, and it works again once the cause is removed). Also: the OUTPUT directory on a
# full filesystem, where the certificate is already committed: the error names the file, nothing
# torn is left, and the certificate can be exported from the store.
# Runs in a private mount namespace (unshare -m) so no mount outlives the test; needs root.
if [ -z "${OFFCA_STOREFAIL_NS:-}" ]; then
    if [ "$(id -u)" = 0 ] && unshare -m --propagation private true 2>/dev/null; then
        OFFCA_STOREFAIL_NS=1 exec unshare -m --propagation private bash "$0" "$@"
    fi
    echo "# skip: needs root and mount namespaces (unshare -m) for tmpfs and bind mounts"
    echo "# 0 passed, 0 failed"; exit 0
fi
. "$(dirname "$0")/common.sh"
trap 'umount "$T/ro" "$T/small" "$T/outfs" 2>/dev/null; chattr -i "$T/small/store/data.mdb" 2>/dev/null; rm -rf "$T"' EXIT
offca_setup offca-sf
mkdir -p "$T/small" "$T/out"
check "mount a 2 MiB tmpfs for the store" mount -t tmpfs -o size=2m,mode=0755 tmpfs "$T/small"
S="$T/small/store"
sed -i "s|^path = .*|path = \"$S\"|" "$T/ca.toml"
oc init >/dev/null
oc key generate --label ca --alg p256 >/dev/null
oc ca create-root ca --key "pkcs11:token=offca-sf;object=ca;type=private" --subject 'CN=Store Fail CA' \
    --days 3650 >/dev/null
oc ca export ca -o "$T/ca.pem"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/k.key" 2>/dev/null
openssl req -new -key "$T/k.key" -subj /CN=host -out "$T/h.csr" 2>/dev/null
manifest() { # manifest NAME COUNT DIR
    for i in $(seq 1 "$2"); do
        printf '{"csr":"%s","san":["dns:%s%d.example.com"],"out":"%s/%s%d.pem"}\n' \
            "$T/h.csr" "$1" "$i" "$3" "$1" "$i"
    done >"$T/$1.jsonl"
}
sign1() { oc sign --ca ca --template vpn-server --csr "$T/h.csr" --san dns:one.example.com -o "$1"; }
manifest pre 10 "$T/out"
expect_rc 0 "10 certificates before the trouble" -- oc sign --ca ca --template vpn-server --batch "$T/pre.jsonl"
LIST=$(oc --json list); AUDIT=$(oc --json audit list)
unchanged() { # unchanged WHAT: store opens, list and audit log as they were, chain verifies
    expect_rc 0 "$1: the store still opens (offca list)" -- oc --json list
    check "$1: offca list unchanged" test "$OUT" = "$LIST"
    check "$1: audit log unchanged" test "$(oc --json audit list)" = "$AUDIT"
    expect_rc 0 "$1: audit verify passes" -- oc audit verify
}
no_output() { # no_output WHAT FILE...: no certificate and no temp file appeared in $T/out
    local f
    for f in "${@:2}"; do check "$1: no $(basename "$f") written" test ! -e "$f"; done
    check "$1: no temp file left in the output directory" test -z "$(find "$T/out" -name '.offca-tmp-*')"
}

# ---- full filesystem -------------------------------------------------------------------------
dd if=/dev/zero of="$T/small/fill" bs=4k >/dev/null 2>&1
check "the store's filesystem is full" test "$(df --output=avail "$T/small" | tail -1 | tr -d ' ')" = 0
expect_rc 4 "full: sign exits 4" -- sign1 "$T/out/full1.pem"
expect_in "store $S" "full: message names the store"
expect_in "ENOSPC" "full: message names the cause"
expect_in "free space on the filesystem holding $S" "full: message says what to do"
manifest full 100 "$T/out"
expect_rc 4 "full: a 100-entry batch exits 4" -- oc sign --ca ca --template vpn-server --batch "$T/full.jsonl"
expect_in "ENOSPC" "full: batch message names the cause"
check "full: the batch summary reports 0 issued" grep -q ": 0 issued" <<<"$OUT"
no_output "full" "$T/out/full1.pem" "$T/out"/full*.pem
unchanged "full"
rm -f "$T/small/fill"
expect_rc 0 "space freed: the same batch now completes" -- oc sign --ca ca --template vpn-server --batch "$T/full.jsonl"
check "space freed: 100 outputs" test "$(ls "$T/out"/full*.pem | wc -l)" = 100
expect_rc 0 "space freed: audit verify passes" -- oc audit verify
LIST=$(oc --json list); AUDIT=$(oc --json audit list)

# ---- read-only bind mount --------------------------------------------------------------------
mkdir -p "$T/ro"
check "read-only bind mount of the store" bash -c "mount --bind '$S' '$T/ro' && mount -o remount,bind,ro '$T/ro'"
sed "s|^path = .*|path = \"$T/ro\"|" "$T/ca.toml" >"$T/ro.toml"
expect_rc 4 "read-only: sign exits 4" -- "$OFFCA" -c "$T/ro.toml" sign --ca ca --template vpn-server \
    --csr "$T/h.csr" --san dns:ro.example.com -o "$T/out/ro.pem"
expect_in "store $T/ro" "read-only: message names the store"
expect_in "EROFS" "read-only: message names the cause"
expect_in "remount it read-write" "read-only: message says what to do"
# A read-only command fails too: LMDB opens lock.mdb read-write even to read. offca does not fall
# back to MDB_RDONLY|MDB_NOLOCK: without the lock a writer through another (read-write) path to the
# same files, e.g. the store this bind mount shows, could reuse pages under the reader.
expect_rc 4 "read-only: list exits 4" -- "$OFFCA" -c "$T/ro.toml" list
expect_in "EROFS" "read-only: list names the cause"
expect_in "lock.mdb read-write even to read" "read-only: list says why a read fails"
expect_in "copy the directory $T/ro to a writable place" "read-only: list says what to do"
no_output "read-only" "$T/out/ro.pem"
umount "$T/ro"
unchanged "read-only"

# ---- chattr +i data.mdb (immutable: even root cannot write) ----------------------------------
check "chattr +i data.mdb" chattr +i "$S/data.mdb"
expect_rc 4 "immutable: sign exits 4" -- sign1 "$T/out/imm.pem"
expect_in "store $S" "immutable: message names the store"
expect_in "EPERM" "immutable: message names the cause"
expect_in "chattr -i" "immutable: message names the immutable attribute"
no_output "immutable" "$T/out/imm.pem"
chattr -i "$S/data.mdb"
unchanged "immutable"

# ---- output directory on a full filesystem (the store is fine) -------------------------------
mkdir -p "$T/outfs"
mount -t tmpfs -o size=64k tmpfs "$T/outfs"
dd if=/dev/zero of="$T/outfs/fill" bs=4k >/dev/null 2>&1
expect_rc 4 "full output directory: sign exits 4" -- sign1 "$T/outfs/o.pem"
expect_in "$T/outfs/o.pem" "full output directory: message names the file"
expect_in "No space left" "full output directory: message names the cause"
expect_in "nothing was issued" "full output directory: message says nothing was issued"
check "full output directory: no certificate file, no staged or temp file" \
    test -z "$(find "$T/outfs" -name 'o.pem' -o -name '.offca-tmp-*' -o -name '.o.pem.offca-stage-*')"
# the output is staged before the commit (issue 11): a directory that cannot take it refuses the
# request while nothing is recorded (a failure after the commit: t_faults_b_out.sh)
LIST=$(oc --json list); AUDIT=$(oc --json audit list)
unchanged "full output directory"
rm -f "$T/outfs/fill"
expect_rc 0 "full output directory: space freed, the same command issues it" -- sign1 "$T/outfs/o.pem"
expect_rc 0 "the certificate verifies" -- openssl verify -x509_strict -CAfile "$T/ca.pem" "$T/outfs/o.pem"
expect_rc 0 "audit verify passes at the end" -- oc audit verify
t_done
