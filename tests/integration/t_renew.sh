#!/bin/bash
# Issue 12, CA renewal: leaves under key 0, a same-key renewal, more leaves, a new-key renewal,
# more leaves; every leaf verified by openssl (-crl_download -crl_check over HTTP, through its
# own CDP), GnuTLS and NSS during the overlap; one revoked leaf per key generation, reported
# revoked and listed only on its own generation's CRL; the CA Version / Previous CA Certificate
# Hash bytes; the refusals of 'ca renew' (message, exit code, store and publish dir unchanged).
. "$(dirname "$0")/common.sh"
. "$(dirname "$0")/relying.sh"
start_http "$T/pub" || skip_all "the HTTP server (python3 -m http.server) did not start"
offca_setup renew
URI() { echo "pkcs11:token=renew;object=$1;type=private"; }
URL=$HTTP_URL
ser() { openssl x509 -in "$1" -noout -serial | cut -d= -f2; }
der2pem() { openssl x509 -inform DER -in "$1" -out "$2"; }
ext_hex() { # ext_hex CERT.pem OID: the extnValue of OID, hex
    openssl asn1parse -in "$1" | awk -v oid="$2" '
        $0 ~ ":"oid"$" {want=1; next}
        want && /OCTET STRING/ {sub(/.*\[HEX DUMP\]:/, ""); print tolower($0); exit}'
}
crl_ext_hex() { # crl_ext_hex CRL.der OID
    openssl asn1parse -inform DER -in "$1" | awk -v oid="$2" '
        $0 ~ ":"oid"$" {want=1; next}
        want && /OCTET STRING/ {sub(/.*\[HEX DUMP\]:/, ""); print tolower($0); exit}'
}
leaf() { # leaf NAME: a vpn-server certificate $T/NAME.pem issued by iss
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/$1.key" \
        -subj "/CN=$1" -out "$T/$1.csr" 2>/dev/null
    oc sign --ca iss --template vpn-server --csr "$T/$1.csr" --san "dns:$1.example" \
        -o "$T/$1.pem" >/dev/null
}
verify() { # verify LEAF ISSUING-CERT: every CRL downloaded over HTTP through the CDPs
    openssl verify -crl_download -crl_check -CAfile "$T/root.pem" -untrusted "$2" "$1"
}

oc init >/dev/null
for k in root iss iss2 other; do oc key generate --label $k --alg p256 >/dev/null; done
oc ca create-root root --key "$(URI root)" --subject 'CN=Renew Root' >/dev/null
oc ca create-issuing iss --parent root --key "$(URI iss)" --subject 'CN=Renew Iss' \
    --days 1000 >/dev/null
oc ca export root -o "$T/root.pem"; oc ca export iss -o "$T/iss0.pem"
leaf a0; leaf b0

# ---- same-key renewal ----
expect_rc 0 "ca renew --same-key" -- oc ca renew iss --same-key
expect_in "cert index 1, key index 0 (CA Version V1.0)" "summary names the indexes"
expect_in "published:  iss(1).crt; signs iss.crl" "summary names the files"
der2pem "$T/pub/iss(1).crt" "$T/iss1.pem"
check "iss(1).crt is what 'ca export' gives now" \
    bash -c "oc() { '$OFFCA' -c '$T/ca.toml' \"\$@\"; }; cmp -s <(oc ca export iss) '$T/iss1.pem'"
check "iss.crt still holds the first certificate" \
    cmp -s <(openssl x509 -inform DER -in "$T/pub/iss.crt") "$T/iss0.pem"
skid() { openssl x509 -in "$1" -noout -ext subjectKeyIdentifier | tail -1 | tr -d ' '; }
check "same key, same SKID" test "$(skid "$T/iss0.pem")" = "$(skid "$T/iss1.pem")"
check "CA Version of the first certificate is V0.0 (020100)" \
    test "$(ext_hex "$T/iss0.pem" 1.3.6.1.4.1.311.21.1)" = 020100
