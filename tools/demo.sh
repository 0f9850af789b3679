#!/bin/bash
# make demo: offca's main job end to end on a throwaway SoftHSM token under ./demo/ (never the
# system token directory). Root + issuing CA in the token, the chain verified by openssl;
# strongly mapped Intune device and user certificates; a revocation published as a CRL, served
# on 127.0.0.1 and checked by openssl verify -crl_download.
set -euo pipefail
# OFFCA_DEMO_DIR (default ./demo of the tree) and OFFCA_DEMO_TEMPLATES (default the shipped
# templates) let the package check run it with the installed offca, as the offca user.
OFFCA=$(realpath "${1:-build/offca}")
REPO=$(cd "$(dirname "$0")/.." && pwd)
D=${OFFCA_DEMO_DIR:-$REPO/demo}
TEMPLATES=${OFFCA_DEMO_TEMPLATES:-$REPO/templates/shipped}
MODULE=/usr/lib/softhsm/libsofthsm2.so
PORT=${OFFCA_DEMO_PORT:-18181}
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

rm -rf "$D"; mkdir -p "$D/tokens" "$D/pub" "$D/req"; chmod 700 "$D"
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$D" >"$D/softhsm2.conf"
export SOFTHSM2_CONF="$D/softhsm2.conf"
PIN=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')
(umask 077; echo "$PIN" >"$D/pin")
softhsm2-util --init-token --free --label offca-demo --so-pin "$PIN$PIN" --pin "$PIN" >/dev/null
cat >"$D/ca.toml" <<TOML
[store]
path = "$D/store"
[hsm]
module = "$MODULE"
token = "offca-demo"
pin_file = "$D/pin"
[publish]
dir = "$D/pub"
base_url = "http://127.0.0.1:$PORT"
[templates]
dir = "$TEMPLATES"
[ca.root]
crl_period = "180d"
crl_overlap = "30d"
[ca.issuing1]
crl_period = "7d"
crl_overlap = "2d"
TOML
export OFFCA_CONFIG="$D/ca.toml"
cd "$D"

step "1. store, token, keys (generated inside the token, never extractable)"
run "$OFFCA" init
ROOT=$("$OFFCA" key generate --label root --alg rsa3072); echo "root key:    $ROOT"
ISS=$("$OFFCA" key generate --label issuing1 --alg p384);  echo "issuing key: $ISS"

step "2. root and issuing CA (the issuing CA carries CDP + AIA: NPS checks it too)"
run "$OFFCA" ca create-root root --key "$ROOT" --subject 'CN=Contoso Root CA,O=Contoso\, Ltd.,DC=contoso,DC=com' --days 7300
run "$OFFCA" ca create-issuing issuing1 --parent root --key "$ISS" --subject 'CN=Contoso Issuing CA 1,O=Contoso\, Ltd.,DC=contoso,DC=com' --path-len 0
"$OFFCA" ca export root -o root.pem
"$OFFCA" ca export issuing1 -o issuing1.pem
run openssl verify -x509_strict -CAfile root.pem issuing1.pem

step "3. directory: SIDs from an AD export (Get-ADComputer/Get-ADUser | Export-Csv)"
cat >ad.csv <<'CSV'
"SamAccountName","UserPrincipalName","DNSHostName","SID"
"PC42$","","pc42.contoso.com","S-1-5-21-1004336348-1177238915-682003330-1105"
"PC43$","","pc43.contoso.com","S-1-5-21-1004336348-1177238915-682003330-1106"
"alice","alice@contoso.com","","S-1-5-21-1004336348-1177238915-682003330-2201"
CSV
run "$OFFCA" directory import ad.csv

step "4. Intune device certificate: DNS SAN + SID extension found in the directory"
openssl req -new -newkey rsa:2048 -nodes -keyout req/pc42.key -subj /CN=pc42.contoso.com \
    -addext subjectAltName=DNS:pc42.contoso.com -out req/pc42.csr 2>/dev/null
run "$OFFCA" sign --ca issuing1 --template intune-device --csr req/pc42.csr -o pc42.pem
openssl x509 -in pc42.pem -noout -text
openssl verify -x509_strict -CAfile root.pem -untrusted issuing1.pem pc42.pem

step "5. Intune user certificate: UPN + SID extension + SID SAN URL"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout req/alice.key \
    -subj /CN=alice -out req/alice.csr 2>/dev/null
run "$OFFCA" sign --ca issuing1 --template intune-user --csr req/alice.csr --san upn:alice@contoso.com -o alice.pem
openssl x509 -in alice.pem -noout -text
openssl verify -x509_strict -CAfile root.pem -untrusted issuing1.pem alice.pem

step "6. strong mapping strings for the device certificate (altSecurityIdentities)"
SERIAL=$(openssl x509 -in pc42.pem -noout -serial | cut -d= -f2)
run "$OFFCA" mapping "$SERIAL"

step "7. revoke the user certificate, publish CRLs, serve them on 127.0.0.1:$PORT"
USERIAL=$(openssl x509 -in alice.pem -noout -serial | cut -d= -f2)
run "$OFFCA" revoke --ca issuing1 --serial "$USERIAL" --reason keyCompromise
run "$OFFCA" crl publish
ls -l pub
python3 -m http.server "$PORT" --bind 127.0.0.1 --directory pub >/dev/null 2>&1 &
HTTP=$!
trap 'kill $HTTP 2>/dev/null || true' EXIT
for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.1; done
step "8. openssl verify -crl_download -crl_check: revoked user, good device"
printf '$ openssl verify -crl_download -crl_check -CAfile root.pem -untrusted issuing1.pem alice.pem\n'
openssl verify -crl_download -crl_check -CAfile root.pem -untrusted issuing1.pem alice.pem || true
printf '$ openssl verify -crl_download -crl_check -CAfile root.pem -untrusted issuing1.pem pc42.pem\n'
openssl verify -crl_download -crl_check -CAfile root.pem -untrusted issuing1.pem pc42.pem
run "$OFFCA" doctor
run "$OFFCA" audit verify

step "the chain check, once more"
printf '$ openssl verify -x509_strict -CAfile demo/root.pem demo/issuing1.pem\n'
openssl verify -x509_strict -CAfile root.pem issuing1.pem
