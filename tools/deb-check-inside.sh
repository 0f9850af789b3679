#!/bin/bash
# The Debian package on a fresh machine: run by tools/fresh-check.sh (FRESH_DEB=..., `make
# deb-check`) as root inside a brand-new Debian 12 minbase root filesystem, with the package in
# /pkg/offca.deb and tools/demo.sh in /pkg/demo.sh. Installs it with apt (which brings its
# dependencies), checks what it put where, runs the demo with the installed offca as the offca
# user on a SoftHSM token in a directory owned by that user, then purges it twice: once with
# an empty /var/lib/offca (user and directory gone) and once with a store in it (both kept).
# Prints "ok - ..." / "not ok - ..." lines and "# N passed, N failed"; exit 1 when any failed,
# 100 when apt could not fetch what it needs (the archive unreachable).
set -u
export DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8
pass=0; fail=0
ok() { pass=$((pass + 1)); echo "ok - $1"; }
notok() { fail=$((fail + 1)); echo "not ok - $1"; [ $# -gt 1 ] && echo "#   $2"; return 0; }
check() { local n=$1; shift; if "$@"; then ok "$n"; else notok "$n" "command: $*"; fi; }
done_() { echo "# $pass passed, $fail failed"; [ "$fail" -eq 0 ]; }

apt-get update -q >/pkg/apt.log 2>&1 || { cat /pkg/apt.log; exit 100; }
# What a user of the demo adds: a token (softhsm2), openssl, python3 (the demo's HTTP server),
# man-db (man -w). The package's own dependencies come with it.
if ! apt-get install -y -q --no-install-recommends /pkg/offca.deb softhsm2 openssl python3 \
        man-db >>/pkg/apt.log 2>&1; then
    tail -n 20 /pkg/apt.log
    grep -qiE 'Could not resolve|Failed to fetch|Temporary failure|Unable to connect' /pkg/apt.log && exit 100
    notok "apt-get install ./offca.deb"; done_; exit 1
fi
ok "apt-get install ./offca.deb (with its dependencies)"

version=$(dpkg-query -W -f='${Version}' offca)
check "offca --version is the package's version ($version)" test "$(offca --version)" = "offca $version"
check "offca is /usr/bin/offca" test "$(command -v offca)" = /usr/bin/offca
check "man -w offca finds offca(1)" test "$(man -w offca)" = /usr/share/man/man1/offca.1.gz
check "man -w 5 offca-ca.toml" test "$(man -w 5 offca-ca.toml)" = /usr/share/man/man5/offca-ca.toml.5.gz
check "man -w 5 offca-template" test "$(man -w 5 offca-template)" = /usr/share/man/man5/offca-template.5.gz
check "bash completion installed" test -s /usr/share/bash-completion/completions/offca
check "complete -p offca after sourcing it" \
    test "$(bash -c '. /usr/share/bash-completion/completions/offca; complete -p offca')" = "complete -F _offca offca"

uid=$(id -u offca 2>/dev/null)
check "the system user offca exists" test -n "$uid"
check "offca is a system user (uid below 1000)" test "${uid:-1000}" -lt 1000
check "its group offca exists" test -n "$(getent group offca)"
check "/var/lib/offca is mode 0700, owned by offca:offca" \
    test "$(stat -c '%a %U %G' /var/lib/offca)" = "700 offca offca"
check "/etc/offca/ca.toml.example installed" test -s /etc/offca/ca.toml.example
check "the shipped templates are in /etc/offca/templates" test -s /etc/offca/templates/intune-device.toml
conf=$(dpkg-query -W -f='${Conffiles}' offca)
for f in /etc/offca/ca.toml.example /etc/offca/templates/intune-device.toml /etc/cron.d/offca; do
    check "$f is a conffile" grep -q " $f " <<<"$conf"
done
for u in offca-crl.service offca-crl.timer; do
    check "$u installed" test -s /lib/systemd/system/$u
    check "$u not enabled (no symlink under /etc/systemd/system)" \
        test -z "$(find /etc/systemd/system -name "$u" 2>/dev/null)"
done
check "the service runs /usr/bin/offca as the offca user" \
    grep -q '^ExecStart=/usr/bin/offca -c /etc/offca/ca.toml crl publish$' /lib/systemd/system/offca-crl.service
check "the service's user is offca" grep -qx 'User=offca' /lib/systemd/system/offca-crl.service
check "the cron file has no active job line" test -z "$(grep -vE '^(#|$|SHELL=|PATH=)' /etc/cron.d/offca)"
check "the cron file's job line, commented out, runs /usr/bin/offca as offca" \
    grep -q '^#7 \* \* \* \* offca /usr/bin/offca -c /etc/offca/ca.toml crl publish$' /etc/cron.d/offca

# The demo, as the offca user, with the installed offca and templates: a SoftHSM token in a
# directory that user owns (never the system token directory).
W=$(mktemp -d /tmp/offca-demo.XXXXXX); chown offca:offca "$W"
cp /pkg/demo.sh "$W/demo.sh"; chmod 0755 "$W/demo.sh"
if runuser -u offca -- env HOME=/var/lib/offca OFFCA_DEMO_DIR="$W/demo" \
        OFFCA_DEMO_TEMPLATES=/etc/offca/templates bash "$W/demo.sh" /usr/bin/offca >/pkg/demo.log 2>&1; then
    ok "the demo runs as the offca user with /usr/bin/offca and /etc/offca/templates"
else
    notok "the demo runs as the offca user" "$(tail -n 5 /pkg/demo.log | tr '\n' '|')"
fi
check "the demo's store belongs to offca" test "$(stat -c %U "$W/demo/store/data.mdb" 2>/dev/null)" = offca
check "the demo's chain verifies" grep -q '^pc42.pem: OK' /pkg/demo.log

# Purge with an empty /var/lib/offca: everything goes, the user too.
apt-get purge -y -q offca >/pkg/purge.log 2>&1
check "apt-get purge offca succeeds" test $? -eq 0
check "after purge: /usr/bin/offca gone" test ! -e /usr/bin/offca
check "after purge: /etc/offca gone (conffiles purged)" test ! -e /etc/offca
check "after purge: /etc/cron.d/offca gone" test ! -e /etc/cron.d/offca
check "after purge: the empty /var/lib/offca removed" test ! -e /var/lib/offca
check "after purge: the offca user removed" test -z "$(getent passwd offca)"
check "after purge: the offca group removed" test -z "$(getent group offca)"

# Reinstall (the user and directory are made again), put a store in it, purge: the store and
# its owner are kept, and purge says so.
dpkg -i /pkg/offca.deb >/pkg/reinstall.log 2>&1
check "dpkg -i again recreates the user and /var/lib/offca" \
    test "$(stat -c '%a %U' /var/lib/offca 2>/dev/null)" = "700 offca"
runuser -u offca -- mkdir -m 0700 /var/lib/offca/store
runuser -u offca -- sh -c 'echo record >/var/lib/offca/store/data.mdb'
dpkg --purge offca >/pkg/purge2.log 2>&1
check "dpkg --purge with a store succeeds" test $? -eq 0
check "purge keeps a /var/lib/offca that holds a store" test -s /var/lib/offca/store/data.mdb
check "purge keeps the offca user that owns it" test "$(stat -c %U /var/lib/offca/store/data.mdb)" = offca
check "purge says where the store is kept" grep -q '/var/lib/offca is not empty' /pkg/purge2.log
check "the package is gone" test -z "$(dpkg-query -W -f='${Status}' offca 2>/dev/null | grep 'ok installed')"
done_
