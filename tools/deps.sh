#!/bin/sh
# Install the Debian 12 packages offca needs, only those missing. Idempotent and quick when all
# are present. Not root: print the apt-get line to run instead and fail.
# Usage: tools/deps.sh PKG...
set -eu
missing=""
for p in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
    echo "offca: missing Debian packages:$missing" >&2
    echo "offca: run as root: apt-get update && apt-get install -y$missing" >&2
    exit 1
fi
echo "offca: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
