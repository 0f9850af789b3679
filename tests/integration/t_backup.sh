#!/bin/bash
# Issue 13, backup and restore: a backup taken while a large `sign --batch` runs (placed by an
# event: once the batch has written its first files) is intact, restores into a new store path,
# whose audit chain verifies, whose every certificate is one the live store has, and whose counts
# are the manifest's. A tampered backup (a byte of data.mdb, a template, a removed or added file,
# a manifest edit with or without its own checksum recomputed, an audit record edited inside a
# resealed backup) is refused by `backup verify` and
# by `restore`, naming the file, and restore writes nothing; restore never writes into a
# non-empty store path (the live store included); the backup holds neither token nor PIN.
. "$(dirname "$0")/common.sh"
offca_setup offca-backup
N=${OFFCA_BACKUP_N:-500}
oc init >/dev/null
oc key generate --label ca --alg p256 >/dev/null
oc ca create-root ca --key "pkcs11:token=offca-backup;object=ca;type=private" \
    --subject 'CN=Backup Test CA' --days 3650 >/dev/null
for i in 1 2 3; do openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/k$i.key" 2>/dev/null; done
mkdir -p "$T/csr" "$T/out"
seq 1 "$N" | xargs -P 2 -I{} sh -c 'openssl req -new -key "$0/k$(( {} % 3 + 1 )).key" \
    -subj "/CN=host{}" -out "$0/csr/{}.csr" 2>/dev/null' "$T"
for i in $(seq 1 "$N"); do
    printf '{"csr":"%s/csr/%d.csr","san":["dns:host%d.example.com"],"out":"%s/out/%d.pem"}\n' \
        "$T" "$i" "$i" "$T" "$i"
done >"$T/m.jsonl"

# ---- the backup, taken while the batch runs ----
(exec "$OFFCA" -c "$T/ca.toml" sign --ca ca --template vpn-server --batch "$T/m.jsonl" \
    >"$T/batch.out" 2>&1) &
bpid=$!
# the event: the batch has committed and written its first group (or ended)
while kill -0 "$bpid" 2>/dev/null && [ -z "$(find "$T/out" -name '*.pem' -print -quit)" ]; do
    sleep 0.01
done
expect_rc 0 "backup DIR while the batch runs" -- oc backup "$T/bk"
mid=$(find "$T/out" -name '*.pem' | wc -l)
wait "$bpid"; brc=$?
check "the batch itself completes (exit 0)" test "$brc" -eq 0
echo "# backup taken with $mid of $N output files written"
expect_in "not in it: the token with the CA keys, and the PIN" "backup says what it does not hold"
expect_rc 0 "backup verify: intact" -- oc backup verify "$T/bk"
expect_in "audit chain verifies up to record" "verify reports the chain checked"
check "no temporary directory left beside the backup" test -z "$(ls -a "$T" | grep offca-tmp)"
(cd "$T/bk" && find . -type f | sort) >"$T/files.txt"
{ echo ./MANIFEST; echo ./certs/ca.pem; echo ./config/ca.toml; echo ./store/data.mdb
  (cd "$T/templates" && ls *.toml | sed 's|^|./templates/|'); } | sort >"$T/want.txt"
check "the backup holds exactly manifest, store copy, ca.toml, templates, CA certificate (no token, no PIN)" \
    diff "$T/want.txt" "$T/files.txt"
check "files 0600, directories 0700" test -z "$(find "$T/bk" \( -type f ! -perm 600 \) -o \( -type d ! -perm 700 \))"
check "the CA certificate in certs/ is the store's" test "$(openssl x509 -in "$T/bk/certs/ca.pem" -outform DER | sha256sum)" = \
    "$(oc ca export ca -o - | openssl x509 -outform DER | sha256sum)"
check "every listed checksum is right (sha256sum)" bash -c \
    "cd '$T/bk' && grep '^file ' MANIFEST | awk '{print \$2\"  \"\$4}' | sha256sum -c --quiet"