check "CA Version of the renewed one is V1.0 (020101)" \
    test "$(ext_hex "$T/iss1.pem" 1.3.6.1.4.1.311.21.1)" = 020101
H0=$(openssl x509 -in "$T/iss0.pem" -outform DER | openssl dgst -sha1 -r | cut -d' ' -f1)
check "Previous CA Certificate Hash = 0414 + SHA-1 of the previous certificate" \
    test "$(ext_hex "$T/iss1.pem" 1.3.6.1.4.1.311.21.2)" = "0414$H0"
check "the first certificate has no Previous CA Certificate Hash" \
    test -z "$(ext_hex "$T/iss0.pem" 1.3.6.1.4.1.311.21.2)"
check "renewed certificate is signed by the root" \
    openssl verify -CAfile "$T/root.pem" "$T/iss1.pem"
leaf a1; leaf b1
check "a leaf issued after the renewal names iss(1).crt in its AIA" \
    bash -c "openssl x509 -in '$T/a1.pem' -noout -text | grep -q 'CA Issuers - URI:$URL/iss(1).crt'"
check "and iss.crl in its CDP (same key)" \
    bash -c "openssl x509 -in '$T/a1.pem' -noout -text | grep -q 'URI:$URL/iss.crl'"

# ---- new-key renewal ----
expect_rc 0 "ca renew --new-key" -- oc ca renew iss --new-key "$(URI iss2)"
expect_in "cert index 2, key index 2 (CA Version V2.2)" "key index = new cert index"
der2pem "$T/pub/iss(2).crt" "$T/iss2.pem"
check "CA Version V2.2 = 0203020002" \
    test "$(ext_hex "$T/iss2.pem" 1.3.6.1.4.1.311.21.1)" = 0203020002
H1=$(openssl x509 -in "$T/iss1.pem" -outform DER | openssl dgst -sha1 -r | cut -d' ' -f1)
check "its Previous CA Certificate Hash is that of certificate 1" \
    test "$(ext_hex "$T/iss2.pem" 1.3.6.1.4.1.311.21.2)" = "0414$H1"
check "new key, new SKID" test "$(skid "$T/iss1.pem")" != "$(skid "$T/iss2.pem")"
leaf a2; leaf b2
check "a leaf under the new key names iss(2).crl in its CDP" \
    bash -c "openssl x509 -in '$T/a2.pem' -noout -text | grep -q 'URI:$URL/iss(2).crl'"
check "and iss(2).crt in its AIA" \
    bash -c "openssl x509 -in '$T/a2.pem' -noout -text | grep -q 'CA Issuers - URI:$URL/iss(2).crt'"
expect_rc 0 "ca show lists the three generations" -- oc ca show iss
expect_in "generation 1: cert index 1, key index 0" "generation 1 shown"
expect_in "CRL iss(2).crl, certificate iss(2).crt" "generation 2 files shown"
check "generations 0 and 1 are superseded, 2 active" \
    test "$(grep -c ', superseded$' <<<"$OUT")" = 2 -a "$(grep -c ', active$' <<<"$OUT")" = 1

expect_rc 0 "list --csv" -- oc list --ca iss --csv
gen_of() { python3 -c 'import csv,sys; print([r["generation"] for r in csv.DictReader(sys.stdin) if r["serial"].lower().replace(":","")==sys.argv[1].lower()][0])' "$1" <<<"$OUT"; }
check "list --csv: a0 (key 0) is generation 0, a2 (key 2) generation 2" \
    test "$(gen_of "$(ser "$T/a0.pem")") $(gen_of "$(ser "$T/a2.pem")")" = "0 2"
expect_rc 0 "ca list" -- oc ca list
check "ca list shows the active generation V2.2" grep -q '^iss  *active  *root  *V2.2 ' <<<"$OUT"

# ---- every generation's CRL ----
expect_rc 0 "crl publish" -- oc crl publish
expect_in "iss: published CRL 1" "key 0 publishes iss.crl"
expect_in "iss(2): published CRL 1" "key 2 publishes iss(2).crl"
check "CRL of key 0 carries CA Version V1.0 (its newest certificate)" \
    test "$(crl_ext_hex "$T/pub/iss.crl" 1.3.6.1.4.1.311.21.1)" = 020101
