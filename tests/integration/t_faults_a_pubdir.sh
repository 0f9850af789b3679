#!/bin/bash
# Issue 11.8: the publish directory is hostile ground. `.offca-publish.lock` was followed when it
# was a symlink (root created a file at the link's target, outside the publish dir); a published
# file replaced by a symlink to a FIFO hung cron; a lock file left by a run as root locked the
# offca user out of cron for good. Now: overlapping runs lock the STORE directory (no file in the
# publish dir), every file there is read with O_NOFOLLOW|O_NONBLOCK (a link or FIFO is replaced,
# never followed), the directory must be owned by root or the running user and not group/world-
# writable. Waiting is observed through /proc/locks (a blocked waiter), not with a timed sleep.
. "$(dirname "$0")/common.sh"
[ "$(id -u)" = 0 ] || skip_all "needs root (files owned by another user, setpriv)"
offca_setup fa-pub
# Every run is bounded: an offca that reads a FIFO planted in the publish dir would hang.
oc() { timeout 60 "$OFFCA" -c "$T/ca.toml" "$@"; }
URI() { echo "pkcs11:token=fa-pub;object=$1;type=private"; }
oc init >/dev/null
oc key generate --label iss --alg p256 >/dev/null
oc ca create-root iss --key "$(URI iss)" --subject 'CN=Pub iss' >/dev/null
expect_rc 0 "setup: first publish" -- oc crl publish
num() { # CRL number of a regular file (0 for a link or FIFO: reading one could block)
    [ -f "$1" ] && [ ! -L "$1" ] || { echo 0; return; }
    local h; h=$(openssl crl -inform DER -in "$1" -noout -crlnumber | cut -d= -f2); echo $((16#${h#0x})); }
mkdir -p "$T/outside"

# ---- a symlinked lock file is never followed (nor created) ----
rm -f "$T/pub/.offca-publish.lock"   # an older offca left one; an attacker swaps it for a link
ln -s "$T/outside/victim" "$T/pub/.offca-publish.lock"
expect_rc 0 "lock symlink: crl publish exits 0" -- oc crl publish --force
check "lock symlink: nothing created at the link's target" test ! -e "$T/outside/victim"
check "lock symlink: the link is left as it was" test -L "$T/pub/.offca-publish.lock"
rm "$T/pub/.offca-publish.lock"

# ---- a published file replaced by a symlink to a FIFO, or by a FIFO: replaced, not read ----
N=$(num "$T/pub/iss.crl")
mkfifo "$T/outside/fifo"
rm "$T/pub/iss.crl"; ln -s "$T/outside/fifo" "$T/pub/iss.crl"
expect_rc 0 "CRL symlinked to a FIFO: crl publish exits 0" -- oc crl publish
check "CRL symlinked to a FIFO: iss.crl is a regular file again" \
    bash -c "test -f '$T/pub/iss.crl' && test ! -L '$T/pub/iss.crl'"
check "CRL symlinked to a FIFO: republished with a higher number" test "$(num "$T/pub/iss.crl")" -gt "$N"
check "CRL symlinked to a FIFO: the FIFO is untouched" test -p "$T/outside/fifo"
rm "$T/pub/iss.crt"; mkfifo "$T/pub/iss.crt"
expect_rc 0 "CA certificate replaced by a FIFO: crl publish exits 0" -- oc crl publish
oc ca export iss -o "$T/iss.pem"; openssl x509 -in "$T/iss.pem" -outform DER -out "$T/iss.der"
check "CA certificate replaced by a FIFO: iss.crt is the CA certificate again" \
    bash -c "test -f '$T/pub/iss.crt' && cmp -s '$T/pub/iss.crt' '$T/iss.der'"
printf 'not the CA\n' >"$T/outside/other"
rm "$T/pub/iss.crt"; ln -s "$T/outside/other" "$T/pub/iss.crt"
expect_rc 0 "CA certificate symlinked outside: crl publish exits 0" -- oc crl publish
check "CA certificate symlinked outside: the link is replaced by the certificate" \
    bash -c "test -f '$T/pub/iss.crt' && test ! -L '$T/pub/iss.crt'"
check "CA certificate symlinked outside: the target is unchanged" \
    test "$(cat "$T/outside/other")" = "not the CA"
rm "$T/pub/iss.crl"; mkfifo "$T/pub/iss.crl"
expect_rc 1 "doctor with a FIFO as the CRL: an error, no hang" -- oc doctor
expect_in "not a regular file" "doctor with a FIFO: the finding says what is wrong"
rm "$T/pub/iss.crl"
expect_rc 0 "after removing the FIFO: crl publish republishes" -- oc crl publish

# ---- the publish directory itself: owner and mode ----
P0=$(cd "$T/pub" && md5sum *)
chmod 0777 "$T/pub"
expect_rc 4 "publish dir 0777: refused (exit 4)" -- oc crl publish --force
expect_in "publish dir $T/pub: directory mode: 0777 lets anyone write it" "publish dir 0777: the message names the mode"
expect_in "chmod go-w $T/pub" "publish dir 0777: the message gives the fix"
chmod 0775 "$T/pub"
expect_rc 4 "publish dir 0775: refused (exit 4)" -- oc crl publish --force
expect_in "lets its group write it" "publish dir 0775: the message names the group"
chmod 0755 "$T/pub"; chown 65534 "$T/pub"
expect_rc 4 "publish dir owned by uid 65534: refused (exit 4)" -- oc crl publish --force
expect_in "owned by uid 65534" "publish dir foreign: the message names the owner"
chown 0 "$T/pub"
check "refused runs wrote nothing" test "$(cd "$T/pub" && md5sum *)" = "$P0"

# ---- a lock file left by a run as root does not lock the offca user out ----
# The one-off root run of an older offca left .offca-publish.lock 0600 root in the publish dir;
# the offca user (here nobody) owns the store, the token and the publish dir.
(umask 077; : >"$T/pub/.offca-publish.lock")
chown -R 65534 "$T/store" "$T/pub" "$T/tokens" "$T/pin"
chown 0 "$T/pub/.offca-publish.lock"
chmod 0711 "$T"
asoffca() { timeout 60 setpriv --reuid=65534 --regid=65534 --clear-groups "$OFFCA" -c "$T/ca.toml" "$@"; }
expect_rc 0 "root's lock file left behind: the offca user's cron run works" -- asoffca crl publish --force
expect_in "iss: published CRL" "root's lock file left behind: the offca user published"
expect_rc 0 "root's lock file left behind: and again the next hour" -- asoffca crl publish --force
P1=$(cd "$T/pub" && ls -ln)
expect_rc 4 "root running on the offca user's store: refused (exit 4)" -- oc crl publish --force
expect_in "owned by uid 65534 (nobody)" "root on offca's store: the message names the owner"
expect_in "runuser -u USER -- offca" "root on offca's store: the message says to run as that user"
check "root on offca's store: nothing left in the publish dir" test "$(cd "$T/pub" && ls -ln)" = "$P1"

# ---- overlapping runs still wait for each other (the lock is on the store directory) ----
mkfifo "$T/hold"
flock "$T/store" -c "cat '$T/hold' >/dev/null" &
holder=$!
for _ in $(seq 1 200); do grep -Eq "FLOCK +ADVISORY +WRITE +$holder " /proc/locks && break; sleep 0.05; done
(exec setpriv --reuid=65534 --regid=65534 --clear-groups "$OFFCA" -c "$T/ca.toml" crl publish --force \
    >"$T/w.out" 2>"$T/w.err") &
waiter=$!
blocked=0
for _ in $(seq 1 200); do   # until the kernel lists offca as blocked on the lock (10 s bound)
    if grep -Eq -- "-> FLOCK +ADVISORY +WRITE +$waiter " /proc/locks; then blocked=1; break; fi
    kill -0 "$waiter" 2>/dev/null || break
    sleep 0.05
done
check "overlap: the second run blocks on the store lock while it is held" test "$blocked" = 1
check "overlap: and has not finished" kill -0 "$waiter"
echo go >"$T/hold"; wait "$holder"
wait "$waiter"; rc=$?
check "overlap: the waiting run completes once the lock is released (exit $rc)" test "$rc" = 0
chown -R 0 "$T/store" "$T/pub" "$T/tokens" "$T/pin"; chmod 0700 "$T"
t_done
