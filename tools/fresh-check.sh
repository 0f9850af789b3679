#!/bin/bash
# make fresh-check: prove the README's Quick start on a brand-new machine.
#
# Builds (or reuses from .cache/fresh/) a Debian 12 minbase root filesystem with mmdebstrap, the
# same shape as a newcomer's machine (minbase + git + make + ca-certificates, nothing else),
# clones the commit under test into /root/offca inside it (root's home, mode 0700, where a newcomer
# working as root puts it) and runs the two Quick start commands there, each exactly once:
#     make demo        then        make test
# It fails when either fails and prints the first error of the failing one, and when make test
# skipped anything there (after `make deps` nothing may be missing). Run as root.
#
# The cached tarball holds only the bare root filesystem (never anything `make deps` installs), so
# every run starts from the same fresh state; it is rebuilt when older than FRESH_MAX_AGE_DAYS
# (default 7) or when the apt sources change. Downloaded .deb files are kept in
# .cache/fresh/apt-archives to spare the archive: they change how fast packages arrive, not
# which packages get installed.
#
# Exit: 0 both commands succeeded; 1 one failed (its first error is printed); 2 usage or set-up
# error on this machine; 77 the Debian archive cannot be reached: the proof did NOT run (one line
# says so; .ci/run reports it, it is never counted as passed).
#
# Environment: FRESH_REV (commit to test, default HEAD), FRESH_KEEP=1 (keep the root filesystem
# under .cache/fresh/root-* for inspection), FRESH_SUITE (default bookworm).
#
# Package mode (`make deb-check`): with FRESH_DEB=FILE.deb the same fresh root filesystem gets
# the package instead of a clone, and tools/deb-check-inside.sh runs there as root: apt-get
# install of the .deb, offca --version, man -w offca, the demo as the offca user, purge (see
# that script). Same exit codes: 0 every check passed, 1 one failed (listed), 77 the archive
# cannot be reached.
set -uo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
CACHE="$REPO/.cache/fresh"
SUITE=${FRESH_SUITE:-bookworm}
REV=$(git -C "$REPO" rev-parse --verify "${FRESH_REV:-HEAD}^{commit}") || exit 2
MAX_AGE=${FRESH_MAX_AGE_DAYS:-7}
say() { echo "fresh-check: $*"; }
die() { say "$*" >&2; exit 2; }

[ "$(id -u)" = 0 ] || die "must run as root (it builds a root filesystem and chroots into it); run 'sudo make fresh-check'"
if ! command -v mmdebstrap >/dev/null; then
    sh "$REPO/tools/deps.sh" mmdebstrap || die "cannot install mmdebstrap; run 'apt-get install mmdebstrap'"
fi
[ -z "${FRESH_DEB:-}" ] && [ -n "$(git -C "$REPO" status --porcelain --untracked-files=no)" ] &&
    say "note: the work tree has uncommitted changes; they are NOT tested (testing commit ${REV:0:12})"

# The apt sources of this machine decide which archive the new machine uses.
SOURCES=""
for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list; do
    [ -s "$f" ] && grep -q "^[^#]*deb" "$f" && grep -qi 'debian' "$f" && SOURCES="$SOURCES $f"
done
[ -n "$SOURCES" ] || die "no Debian apt sources found in /etc/apt; cannot tell mmdebstrap which archive to use"
key=$(cat $SOURCES | sha256sum | cut -c1-12)
mkdir -p "$CACHE/apt-archives/partial" && chmod 700 "$CACHE"
TARBALL="$CACHE/rootfs-$SUITE-$key.tar"
find "$CACHE" -maxdepth 1 -name "rootfs-*.tar" -mtime +"$MAX_AGE" -delete