check "CRL of key 2 carries key index 2 (V2.2)" \
    test "$(crl_ext_hex "$T/pub/iss(2).crl" 1.3.6.1.4.1.311.21.1)" = 0203020002
expect_rc 0 "iss.crl is signed by key 0" -- \
    openssl crl -inform DER -in "$T/pub/iss.crl" -CAfile "$T/iss1.pem" -noout
expect_rc 0 "iss(2).crl is signed by key 2" -- \
    openssl crl -inform DER -in "$T/pub/iss(2).crl" -CAfile "$T/iss2.pem" -noout

for l in a0 b0 a1 b1; do
    expect_rc 0 "openssl -crl_download: $l (key 0) verifies through iss.crl" -- verify "$T/$l.pem" "$T/iss1.pem"
done
for l in a2 b2; do
    expect_rc 0 "openssl -crl_download: $l (key 2) verifies through iss(2).crl" -- verify "$T/$l.pem" "$T/iss2.pem"
done
check "the key 2 CRL was fetched over HTTP" grep -q '"GET /pki/iss(2).crl' "$T/http.log"

# ---- one revoked leaf per generation ----
for l in a0 a1 a2; do
    expect_rc 0 "revoke $l" -- oc revoke --ca iss --serial "$(ser "$T/$l.pem")" --reason keyCompromise
done
expect_rc 0 "publish after the revocations" -- oc crl publish
expect_in "iss: published CRL 2" "key 0 publishes CRL 2"
expect_in "iss(2): published CRL 2" "key 2 publishes CRL 2"
L0=$(openssl crl -inform DER -in "$T/pub/iss.crl" -noout -text)
L2=$(openssl crl -inform DER -in "$T/pub/iss(2).crl" -noout -text)
check "iss.crl lists a0 and a1 (both signed by key 0)" bash -c \
    "grep -q 'Serial Number: $(ser "$T/a0.pem")' <<<'$L0' && grep -q 'Serial Number: $(ser "$T/a1.pem")' <<<'$L0'"
check "iss.crl does not list a2" bash -c "! grep -q 'Serial Number: $(ser "$T/a2.pem")' <<<'$L0'"
check "iss(2).crl lists a2 only" bash -c \
    "grep -q 'Serial Number: $(ser "$T/a2.pem")' <<<'$L2' && test \$(grep -c 'Serial Number' <<<'$L2') = 1"
for l in a0 a1; do
    expect_rc 2 "openssl: $l reported revoked" -- verify "$T/$l.pem" "$T/iss1.pem"
    expect_in "certificate revoked" "$l: certificate revoked"
done
expect_rc 2 "openssl: a2 reported revoked" -- verify "$T/a2.pem" "$T/iss2.pem"
expect_in "certificate revoked" "a2: certificate revoked"
for l in b0 b1; do
    expect_rc 0 "openssl: $l still good" -- verify "$T/$l.pem" "$T/iss1.pem"
done
expect_rc 0 "openssl: b2 still good" -- verify "$T/b2.pem" "$T/iss2.pem"

# ---- GnuTLS: each leaf with its own generation's CRL ----
openssl crl -inform DER -in "$T/pub/iss.crl" -out "$T/crl0.pem"
openssl crl -inform DER -in "$T/pub/iss(2).crl" -out "$T/crl2.pem"
gt() { # gt LEAF ISSUING CRL
    cat "$1" "$2" "$T/root.pem" >"$T/gt.pem"
    certtool --verify --load-ca-certificate "$T/root.pem" --load-crl "$3" --infile "$T/gt.pem" 2>&1
}
for l in b0:iss1:crl0 b1:iss1:crl0 b2:iss2:crl2; do
    IFS=: read -r n i c <<<"$l"
    check "GnuTLS: $n verifies with its generation's CRL" bash -c "$(declare -f gt); T='$T'; gt '$T/$n.pem' '$T/$i.pem' '$T/$c.pem' | grep -q 'Chain verification output: Verified'"