# ---- restore into a new path ----
expect_rc 0 "restore into a new store path, with --config-to" -- \
    "$OFFCA" restore "$T/bk" --store "$T/restored" --config-to "$T/rconf"
expect_in "point [store] path at $T/restored" "restore prints what to do next"
check "restored config is the backup's ca.toml" cmp "$T/rconf/ca.toml" "$T/ca.toml"
check "restored templates are the ones the config names (offca_setup's copy of the shipped ones)" diff -r "$T/rconf/templates" "$T/templates"
sed "s|^path = \"$T/store\"|path = \"$T/restored\"|" "$T/ca.toml" >"$T/r.toml"
rc2() { "$OFFCA" -c "$T/r.toml" "$@"; }
expect_rc 0 "audit verify on the restored store" -- rc2 audit verify
rc2 --json list | jq -r '.[] | "\(.serial) \(.subject)"' | sort >"$T/restored.txt"
oc --json list | jq -r '.[] | "\(.serial) \(.subject)"' | sort >"$T/live.txt"
check "every certificate in the restored store is one the live store has" \
    test -z "$(comm -23 "$T/restored.txt" "$T/live.txt")"
k=$(wc -l <"$T/restored.txt")
check "the restored certificates are the batch's first entries without a gap (one snapshot)" test \
    "$(sed -n 's/.* CN=host\([0-9]*\)$/\1/p' "$T/restored.txt" | sort -n | tr '\n' ' ')" = "$(seq -s ' ' 1 "$k") "
check "the restored store holds the manifest's certificate count" \
    test "$(wc -l <"$T/restored.txt")" = "$(awk '$1=="certificates"{print $2}' "$T/bk/MANIFEST")"
check "the restored audit log holds the manifest's record count" \
    test "$(rc2 --json audit list | jq length)" = "$(awk '$1=="audit-records"{print $2}' "$T/bk/MANIFEST")"
check "restored certificates have their issue records" \
    test "$(rc2 --json audit list | jq '[.[]|select(.action=="cert.issue")]|length')" = "$(wc -l <"$T/restored.txt")"
echo "# restored $(wc -l <"$T/restored.txt") certificates; the live store holds $(wc -l <"$T/live.txt")"

# ---- refusals: non-empty targets ----
sum_before=$(sha256sum "$T/restored/data.mdb")
expect_rc 1 "restore refuses a non-empty store path" -- "$OFFCA" restore "$T/bk" --store "$T/restored"
expect_in "not empty" "the refusal says why"
check "the non-empty store path is unchanged" test "$(sha256sum "$T/restored/data.mdb")" = "$sum_before"
live_before=$(sha256sum "$T/store/data.mdb")
expect_rc 1 "restore refuses the live store path" -- "$OFFCA" restore "$T/bk" --store "$T/store"
check "the live store is unchanged" test "$(sha256sum "$T/store/data.mdb")" = "$live_before"
mkdir -p "$T/other"; echo keep >"$T/other/notes.txt"
expect_rc 1 "restore refuses a directory holding any file" -- "$OFFCA" restore "$T/bk" --store "$T/other"
check "its file is untouched" test "$(cat "$T/other/notes.txt")" = keep
expect_rc 1 "restore refuses a non-empty --config-to" -- "$OFFCA" restore "$T/bk" --store "$T/r9" --config-to "$T/other"
check "nothing restored when --config-to is refused" test ! -e "$T/r9"
expect_rc 1 "backup refuses a non-empty DIR" -- oc backup "$T/bk"
mkdir "$T/empty"
expect_rc 0 "backup into an existing empty DIR" -- oc backup "$T/empty"
expect_rc 0 "that backup verifies" -- oc backup verify "$T/empty"
expect_rc 0 "backup DIR/ (trailing slash): the backup is DIR itself" -- oc backup "$T/slash/"
check "nothing made inside it or left beside it" test -f "$T/slash/MANIFEST" -a -z "$(ls -a "$T" | grep offca-tmp)"
expect_rc 0 "restore --store PATH/ (trailing slash)" -- "$OFFCA" restore "$T/slash/" --store "$T/rslash/"
check "the store is PATH itself" test -f "$T/rslash/data.mdb" -a -z "$(ls -a "$T" | grep offca-restore)"
expect_rc 1 "backup into the store directory is refused" -- oc backup "$T/store/bk"
check "nothing written into the store directory" test "$(ls "$T/store" | sort | tr '\n' ' ')" = "data.mdb lock.mdb "
mkdir -m 700 "$T/stale.offca-tmp-AbC123"
expect_rc 0 "a backup beside the leftover of a killed one" -- oc backup "$T/stale"
expect_in "stale.offca-tmp-AbC123: left by a run that was stopped before it finished" "the leftover is named"
check "the leftover is not removed (it may be a running backup's)" test -d "$T/stale.offca-tmp-AbC123"
rmdir "$T/stale.offca-tmp-AbC123"
expect_rc 2 "backup / is refused as a path" -- oc backup /
expect_rc 2 "restore without --store is a usage error" -- "$OFFCA" restore "$T/bk"
expect_rc 2 "backup without DIR is a usage error" -- oc backup

