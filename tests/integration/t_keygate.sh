#!/bin/bash
# Issue 10: the key gate and the request gate against the committed corpus of hostile requests
# (tests/data/make-keygate-corpus.py): each refused with its exit code and rule, no output, the
# store unchanged; the good keys certified with their SubjectPublicKeyInfo exactly as requested
# (canonical DER, compressed points kept). Then the blocklist file, SHA-1 and repeated attributes
# switched on by a template, key reuse, revoke keyCompromise [--all-with-key], CA keys, the
# schema 1 -> 2 upgrade, and a directory export with one SID twice.
# Uses the shipped templates as they ship (key reuse refused), not common.sh's copy.
. "$(dirname "$0")/common.sh"
offca_setup offca-keygate
sed -i "s#^dir = \"$T/templates\"#dir = \"$REPO/templates/shipped\"#" "$T/ca.toml"
oc init >/dev/null
oc key generate --label root --alg p256 >/dev/null
oc key generate --label issuing --alg p256 >/dev/null
oc ca create-root root --key "pkcs11:token=offca-keygate;object=root;type=private" --subject 'CN=Root' >/dev/null
oc ca create-issuing issuing --parent root --key "pkcs11:token=offca-keygate;object=issuing;type=private" \
    --subject 'CN=Issuing' --days 1000 >/dev/null
BADK=$REPO/tests/data/bad/csr/keygate
GOODK=$REPO/tests/data/good/csr/keygate
GEN=$REPO/tests/data/make-keygate-corpus.py
state() { oc --json list; oc audit list --json; }
SIGN=(oc sign --ca issuing --template vpn-server --san dns:host.contoso.com -o "$T/out.pem" --csr)
bad() { # bad RC FRAGMENT NAME -- CMD...: refused with RC and FRAGMENT; nothing written or stored
    local rc=$1 frag=$2 name=$3 before; shift 4
    rm -f "$T/out.pem"
    before=$(state)
    expect_rc "$rc" "$name: exit $rc" -- "$@"
    expect_in "$frag" "$name: message names the rule"
    check "$name: nothing stored, no audit record" test "$before" = "$(state)"
    check "$name: no certificate written" test ! -e "$T/out.pem"
}

# ---- the corpus: every bad request refused for its rule ----
n=0
while read -r f rc frag; do
    case $f in ''|'#'*) continue ;; esac
    bad "$rc" "$frag" "corpus $f" -- "${SIGN[@]}" "$BADK/$f"
    n=$((n + 1))
done <"$BADK/MANIFEST"
check "the corpus has every class (at least 50 bad requests)" test "$n" -ge 50
for c in rsa-e rsa-modulus rsa-factor rsa-fermat rsa-roca ec-explicit ec-point sig-md ber- subject-two subject-printable; do
    check "corpus class $c has several variants" test "$(grep -c "^$c" "$BADK/MANIFEST")" -ge 2
done

# ---- the good keys are certified, the SPKI exactly as requested (re-encoded = canonical) ----
while read -r f; do
    case $f in ''|'#'*) continue ;; esac
    rm -f "$T/out.pem"
    expect_rc 0 "good $f is certified" -- "${SIGN[@]}" "$GOODK/$f"
    openssl x509 -in "$T/out.pem" -outform DER -out "$T/out.der" 2>/dev/null
    check "good $f: certificate SPKI = request SPKI, byte for byte" \
        test "$(python3 "$GEN" --spki "$T/out.der")" = "$(python3 "$GEN" --spki "$GOODK/$f")"
    check "good $f: openssl verify" openssl verify -x509_strict -CAfile <(oc ca export root) \
        -untrusted <(oc ca export issuing) "$T/out.pem"
done <"$GOODK/MANIFEST"
check "compressed points stay compressed in the certificate" \
    bash -c "python3 '$GEN' --spki '$T/out.der' | grep -Eq '^3046301006072a8648ce3d020106052b81040022033200(02|03)'"

