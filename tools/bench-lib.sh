# tools/bench-lib.sh — helpers the benchmark scripts share (source it; bash).
#   median              read numbers on stdin, print their median
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
