# Two machines in one test (sourced by t_offline_*.sh): an offline root machine and an issuing
# machine, each with its own store, publish dir and SoftHSM token (one softhsm2.conf, two
# tokens). R / I run the production offca on each; RT / IT the test build with $NOW as clock.
#   offline_setup        both machines, templates, the root CA 'root' and the issuing CA 'iss'
#                        (ca csr on I, ca sign-subordinate on R, ca import on I); $T/carry is
#                        the USB stick between them
#   crlnum FILE          the CRL number of a DER CRL
#   crltime FILE last|next   thisUpdate / nextUpdate of a DER CRL as seconds since the epoch
#   store_sum M          SHA-256 of machine M's data.mdb (r or i): "the store as it was"
#   flip_byte FILE OFF   invert the low bit of the byte at OFF (always a change, unlike writing
#                        a fixed byte that may already be there)
. "$(dirname "$0")/common.sh"
machine_conf() { # machine_conf DIR TOKEN
    mkdir -p "$T/$1/pub"
    cat >"$T/$1/ca.toml" <<TOML
[store]
path = "$T/$1/store"
[hsm]
module = "$SOFTHSM_MODULE"
token = "$2"
pin_file = "$T/pin"
[publish]
dir = "$T/$1/pub"
base_url = "http://127.0.0.1:${OFFCA_TEST_PORT:-18080}/pki"
[templates]
dir = "$T/templates"
TOML
}
R()  { "$OFFCA" -c "$T/r/ca.toml" "$@"; }
I()  { "$OFFCA" -c "$T/i/ca.toml" "$@"; }
RT() { env OFFCA_TEST_NOW="$NOW" "$OFFCA_TEST_BIN" -c "$T/r/ca.toml" "$@"; }
IT() { env OFFCA_TEST_NOW="$NOW" "$OFFCA_TEST_BIN" -c "$T/i/ca.toml" "$@"; }
RURI() { echo "pkcs11:token=offca-root;object=$1;type=private"; }
IURI() { echo "pkcs11:token=offca-iss;object=$1;type=private"; }
crlnum() { openssl crl -inform DER -in "$1" -noout -crlnumber | sed 's/.*=//'; }
crltime() { date -u -d "$(openssl crl -inform DER -in "$1" -noout -"${2}update" | sed 's/^[^=]*=//')" +%s; }
store_sum() { sha256sum <"$T/$1/store/data.mdb" | cut -c1-64; }
flip_byte() {
    local b; b=$(xxd -s "$2" -l 1 -p "$1")
    printf "%02x" $((0x$b ^ 0x01)) | xxd -r -p | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}
offline_setup() {
    softhsm_token offca-root
    softhsm2-util --init-token --free --label offca-iss --so-pin 87654321 --pin 1234 >/dev/null
    tmpl_reuse_copy "$REPO/templates/shipped" "$T/templates"
    machine_conf r offca-root
    machine_conf i offca-iss
    mkdir -p "$T/carry"
    R init >/dev/null && I init >/dev/null || return 1
    R key generate --label root --alg p256 >/dev/null || return 1
    I key generate --label iss --alg p256 >/dev/null || return 1
    R ca create-root root --key "$(RURI root)" --subject 'CN=Offline Root,O=Contoso' >/dev/null ||
        return 1
    I ca csr iss --key "$(IURI iss)" --subject 'CN=Issuing CA,O=Contoso' -o "$T/iss.csr" \
        >/dev/null || return 1
}
