# Shared setup for offca integration scripts: a throwaway SoftHSM token and a ca.toml in $T.
#   offca_setup LABEL    token + $T/ca.toml (store $T/store, publish $T/pub, shipped templates)
#   oc ARGS...           run offca with that config
#   tmpl_reuse_copy SRC DST  copy the templates of SRC to DST with key.allow_reuse = true: the
#                        scripts certify one test key to many subjects (key generation is not
#                        what they test); t_keygate.sh uses the shipped templates as they are
. "$(dirname "$0")/lib.sh"
REPO=$(cd "$(dirname "$0")/../.." && pwd)
tmpl_reuse_copy() {
    mkdir -p "$2"
    for f in "$1"/*.toml; do
        if grep -q '^\[key\]' "$f"; then
            sed 's/^\[key\]$/[key]\nallow_reuse = true/' "$f" >"$2/${f##*/}"
        else
            { cat "$f"; printf '\n[key]\nallow_reuse = true\n'; } >"$2/${f##*/}"
        fi
    done
}
offca_setup() {
    softhsm_token "$1"
    mkdir -p "$T/pub"
    tmpl_reuse_copy "$REPO/templates/shipped" "$T/templates"
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
dir = "$T/templates"
TOML
}
oc() { "$OFFCA" -c "$T/ca.toml" "$@"; }