if [ ! -s "$TARBALL" ]; then
    say "building a $SUITE minbase root filesystem with mmdebstrap (cached in .cache/fresh/)"
    mirrors=()
    for f in $SOURCES; do mirrors+=("$f"); done
    if ! mmdebstrap --variant=minbase --include=git,make,ca-certificates \
            "$SUITE" "$CACHE/building.tar" "${mirrors[@]}" >"$CACHE/mmdebstrap.log" 2>&1; then
        rm -f "$CACHE/building.tar"
        if grep -qiE 'Could not resolve|Failed to fetch|Temporary failure|Connection (refused|timed out)|Unable to connect|Network is unreachable' "$CACHE/mmdebstrap.log"; then
            say "SKIPPED: the Debian archive cannot be reached ($(grep -m1 -oiE '(Could not resolve|Failed to fetch|Unable to connect)[^ ]* [^ ]*' "$CACHE/mmdebstrap.log")); the first-run proof did not run"
            exit 77
        fi
        say "mmdebstrap failed; the last lines of .cache/fresh/mmdebstrap.log:" >&2
        tail -n 15 "$CACHE/mmdebstrap.log" >&2
        exit 2
    fi
    mv "$CACHE/building.tar" "$TARBALL"
fi

ROOT=$(mktemp -d "$CACHE/root-XXXXXX")
cleanup() {
    if [ "${FRESH_KEEP:-0}" = 1 ]; then say "root filesystem kept in $ROOT"; else rm -rf "$ROOT"; fi
}
trap cleanup EXIT
tar -C "$ROOT" -xf "$TARBALL" || die "cannot unpack $TARBALL"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true
mkdir -p "$ROOT/fresh-log"
if [ -n "${FRESH_DEB:-}" ]; then
    [ -s "$FRESH_DEB" ] || die "FRESH_DEB=$FRESH_DEB: no such package; run 'make deb' first"
    mkdir -p "$ROOT/pkg"
    cp "$FRESH_DEB" "$ROOT/pkg/offca.deb" && cp "$REPO/tools/demo.sh" "$ROOT/pkg/demo.sh" &&
        cp "$REPO/tools/deb-check-inside.sh" "$ROOT/pkg/check.sh" || die "cannot copy the package into the root filesystem"
    printf '#!/bin/bash\nexport HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\nbash /pkg/check.sh >/fresh-log/deb.log 2>&1; echo $? >/fresh-log/deb.rc\n' >"$ROOT/fresh-run.sh"
else
    git clone -q --no-local --no-checkout "$REPO" "$ROOT/root/offca" || die "git clone into the root filesystem failed"
    git -C "$ROOT/root/offca" checkout -q --detach "$REV" || die "checkout of $REV failed"
    git -C "$ROOT/root/offca" remote remove origin
    chmod 700 "$ROOT/root"

# Inside: a private mount and PID namespace, so every mount and every process (HTTP servers the
# demo starts, a hung test) ends with it. The two commands run as a newcomer types them.
cat >"$ROOT/fresh-run.sh" <<'EOF'
#!/bin/bash
cd /root/offca || exit 2
export HOME=/root LANG=C.UTF-8 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
make demo >/fresh-log/demo.log 2>&1; echo $? >/fresh-log/demo.rc
[ "$(cat /fresh-log/demo.rc)" = 0 ] || exit 1
make test >/fresh-log/test.log 2>&1; echo $? >/fresh-log/test.rc
EOF
fi
chmod 755 "$ROOT/fresh-run.sh"
if [ -n "${FRESH_DEB:-}" ]; then
    say "testing the package ${FRESH_DEB##*/} in a fresh root filesystem: install, use, purge"
else
    say "testing commit ${REV:0:12} in a fresh root filesystem: make demo, then make test"