done
for l in a0:iss1:crl0 a1:iss1:crl0 a2:iss2:crl2; do
    IFS=: read -r n i c <<<"$l"
    check "GnuTLS: $n is revoked" bash -c "$(declare -f gt); T='$T'; gt '$T/$n.pem' '$T/$i.pem' '$T/$c.pem' | grep -q 'revoked'"
done

# ---- NSS: root trusted, the CRL of the leaf's own generation imported. NSS keeps ONE CRL per
# issuer name in a database, and every generation has the same name, so each generation gets a
# database of its own here (an NSS client that imports CRLs statically has the same limit) ----
nssdb() { # nssdb DIR CRL...
    mkdir -p "$1"; certutil -N -d "sql:$1" --empty-password
    certutil -A -d "sql:$1" -n root -t "CT,C,C" -i "$T/root.pem"
    local d=$1; shift
    for f in "$@"; do crlutil -I -d "sql:$d" -i "$f" -B >/dev/null 2>&1; done
}
nssdb "$T/nss0" "$T/pub/iss.crl" "$T/pub/root.crl"
nssdb "$T/nss2" "$T/pub/iss(2).crl" "$T/pub/root.crl"
nss() { vfychain -d "sql:$1" -u 1 -a "$2" -a "$3" 2>&1; }
for l in b0:iss1:nss0 b1:iss1:nss0 b2:iss2:nss2; do
    IFS=: read -r n i d <<<"$l"
    check "NSS vfychain: $n is valid" bash -c "$(declare -f nss); nss '$T/$d' '$T/$n.pem' '$T/$i.pem' | grep -q 'Chain is good'"
done
for l in a0:iss1:nss0 a1:iss1:nss0 a2:iss2:nss2; do
    IFS=: read -r n i d <<<"$l"
    check "NSS vfychain: $n is revoked" bash -c "$(declare -f nss); nss '$T/$d' '$T/$n.pem' '$T/$i.pem' | grep -q 'ERROR -8180: Peer.s Certificate has been revoked'"
done
check "NSS: the key 0 CRL does not revoke a2 (it is not on it)" bash -c \
    "$(declare -f nss); nss '$T/nss0' '$T/a2.pem' '$T/iss2.pem' | grep -q 'Chain is good'"

# ---- status reads every key generation's CRL state; a backup holds every generation ----
expect_rc 2 "status 60 days on: every key generation's CRL is past nextUpdate" -- \
    env OFFCA_TEST_NOW=$(( $(date +%s) + 60 * 86400 )) "$OFFCA_TEST_BIN" -c "$T/ca.toml" status
expect_in "key index 0 CRL #2 past nextUpdate" "status judges key 0's CRL (iss.crl) too"
expect_rc 0 "status now: every key generation's CRL fresh" -- oc status
expect_rc 0 "backup" -- oc backup "$T/bk"
check "the backup holds the older generations and the newest as iss.pem" bash -c \
    "cmp -s '$T/bk/certs/iss.gen-0.pem' '$T/iss0.pem' && cmp -s '$T/bk/certs/iss.gen-1.pem' '$T/iss1.pem' && cmp -s '$T/bk/certs/iss.pem' '$T/iss2.pem'"
expect_rc 0 "backup verify" -- oc backup verify "$T/bk"

# ---- delta CRLs, per key generation ----
cat >>"$T/ca.toml" <<TOML
[ca.dl]
delta_period = "1d"
TOML
for k in dl dl2; do oc key generate --label $k --alg p256 >/dev/null; done
oc ca create-issuing dl --parent root --key "$(URI dl)" --subject 'CN=Renew Delta' >/dev/null
dleaf() { openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/$1.key" \
    -subj "/CN=$1" -out "$T/$1.csr" 2>/dev/null
    oc sign --ca dl --template vpn-server --csr "$T/$1.csr" --san "dns:$1.example" -o "$T/$1.pem" >/dev/null; }
