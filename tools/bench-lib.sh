# tools/bench-lib.sh — helpers the benchmark scripts share (source it; bash).
#   median              read numbers on stdin, print their median
#   bench_token_setup   a throwaway SoftHSM token, ca.toml, templates, oc(), the store and a root CA, all
#                       under $W (uses $W, $PIN, $MODULE, $REPO, $OFFCA); exports SOFTHSM2_CONF
#   engine_cnf FILE     write an OPENSSL_CONF that loads the pkcs11 engine ($ENGINE) for the
#                       SoftHSM module ($MODULE). The engine must come from OPENSSL_CONF at
#                       start-up: loading it again from `openssl ca -config` after -engine fails
#                       with "dynamic_load:init failed", so the CA's own openssl.cnf has no engine.
median() { sort -n | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
engine_cnf() {
    cat >"$1" <<CNF
openssl_conf = openssl_init
[openssl_init]
engines = engine_section
[engine_section]
pkcs11 = pkcs11_section
[pkcs11_section]
engine_id = pkcs11
dynamic_path = $ENGINE
MODULE_PATH = $MODULE
init = 0
CNF
}
bench_token_setup() {
    printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$W" >"$W/softhsm2.conf"
    export SOFTHSM2_CONF="$W/softhsm2.conf"
    softhsm2-util --init-token --free --label offca-bench --so-pin 1${PIN} --pin $PIN >/dev/null
    (umask 077; echo $PIN >"$W/pin")
    # bench/mkcsrs reuses a few keys round-robin (key generation is not measured): the bench's
    # templates are the shipped ones with key.allow_reuse = true
    rm -rf "$W/templates"; mkdir -p "$W/templates"
    for f in "$REPO"/templates/shipped/*.toml; do
        if grep -q '^\[key\]' "$f"; then sed 's/^\[key\]$/[key]\nallow_reuse = true/' "$f"
        else cat "$f"; printf '\n[key]\nallow_reuse = true\n'; fi >"$W/templates/${f##*/}"
    done
    cat >"$W/ca.toml" <<TOML
[store]
path = "$W/store"
[hsm]
module = "$MODULE"
token = "offca-bench"
pin_file = "$W/pin"
[publish]
dir = "$W/pub"
base_url = "http://127.0.0.1:18299/pki"
[templates]
dir = "$W/templates"
TOML
    oc() { "$OFFCA" -c "$W/ca.toml" "$@"; }
    oc init >/dev/null
    oc ca create-root root --key "$(oc key generate --label root --alg rsa2048)" \
        --subject 'CN=Bench Root CA,O=offca bench' --days 3650 >/dev/null
}