fi
unshare --mount --pid --fork --propagation private bash -c '
    R=$1; A=$2
    # The root filesystem is made a mount point of its own first: inside the chroot "/" must be
    # one, or the tests that open their own mount namespace (unshare --propagation) cannot run.
    # /dev is its own (a tmpfs with the usual nodes), so nothing the tests do there can touch
    # this machine'"'"'s /dev, and a damaged host /dev/null cannot break the fresh machine either.
    mount --bind "$R" "$R" &&
    mount -t proc proc "$R/proc" && mount --rbind /sys "$R/sys" &&
    mount -t tmpfs -o mode=0755,nosuid tmpfs "$R/dev" &&
    mknod -m 666 "$R/dev/null" c 1 3 && mknod -m 666 "$R/dev/zero" c 1 5 &&
    mknod -m 666 "$R/dev/full" c 1 7 && mknod -m 666 "$R/dev/random" c 1 8 &&
    mknod -m 666 "$R/dev/urandom" c 1 9 && mknod -m 666 "$R/dev/tty" c 5 0 &&
    mkdir -m 755 "$R/dev/pts" && mkdir -m 1777 "$R/dev/shm" &&
    mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts "$R/dev/pts" &&
    ln -s pts/ptmx "$R/dev/ptmx" && mount -t tmpfs -o mode=1777 tmpfs "$R/dev/shm" &&
    ln -s /proc/self/fd "$R/dev/fd" && ln -s /proc/self/fd/0 "$R/dev/stdin" &&
    ln -s /proc/self/fd/1 "$R/dev/stdout" && ln -s /proc/self/fd/2 "$R/dev/stderr" &&
    mount --bind "$A" "$R/var/cache/apt/archives" ||
        { echo "fresh-check: cannot mount /proc, /sys, /dev in the root filesystem" >&2; exit 2; }
    chroot "$R" /fresh-run.sh' _ "$ROOT" "$CACHE/apt-archives"
rc=$?
[ "$rc" = 2 ] && exit 2

first_error() { # the first line that looks like an error, with a little context
    local n
    n=$(grep -n -m1 -iE '(^|[^a-z])(error|fatal|not ok|FAIL)([^a-z]|$)' "$1" | cut -d: -f1)
    if [ -n "$n" ]; then sed -n "$((n > 3 ? n - 3 : 1)),$((n + 5))p" "$1"; else tail -n 15 "$1"; fi
}
L="$ROOT/fresh-log"
if [ -n "${FRESH_DEB:-}" ]; then
    deb_rc=$(cat "$L/deb.rc" 2>/dev/null || echo "?")
    cp "$L/deb.log" "$CACHE/last-deb.log" 2>/dev/null
    summary=$(grep -E '^# [0-9]+ passed, [0-9]+ failed' "$L/deb.log" | tail -n 1)
    case $deb_rc in
        0) say "ok: the package installed, ran and purged in a fresh $SUITE root filesystem (${summary#\# })"; exit 0 ;;
        100) say "SKIPPED: the Debian archive cannot be reached from the fresh root filesystem (apt-get failed); the package check did not run"
             tail -n 3 "$L/deb.log"; exit 77 ;;
    esac
    say "FAILED: the package check exited $deb_rc on the fresh machine (${summary:-no summary line}); failures:"
    grep -A1 -E '^not ok' "$L/deb.log" | head -n 40
    say "full log: .cache/fresh/last-deb.log"
    exit 1
fi
demo_rc=$(cat "$L/demo.rc" 2>/dev/null || echo "?")
if [ "$demo_rc" != 0 ]; then
    say "FAILED: 'make demo' exited $demo_rc on the fresh machine; first error:"
    first_error "$L/demo.log"
    cp "$L/demo.log" "$CACHE/last-demo.log"; say "full log: .cache/fresh/last-demo.log"
    exit 1
fi
test_rc=$(cat "$L/test.rc" 2>/dev/null || echo "?")
summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$L/test.log" | tail -n 1)
cp "$L/demo.log" "$CACHE/last-demo.log"; cp "$L/test.log" "$CACHE/last-test.log"
if [ "$test_rc" != 0 ]; then
    say "FAILED: 'make test' exited $test_rc on the fresh machine (${summary:-no summary line}); failures:"
    grep -E '^FAIL|^not ok' "$L/test.log" | head -n 20
    first_error "$L/test.log"
    say "full log: .cache/fresh/last-test.log"
    exit 1
fi
# On the fresh machine, after `make deps`, every tool a test needs is there: a skipped check
# means an install step is missing (or the test cannot run as a newcomer runs it), so it fails.
skips=$(grep -E '^# skip' "$L/test.log")
if [ -n "$skips" ]; then
    say "FAILED: 'make test' passed but skipped checks on the fresh machine (a missing package in DEPS_PKGS?):"
    echo "$skips"
    say "full log: .cache/fresh/last-test.log"
    exit 1
fi
say "ok: 'make demo' and 'make test' both succeeded on the first run in a fresh $SUITE root filesystem (make test there: $summary)"
exit 0
