# Relying parties that run as servers, shared by the scripts that need them (source it after
# common.sh or offline_lib.sh). Both are stopped when the script exits, before $T is removed.
# Call start_http and rad_start in the script's own shell (directly or through check), never
# inside expect_rc or $(...): a subshell would keep HTTP_PID / RAD_PID and the port to itself.
#   start_http PUBDIR     python3's http.server on 127.0.0.1 at a port the kernel picks (so no
#                         two runs on the machine collide), serving $T/www with www/pki -> PUBDIR;
#                         exports OFFCA_TEST_PORT (base_url in offca_setup / offline_setup then
#                         points at it) and sets HTTP_URL (.../pki); each request is one line of
#                         $T/http.log, written before the response. 1 when it does not start.
#   rad_client_template DIR   the template radius-client (EKU clientAuth: OpenSSL checks the
#                         purpose "sslclient") into the templates directory DIR
#   rad_cadir DIR ROOT.pem CRL...   FreeRADIUS's ca_path: the root certificate and every CRL
#                         (DER or PEM) as PEM, then `openssl rehash` (HASH.0, HASH.rN). Only the
#                         root: FreeRADIUS verifies with OpenSSL's partial-chain flag, so a CA
#                         certificate found there would end the chain as its trust anchor
#   rad_start CADIR KEY CHAIN LOG   `freeradius -X` with one EAP-TLS virtual server (check_crl
#                         and check_all_crl on, ca_path CADIR, server key KEY and chain CHAIN) on
#                         a free UDP port (RAD_PORT; another port when the bind fails), its
#                         output in LOG; 0 once it is "Ready to process requests", else 1
#   rad_stop              stop it (and wait for it)
#   rad_eap NAME          an EAP-TLS logon with $T/NAME.chain.pem (the client's leaf and its
#                         issuing CA certificate, what a client sends) and $T/NAME.key; the
#                         exit code of eapol_test (0: Access-Accept), its output $T/NAME.eap.log
HTTP_PID=; RAD_PID=
trap '[ -n "$HTTP_PID" ] && kill "$HTTP_PID" 2>/dev/null; [ -n "$RAD_PID" ] && kill "$RAD_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$T"' EXIT
start_http() {
    local port
    command -v python3 >/dev/null || return 1
    mkdir -p "$T/www" "$1"; ln -sfn "$1" "$T/www/pki"
    python3 -u -m http.server 0 --bind 127.0.0.1 --directory "$T/www" >"$T/http.log" 2>&1 &
    HTTP_PID=$!
    wait_line "$T/http.log" '^Serving HTTP on 127\.0\.0\.1 port [0-9]' "$HTTP_PID" 60 || return 1
    port=$(sed -n 's/^Serving HTTP on 127\.0\.0\.1 port \([0-9]*\).*/\1/p' "$T/http.log")
    [ -n "$port" ] || return 1
    export OFFCA_TEST_PORT=$port
    HTTP_URL="http://127.0.0.1:$port/pki"
}
rad_client_template() {
    cat >"$1/radius-client.toml" <<'TOML'
name = "radius-client"
description = "EAP-TLS client (test)"
key_usage = ["digitalSignature", "keyEncipherment"]
sid = "forbidden"
[validity]
default_days = 365
[eku]
required = ["clientAuth"]
[subject]
allowed = ["CN"]
required = ["CN"]
[san]
allowed = ["dns"]
required = ["dns"]
[key]
allow_reuse = true
TOML
}
rad_cadir() {
    local dir=$1 root=$2 f n=0; shift 2
    rm -rf "$dir"; mkdir -p "$dir"
    openssl x509 -in "$root" -out "$dir/root.pem" 2>/dev/null ||
        openssl x509 -inform DER -in "$root" -out "$dir/root.pem" || return 1
    for f in "$@"; do
        n=$((n + 1))
        openssl crl -in "$f" -out "$dir/crl$n.pem" 2>/dev/null ||
            openssl crl -inform DER -in "$f" -out "$dir/crl$n.pem" || return 1
    done
    openssl rehash "$dir"
}
rad_conf() { # rad_conf CADIR KEY CHAIN PORT: $T/raddb/radiusd.conf
    mkdir -p "$T/raddb" "$T/rlog" "$T/run"
    cp /etc/freeradius/3.0/dictionary "$T/raddb/"
    cat >"$T/raddb/radiusd.conf" <<CONF
prefix = /usr
localstatedir = $T
logdir = $T/rlog
raddbdir = $T/raddb
confdir = $T/raddb
run_dir = $T/run
libdir = /usr/lib/freeradius
pidfile = $T/run/radiusd.pid
max_request_time = 30
log {
  destination = files
  file = $T/rlog/radius.log
}
security {
  allow_core_dumps = no
}
client local {
  ipaddr = 127.0.0.1
  secret = testing123
}
thread pool {
  start_servers = 1
  max_servers = 1
  min_spare_servers = 1
  max_spare_servers = 1
}
modules {
  eap {
    default_eap_type = tls
    timer_expire = 60
    max_sessions = 16
    tls-config tls-common {
      private_key_file = $2
      certificate_file = $3
      ca_path = $1
      check_crl = yes
      check_all_crl = yes
      cipher_list = "DEFAULT"
      tls_min_version = "1.2"
      tls_max_version = "1.2"
    }
    tls {
      tls = tls-common
    }
  }
}
server default {
  listen {
    type = auth
    ipaddr = 127.0.0.1
    port = $4
  }
  authorize {
    eap {
      ok = return
    }
  }
  authenticate {
    eap
  }
}
CONF
}
rad_start() {
    local p
    command -v freeradius >/dev/null || return 1
    for p in $(shuf -i 18400-18999 -n 5); do
        rad_conf "$1" "$2" "$3" "$p"
        freeradius -X -d "$T/raddb" >"$4" 2>&1 &
        RAD_PID=$!
        if wait_line "$4" 'Ready to process requests' "$RAD_PID" 120; then
            RAD_PORT=$p
            return 0
        fi
        rad_stop
        grep -q 'Failed binding' "$4" || return 1   # only a taken port is worth another try
    done
    return 1
}
rad_stop() {
    [ -n "$RAD_PID" ] || return 0
    kill "$RAD_PID" 2>/dev/null; wait "$RAD_PID" 2>/dev/null; RAD_PID=
}
rad_eap() {
    cat >"$T/$1.eap.conf" <<EAP
network={
    key_mgmt=IEEE8021X
    eap=TLS
    identity="$1"
    client_cert="$T/$1.chain.pem"
    private_key="$T/$1.key"
    eapol_flags=0
    phase1="tls_disable_tlsv1_3=1"
}
EAP
    eapol_test -c "$T/$1.eap.conf" -a 127.0.0.1 -p "$RAD_PORT" -s testing123 -t 10 >"$T/$1.eap.log" 2>&1
}
