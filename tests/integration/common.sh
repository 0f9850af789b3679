# Shared setup for offca integration scripts: a throwaway SoftHSM token and a ca.toml in $T.
#   offca_setup LABEL    token + $T/ca.toml (store $T/store, publish $T/pub, shipped templates)
#   oc ARGS...           run offca with that config
. "$(dirname "$0")/lib.sh"
REPO=$(cd "$(dirname "$0")/../.." && pwd)
offca_setup() {
    softhsm_token "$1"
    mkdir -p "$T/pub"
    cat >"$T/ca.toml" <<TOML
[store]
path = "$T/store"
[hsm]
module = "$SOFTHSM_MODULE"
token = "$1"
pin_file = "$T/pin"
[publish]
dir = "$T/pub"
base_url = "http://127.0.0.1:${OFFCA_TEST_PORT:-18080}/pki"
[templates]
dir = "$REPO/templates/shipped"
TOML
}
oc() { "$OFFCA" -c "$T/ca.toml" "$@"; }