dleaf d0; oc ca renew dl --new-key "$(URI dl2)" >/dev/null; dleaf d1
oc crl publish --ca dl >/dev/null
for l in d0 d1; do oc revoke --ca dl --serial "$(ser "$T/$l.pem")" >/dev/null; done
expect_rc 0 "publish the deltas" -- oc crl publish --ca dl
expect_in "dl: published delta CRL" "key 0 publishes dl+.crl"
expect_in "dl(1): published delta CRL" "key 1 publishes dl(1)+.crl"
D0=$(openssl crl -inform DER -in "$T/pub/dl+.crl" -noout -text)
D1=$(openssl crl -inform DER -in "$T/pub/dl(1)+.crl" -noout -text)
check "dl+.crl is a delta listing d0 only" bash -c "grep -q 'Delta CRL Indicator' <<<\"\$1\" && grep -q 'Serial Number: $(ser "$T/d0.pem")' <<<\"\$1\" && test \$(grep -c 'Serial Number' <<<\"\$1\") = 1" _ "$D0"
check "dl(1)+.crl is a delta listing d1 only" bash -c "grep -q 'Delta CRL Indicator' <<<\"\$1\" && grep -q 'Serial Number: $(ser "$T/d1.pem")' <<<\"\$1\" && test \$(grep -c 'Serial Number' <<<\"\$1\") = 1" _ "$D1"
check "dl(1).crl points at dl(1)+.crl (Freshest CRL)" bash -c \
    "openssl crl -inform DER -in '$T/pub/dl(1).crl' -noout -text | grep -A3 'Freshest CRL' | grep -q 'URI:$URL/dl(1)+.crl'"
der2pem "$T/pub/dl(1).crt" "$T/dl1.pem"
expect_rc 0 "dl(1)+.crl is signed by key 1" -- openssl crl -inform DER -in "$T/pub/dl(1)+.crl" -CAfile "$T/dl1.pem" -noout

# ---- refusals: message, exit code, nothing changed ----
# a key another CA has, and the same key on the blocklist (the key gate of a CA key at create)
oc ca create-root kg --key "$(URI other)" --subject 'CN=Renew Other' >/dev/null
oc ca export kg | openssl x509 -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum |
    cut -c1-64 >"$T/blocked.txt"
snap() { (oc --json ca show iss; oc audit list | wc -l; ls -l "$T/pub" | grep -v lock) 2>&1; }
BEFORE=$(snap)
expect_rc 2 "neither --same-key nor --new-key" -- oc ca renew iss
expect_in "exactly one of --same-key or --new-key" "usage says what is missing"
expect_rc 2 "both" -- oc ca renew iss --same-key --new-key "$(URI other)"
expect_rc 1 "a key the CA already had" -- oc ca renew iss --new-key "$(URI iss)"
expect_in "this is the key of generation 0 (key index 0)" "the old key is refused by name"
expect_rc 1 "--days beyond the parent refused" -- oc ca renew iss --same-key --days 9000
expect_in "would outlive the parent 'root'" "says why"
expect_rc 2 "unknown CA" -- oc ca renew nosuch --same-key
expect_in "not in the store" "unknown CA message"
expect_rc 3 "a key URI not in the token" -- oc ca renew iss --new-key "$(URI nosuch)"
expect_rc 1 "the key of another CA" -- oc ca renew iss --new-key "$(URI other)"
expect_in "is already the key of CA 'kg'" "the other CA is named"
printf '[keys]\nblocked_keys_file = "%s"\n' "$T/blocked.txt" >>"$T/ca.toml"
expect_rc 1 "a new key on the blocklist: the key gate refuses it like at create" -- \
    oc ca renew iss --new-key "$(URI other)"
expect_in "CA 'iss': key: blocked" "the key gate's message"
check "store and publish dir unchanged by the refusals" test "$(snap)" = "$BEFORE"
[ -n "${KEEP:-}" ] && cp -r "$T" /tmp/lc-keep
t_done
