#!/bin/bash
# Issue 11.7: files that decide what offca does are checked like pin_file. A store directory or
# data.mdb/lock.mdb that is group/world-writable, owned by another user or a symlink, a
# world-writable or foreign-owned PKCS#11 module, ca.toml, templates directory or template file,
# and a loose pin_file directory are refused with a message naming the file, its mode or owner
# and the chmod/chown fix; ca.toml and templates only warned about when offca does not run as
# root. Each case changes one thing, checks the refusal, restores it and checks offca works.
. "$(dirname "$0")/common.sh"
[ "$(id -u)" = 0 ] || skip_all "needs root (chown to another user, setpriv to an unprivileged one)"
offca_setup fa-perm
OTHER=65534                       # nobody
URI() { echo "pkcs11:token=fa-perm;object=$1;type=private"; }
# Private copies of what ca.toml points at, so their modes can be changed.
mkdir -p "$T/mod" "$T/tmpl" "$T/pindir"
cp "$(readlink -f "$SOFTHSM_MODULE")" "$T/mod/libsofthsm2.so"
cp "$T"/templates/*.toml "$T/tmpl/"    # offca_setup's copy (key reuse allowed)
chmod 755 "$T/tmpl"; chmod 644 "$T"/tmpl/*.toml
chmod 700 "$T/pindir"; cp -p "$T/pin" "$T/pindir/pin"
sed -i -e "s|^module = .*|module = \"$T/mod/libsofthsm2.so\"|" \
    -e "s|^pin_file = .*|pin_file = \"$T/pindir/pin\"|" \
    -e "s|^dir = \"$T/templates\"|dir = \"$T/tmpl\"|" "$T/ca.toml"
chmod 644 "$T/ca.toml"
expect_rc 0 "setup: init" -- oc init
oc key generate --label root --alg p256 >/dev/null
oc ca create-root root --key "$(URI root)" --subject 'CN=Perm Root' >/dev/null
expect_rc 0 "setup: everything in order: list works" -- oc list
expect_rc 0 "setup: template list works" -- oc template list
check "setup: no warning when all is in order" test -z "$ERR"

# refused RC NAME FILE TEXT CMD...: CMD exits RC naming FILE and TEXT
refused() {
    local rc=$1 name=$2 file=$3 text=$4; shift 4
    expect_rc "$rc" "$name: refused (exit $rc)" -- "$@"
    expect_in "$file" "$name: the message names $file"
    expect_in "$text" "$name: the message says '$text'"
}

# ---- the store: directory, data.mdb, lock.mdb ----
S="$T/store"
chmod 0666 "$S/data.mdb"
refused 4 "data.mdb 0666" "$S/data.mdb" "0666 lets anyone write it" oc list
expect_in "chmod go-w $S/data.mdb" "data.mdb 0666: the message gives the chmod"
refused 4 "data.mdb 0666: init too" "$S/data.mdb" "0666" oc init
check "data.mdb 0666: init did not change its mode" test "$(stat -c %a "$S/data.mdb")" = 666
chmod 0600 "$S/data.mdb"
chown "$OTHER" "$S/data.mdb"
refused 4 "data.mdb owned by uid $OTHER" "$S/data.mdb" "owned by uid $OTHER" oc list
expect_in "chown root $S/data.mdb" "data.mdb foreign: the message gives the chown"
chown 0 "$S/data.mdb"
chmod 0660 "$S/lock.mdb"
refused 4 "lock.mdb 0660" "$S/lock.mdb" "0660 lets its group write it" oc list
chmod 0600 "$S/lock.mdb"
chmod 0777 "$S"
refused 4 "store directory 0777" "$S" "directory mode: 0777" oc list
chmod 0700 "$S"
chown "$OTHER" "$S"
refused 4 "store directory owned by uid $OTHER" "$S" "owned by uid $OTHER" oc list
chown 0 "$S"
mv "$S/data.mdb" "$T/data.real"; ln -s "$T/data.real" "$S/data.mdb"
refused 4 "data.mdb a symlink" "$S/data.mdb" "is a symlink" oc list
rm "$S/data.mdb"; mv "$T/data.real" "$S/data.mdb"
expect_rc 0 "store restored: list works" -- oc list

# ---- the PKCS#11 module ----
M="$T/mod/libsofthsm2.so"
chmod 0666 "$M"
refused 4 "module 0666" "$M" "hsm.module: file mode: 0666 lets anyone write it" oc key list
expect_in "chmod go-w $M" "module 0666: the message gives the chmod"
chmod 0644 "$M"; chown "$OTHER" "$M"
refused 4 "module owned by uid $OTHER" "$M" "owned by uid $OTHER" oc key list
chown 0 "$M"
expect_rc 0 "module restored: key list works" -- oc key list

# ---- pin_file's directory ----
chmod 0777 "$T/pindir"
refused 1 "pin_file directory 0777" "$T/pindir" "pin_file directory: directory mode: 0777" oc key list
chmod 0700 "$T/pindir"; chown "$OTHER" "$T/pindir"
refused 1 "pin_file directory owned by uid $OTHER" "$T/pindir" "owned by uid $OTHER" oc key list
chown 0 "$T/pindir"
expect_rc 0 "pin_file directory restored: key list works" -- oc key list

# ---- ca.toml, the templates directory, a template file (as root: refused) ----
chmod 0666 "$T/ca.toml"
refused 3 "ca.toml 0666" "$T/ca.toml" "0666 lets anyone write it" oc list
expect_in "refused: offca runs as root" "ca.toml 0666: the message says why it is refused"
chmod 0644 "$T/ca.toml"; chown "$OTHER" "$T/ca.toml"
refused 3 "ca.toml owned by uid $OTHER" "$T/ca.toml" "owned by uid $OTHER" oc list
chown 0 "$T/ca.toml"
chmod 0777 "$T/tmpl"
refused 3 "templates directory 0777" "$T/tmpl" "0777 lets anyone write it" oc template list
chmod 0755 "$T/tmpl"
chmod 0666 "$T/tmpl/vpn-server.toml"
refused 3 "template file 0666" "$T/tmpl/vpn-server.toml" "0666 lets anyone write it" oc template list
chmod 0644 "$T/tmpl/vpn-server.toml"; chown "$OTHER" "$T/tmpl/vpn-server.toml"
refused 3 "template file owned by uid $OTHER" "$T/tmpl/vpn-server.toml" "owned by uid $OTHER" \
    oc template list
chown 0 "$T/tmpl/vpn-server.toml"
expect_rc 0 "templates restored: template list works" -- oc template list

# ---- not root: ca.toml and templates are warned about, not refused ----
chmod 0711 "$T"
chmod 0666 "$T/ca.toml"; chmod 0777 "$T/tmpl"
asnobody() { setpriv --reuid=$OTHER --regid=$OTHER --clear-groups "$OFFCA" -c "$T/ca.toml" "$@"; }
expect_rc 0 "not root: template list goes on with a loose ca.toml and templates directory" -- \
    asnobody template list
expect_in "warning: $T/ca.toml: file mode: 0666" "not root: ca.toml is warned about"
expect_in "warning: $T/tmpl: directory mode: 0777" "not root: the templates directory is warned about"
expect_in "as root this is refused" "not root: the warning says root would refuse"
expect_in "vpn-server" "not root: the templates are listed"
chmod 0644 "$T/ca.toml"; chmod 0755 "$T/tmpl"; chmod 0700 "$T"
expect_rc 0 "everything restored: list works" -- oc list
t_done