# ---- SIGKILL at random moments: DIR is absent or a complete, intact backup, never half ----
half=0; whole=0; absent=0
for trial in $(seq 1 12); do
    D="$T/kill$trial"
    (exec "$OFFCA" -c "$T/ca.toml" backup "$D" >/dev/null 2>&1) &
    kpid=$!
    sleep "0.0$((RANDOM % 10))"
    kill -KILL "$kpid" 2>/dev/null; wait "$kpid" 2>/dev/null
    if [ ! -e "$D" ]; then absent=$((absent + 1))
    elif "$OFFCA" backup verify "$D" >/dev/null 2>&1; then whole=$((whole + 1))
    else half=$((half + 1)); fi
    rm -rf "$D" "$D".offca-tmp-*
done
echo "# SIGKILL trials: $absent left no DIR, $whole a complete backup"
check "SIGKILLed backups: DIR never half-written (absent or verifying)" test "$half" -eq 0

# ---- tampered backups ----
tamper() { rm -rf "$T/tb"; cp -a "$T/bk" "$T/tb"; }
refused() { # refused NAME TEXT: both verify and restore refuse $T/tb with exit 3 naming TEXT; nothing restored
    expect_rc 3 "$1: backup verify refuses it" -- oc backup verify "$T/tb"
    expect_in "$2" "$1: the message names $2"
    expect_rc 3 "$1: restore refuses it" -- "$OFFCA" restore "$T/tb" --store "$T/rt"
    check "$1: restore wrote nothing, left no stage" test ! -e "$T/rt" -a -z "$(ls -a "$T" | grep offca-restore)"
}
reseal() { # recompute the manifest's own checksum after an edit
    sed -i '$d' "$T/tb/MANIFEST"
    printf 'manifest-sha256 %s\n' "$(sha256sum "$T/tb/MANIFEST" | cut -d' ' -f1)" >>"$T/tb/MANIFEST"
}
tamper; sz=$(stat -c %s "$T/tb/store/data.mdb"); off=$((sz / 2))
b=$(xxd -s "$off" -l 1 -p "$T/tb/store/data.mdb")
printf "%02x" $((0x$b ^ 0x01)) | xxd -r -p | dd of="$T/tb/store/data.mdb" bs=1 seek="$off" conv=notrunc 2>/dev/null
refused "a byte flipped in data.mdb" "store/data.mdb: checksum mismatch"
tamper; echo '# changed' >>"$T/tb/templates/vpn-server.toml"
refused "a changed template" "templates/vpn-server.toml: checksum mismatch"
tamper; rm "$T/tb/certs/ca.pem"
refused "a removed file" "certs/ca.pem"
tamper; echo extra >"$T/tb/templates/extra.toml"
refused "an added file" "templates/extra.toml: not listed in the manifest"
tamper; sed -i 's/^certificates \([0-9]*\)/certificates 1\1/' "$T/tb/MANIFEST"
refused "a manifest edit" "manifest-sha256: the manifest's own checksum does not match"
tamper; sed -i 's/^audit-records \([0-9]*\)/audit-records 1\1/' "$T/tb/MANIFEST"; reseal
refused "a resealed manifest claiming more audit records" "audit head: the copy holds"
# A store copy whose audit record 1 was edited, compacted again, listed with its new checksum and
# the manifest resealed: every checksum matches, the audit chain does not.
tamper; rm -rf "$T/ed" "$T/ed2"; mkdir "$T/ed" "$T/ed2"; cp "$T/tb/store/data.mdb" "$T/ed/"
mdb_dump -s audit "$T/ed" | awk 'done == 0 && prev ~ /^ 0000000000000001$/ {
    c = substr($0, 37, 1); $0 = substr($0, 1, 36) (c == "0" ? "1" : "0") substr($0, 38); done = 1 }
    { print; prev = $0 }' >"$T/audit.dump"
