#!/bin/bash
# crl publish over more CAs than one run handles (MAX_PUBLISH_CAS = 256): refused with the way
# out (--ca NAME per run), never silently skipping the CAs past the limit.
. "$(dirname "$0")/common.sh"
offca_setup offca-many
oc init >/dev/null
URI=$(oc key generate --label k --alg p256)
# one key for all (--reuse-key: only the number of CAs matters here)
for i in $(seq 1 257); do
    oc ca create-root "r$i" --key "$URI" --subject "CN=r$i" --reuse-key >/dev/null 2>&1 || break
done
check "257 CAs created" test "$(oc --json ca list | grep -o '"name"' | wc -l)" = 257
expect_rc 2 "crl publish over 257 CAs is refused" -- oc crl publish
expect_in "more than 256 active CAs" "the message names the limit"
expect_in "--ca NAME" "the message says how to publish them"
check "nothing was published by the refused run" test -z "$(ls "$T/pub")"
expect_rc 0 "one CA at a time works" -- oc crl publish --ca r257
check "r257.crl published" test -s "$T/pub/r257.crl"
t_done