# ---- SHA-1 requests and repeated attributes only when a template says so ----
mkdir -p "$T/tmpl"
cp "$REPO"/templates/shipped/*.toml "$T/tmpl/"
sed -e 's/^name = "vpn-server"/name = "vpn-legacy"/' -e '/^\[subject\]/a repeatable = ["O"]' \
    "$REPO/templates/shipped/vpn-server.toml" >"$T/tmpl/vpn-legacy.toml"
printf '\n[key]\nallow_sha1_requests = true\nallow_reuse = true\n' >>"$T/tmpl/vpn-legacy.toml"
sed "s#^dir = \"$REPO/templates/shipped\"#dir = \"$T/tmpl\"#" "$T/ca.toml" >"$T/ca2.toml"
oc2() { "$OFFCA" -c "$T/ca2.toml" "$@"; }
expect_rc 0 "template with allow_sha1_requests and subject.repeatable loads" -- oc2 template check "$T/tmpl/vpn-legacy.toml"
sed -e 's/^name = "vpn-server"/name = "vpn-broken"/' -e '/^\[subject\]/a repeatable = ["DC"]' \
    "$REPO/templates/shipped/vpn-server.toml" >"$T/vpn-broken.toml"
expect_rc 3 "subject.repeatable naming a type not allowed is refused at load" -- oc2 template check "$T/vpn-broken.toml"
expect_in "subject.repeatable: 'DC' is not in subject.allowed" "the loader names the key"
expect_rc 0 "SHA-1 request accepted by a template with key.allow_sha1_requests" -- \
    oc2 sign --ca issuing --template vpn-legacy --san dns:host.contoso.com --csr "$BADK/sig-sha1-rsa.der" -o "$T/sha1.pem"
expect_rc 0 "two O accepted by a template listing O in subject.repeatable" -- \
    oc2 sign --ca issuing --template vpn-legacy --san dns:host.contoso.com --csr "$BADK/subject-two-o.der" -o "$T/two-o.pem"
bad 1 "attribute CN appears 2 times (in one multi-valued RDN)" "two CNs in one RDN, even with O repeatable" -- \
    oc2 sign --ca issuing --template vpn-legacy --san dns:host.contoso.com --csr "$BADK/subject-two-cn-one-rdn.der" -o "$T/out.pem"
bad 1 "is never accepted" "MD5 even with allow_sha1_requests" -- \
    oc2 sign --ca issuing --template vpn-legacy --san dns:host.contoso.com --csr "$BADK/sig-md5rsa.der" -o "$T/out.pem"

# ---- key reuse: the same subject may renew with its key, another subject may not ----
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/k.key" 2>/dev/null
openssl req -new -key "$T/k.key" -subj /CN=gw1.contoso.com -out "$T/gw1.csr" 2>/dev/null
openssl req -new -key "$T/k.key" -subj /CN=gw2.contoso.com -out "$T/gw2.csr" 2>/dev/null
expect_rc 0 "first certificate of a key" -- oc sign --ca issuing --template vpn-server --san dns:gw1.contoso.com --csr "$T/gw1.csr" -o "$T/gw1.pem"
expect_rc 0 "same subject, same key (renewal) is allowed" -- oc sign --ca issuing --template vpn-server --san dns:gw1.contoso.com --csr "$T/gw1.csr" -o "$T/gw1b.pem"
bad 1 "already certified to another subject (CN=gw1.contoso.com" "same key for another subject" -- \
    oc sign --ca issuing --template vpn-server --san dns:gw2.contoso.com --csr "$T/gw2.csr" -o "$T/out.pem"
expect_rc 0 "another subject with the key under a template with key.allow_reuse" -- \
    oc2 sign --ca issuing --template vpn-legacy --san dns:gw2.contoso.com --csr "$T/gw2.csr" -o "$T/gw2.pem"

# ---- revoke keyCompromise: the key is blocked, the other certificates listed / revoked ----
s1=$(openssl x509 -in "$T/gw1.pem" -noout -serial | cut -d= -f2 | tr A-F a-f)
s1b=$(openssl x509 -in "$T/gw1b.pem" -noout -serial | cut -d= -f2 | tr A-F a-f)
s2=$(openssl x509 -in "$T/gw2.pem" -noout -serial | cut -d= -f2 | tr A-F a-f)
khash=$(openssl pkey -in "$T/k.key" -pubout -outform DER | sha256sum | cut -c1-64)
bad 2 "only with --reason keyCompromise" "--all-with-key without keyCompromise" -- oc revoke --ca issuing --serial "$s1" --all-with-key
expect_rc 0 "revoke keyCompromise" -- oc revoke --ca issuing --serial "$s1" --reason keyCompromise
expect_in "key blocked: SPKI SHA-256 $khash" "revoke names the blocked key's SPKI hash"
expect_in "same key, still valid: $s1b of CA 'issuing'" "revoke lists the other certificate of the key (1)"
expect_in "same key, still valid: $s2 of CA 'issuing'" "revoke lists the other certificate of the key (2)"
check "without --all-with-key the others stay valid" bash -c "oc() { '$OFFCA' -c '$T/ca.toml' \"\$@\"; }; oc --json list | jq -e '[.[] | select(.serial == \"$s2\" and .status == \"valid\")] | length == 1' >/dev/null"
bad 1 "key: blocked: SPKI SHA-256 $khash is the key of CA issuing certificate $s1, revoked for keyCompromise" \
    "a blocked key is refused, even for its own subject" -- \
    oc sign --ca issuing --template vpn-server --san dns:gw1.contoso.com --csr "$T/gw1.csr" -o "$T/out.pem"
expect_rc 0 "keyCompromise again on another certificate of the blocked key" -- \
    oc revoke --ca issuing --serial "$s1b" --reason keyCompromise
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/k3.key" 2>/dev/null
openssl req -new -key "$T/k3.key" -subj /CN=gw3.contoso.com -out "$T/gw3.csr" 2>/dev/null
expect_rc 0 "gw3: one key, two certificates" -- oc sign --ca issuing --template vpn-server --san dns:gw3.contoso.com --csr "$T/gw3.csr" -o "$T/gw3.pem"
expect_rc 0 "gw3: renewal" -- oc sign --ca issuing --template vpn-server --san dns:gw3.contoso.com --csr "$T/gw3.csr" -o "$T/gw3b.pem"
s3=$(openssl x509 -in "$T/gw3.pem" -noout -serial | cut -d= -f2 | tr A-F a-f)
s3b=$(openssl x509 -in "$T/gw3b.pem" -noout -serial | cut -d= -f2 | tr A-F a-f)
a_before=$(oc audit list --json | jq length)
expect_rc 0 "revoke keyCompromise --all-with-key" -- oc revoke --ca issuing --serial "$s3" --reason keyCompromise --all-with-key
expect_in "same key, revoked too: $s3b of CA 'issuing'" "--all-with-key names what it revoked"
check "--all-with-key revoked the other certificate, keyCompromise" bash -c "'$OFFCA' -c '$T/ca.toml' --json list | jq -e '[.[] | select(.serial == \"$s3b\" and .status == \"revoked\")] | length == 1' >/dev/null"
check "one audit record per revoked certificate" test "$(oc audit list --json | jq length)" = $((a_before + 2))
expect_rc 0 "audit chain intact after the revocations" -- oc audit verify

# ---- blocked_keys_file in ca.toml ----
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/k4.key" 2>/dev/null
openssl req -new -key "$T/k4.key" -subj /CN=gw4.contoso.com -out "$T/gw4.csr" 2>/dev/null
h4=$(openssl pkey -in "$T/k4.key" -pubout -outform DER | sha256sum | cut -c1-64)
printf '# compromised keys (SHA-256 of the SPKI)\n\n%s\n' "$(tr a-f A-F <<<"$h4")" >"$T/blocked.txt"
printf '[keys]\nblocked_keys_file = "%s"\n' "$T/blocked.txt" >>"$T/ca.toml"
bad 1 "listed in blocked_keys_file $T/blocked.txt" "a key in blocked_keys_file is refused" -- \
    oc sign --ca issuing --template vpn-server --san dns:gw4.contoso.com --csr "$T/gw4.csr" -o "$T/out.pem"
echo "not-a-hash" >>"$T/blocked.txt"
bad 3 "blocked.txt:4: blocked_keys_file: not a SHA-256 in hex" "a malformed blocked_keys_file names its line" -- \
    oc sign --ca issuing --template vpn-server --san dns:gw4.contoso.com --csr "$T/gw4.csr" -o "$T/out.pem"
sed -i '$d' "$T/blocked.txt"
expect_rc 0 "the listed key passes once the line is removed" -- bash -c "sed -i '/^[0-9A-F]/d' '$T/blocked.txt' && '$OFFCA' -c '$T/ca.toml' sign --ca issuing --template vpn-server --san dns:gw4.contoso.com --csr '$T/gw4.csr' -o '$T/gw4.pem'"

# ---- CA keys: a blocked key cannot become a CA ----
oc key generate --label sub --alg p256 >"$T/sub.uri"
expect_rc 0 "a CA with a good key is created" -- \
    oc ca create-issuing sub1 --parent root --key "$(cat "$T/sub.uri")" --subject 'CN=Sub 1' --days 100
oc ca export sub1 | openssl x509 -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum | cut -c1-64 >"$T/blocked.txt"
bad 1 "CA 'sub2': key: blocked" "a CA key on the blocklist is refused at create" -- \
    oc ca create-issuing sub2 --parent root --key "$(cat "$T/sub.uri")" --subject 'CN=Sub 2' --days 100
: >"$T/blocked.txt"

# ---- directory: two principals sharing one SID, refused whole ----
SID=S-1-5-21-1004336348-1177238915-682003330-1105
printf 'SamAccountName,DNSHostName,SID\nPC42$,pc42.contoso.com,%s\n' "$SID" >"$T/ad.csv"
expect_rc 0 "directory import" -- oc directory import "$T/ad.csv"
dir_before=$(oc --json directory show 'PC42$')
printf 'SamAccountName,DNSHostName,SID\nPC43$,pc43.contoso.com,%s\nPC44$,pc44.contoso.com,S-1-5-21-1004336348-1177238915-682003330-1107\nalice,,%s\n' \
    "${SID%1105}1106" "${SID%1105}1106" >"$T/ad-dup.csv"
expect_rc 3 "an export with one SID on two principals is refused" -- oc directory import "$T/ad-dup.csv"
expect_in "ad-dup.csv:4: column SID: ${SID%1105}1106 is also the SID of line 2: two principals share one SID" \
    "the message names both rows"
check "the directory is unchanged" test "$dir_before" = "$(oc --json directory show 'PC42$')"
t_done