mdb_load -s audit "$T/ed" <"$T/audit.dump" 2>/dev/null && mdb_copy -c "$T/ed" "$T/ed2"
cp "$T/ed2/data.mdb" "$T/tb/store/data.mdb"
sed -i "s|^file [0-9a-f]* [0-9]* store/data.mdb\$|file $(sha256sum "$T/tb/store/data.mdb" | cut -d' ' -f1) $(stat -c %s "$T/tb/store/data.mdb") store/data.mdb|" "$T/tb/MANIFEST"
reseal
refused "an audit record edited inside a resealed backup" "store/data.mdb: audit chain: audit record 2: hash chain broken"
tamper; rm "$T/tb/MANIFEST"
refused "no manifest" "MANIFEST: missing"
tamper; ln -sf /etc/passwd "$T/tb/config/ca.toml"
refused "a symlink in place of a file" "config/ca.toml"

# ---- progress on a terminal: the store copy and its checksum counted in bytes ----
# The live store is idle now: a backup on a terminal and one off it hold the same bytes.
script -qec "$OFFCA -c $T/ca.toml backup $T/bk-tty" /dev/null >"$T/tty.out" 2>&1
expect_rc 0 "backup off a terminal" -- oc backup "$T/bk-plain"
check "  ... no progress line on stderr" test -z "$ERR"
SZ=$(stat -c %s "$T/bk-tty/store/data.mdb")
check "on a terminal: the copy's bytes counted up to the copy's size ($SZ)" \
    grep -q $'\rbackup: store copy, bytes: '"$SZ/$SZ"' (100%), [0-9]*/s, done' "$T/tty.out"
check "  ... against the copy's size from the start (the estimate is exact on an idle store)" \
    test -z "$(tr '\r' '\n' <"$T/tty.out" | grep '^backup: store copy, bytes: ' | grep -v "/$SZ (")"
check "  ... the checksum of the copy, in bytes" \
    grep -q $'\rbackup: store/data.mdb checksum, bytes: '"$SZ/$SZ"' (100%), [0-9]*/s, done' "$T/tty.out"
check "  ... the store copy is byte-identical to the one made off a terminal" \
    cmp "$T/bk-tty/store/data.mdb" "$T/bk-plain/store/data.mdb"
check "  ... the manifests differ only in the creation time (and so the self-checksum)" \
    diff <(grep -v '^created \|^manifest-sha256 ' "$T/bk-tty/MANIFEST") <(grep -v '^created \|^manifest-sha256 ' "$T/bk-plain/MANIFEST")
script -qec "$OFFCA backup verify $T/bk-tty" /dev/null >"$T/tty2.out" 2>&1
check "backup verify on a terminal: the store checked, in bytes" \
    grep -q $'\rbackup check: store/data.mdb, bytes: '"$SZ/$SZ"' (100%), [0-9]*/s, done' "$T/tty2.out"
check "  ... and it verifies" grep -q "audit chain verifies up to record" "$T/tty2.out"
expect_rc 0 "backup verify off a terminal" -- "$OFFCA" backup verify "$T/bk-tty"
check "  ... no progress line on stderr" test -z "$ERR"
t_done
