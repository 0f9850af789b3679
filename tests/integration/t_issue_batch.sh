#!/bin/bash
# Issue 3, batch: 1,000 CSRs (made by openssl req) issued in one run under intune-device with
# every SID found in a 1,000-row directory import; every output verified by openssl verify in one
# call; re-runs skip what exists; a manifest with a non-JSON line, a bad CSR and a policy
# violation reports and skips those, issues the rest, prints a summary and exits non-zero.
. "$(dirname "$0")/common.sh"
offca_setup offca-issue-batch
N=${OFFCA_BATCH_N:-1000}
oc init >/dev/null
oc key generate --label root --alg p256 >/dev/null
oc key generate --label issuing --alg p256 >/dev/null
oc ca create-root root --key "pkcs11:token=offca-issue-batch;object=root;type=private" --subject 'CN=Batch Root' >/dev/null
oc ca create-issuing issuing --parent root --key "pkcs11:token=offca-issue-batch;object=issuing;type=private" \
    --subject 'CN=Batch Issuing,DC=contoso,DC=com' --days 1000 >/dev/null
oc ca export root -o "$T/root.pem"; oc ca export issuing -o "$T/issuing.pem"
DOM=S-1-5-21-1004336348-1177238915-682003330

# A few keys reused; each CSR differs in subject and SAN (host00001..).
for i in 1 2 3 4; do openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/k$i.key"; done
mkdir -p "$T/req" "$T/out"
t0=$(date +%s.%N)
seq 1 "$N" | xargs -P 4 -I{} sh -c 'i=$(printf %05d {}); h=host$i.contoso.com; k=$(( {} % 4 + 1 ));
    openssl req -new -key "$0/k$k.key" -subj "/CN=$h" -addext "subjectAltName=DNS:$h" -out "$0/req/$i.csr" 2>/dev/null' "$T"
echo "# $N CSRs made in $(echo "$(date +%s.%N) - $t0" | bc) s"
check "$N CSRs made" test "$(ls "$T/req" | wc -l)" = "$N"
{ printf '#TYPE Microsoft.ActiveDirectory.Management.ADComputer\n"DNSHostName","SamAccountName","SID"\n'
  seq -f '%05g' 1 "$N" | awk -v d="$DOM" '{ printf "\"host%s.contoso.com\",\"HOST%s$\",\"%s-%d\"\n", $1, $1, d, 10000 + $1 }'
} >"$T/ad.csv"
expect_rc 0 "directory import of $N computers" -- oc directory import "$T/ad.csv"
seq -f '%05g' 1 "$N" | awk -v t="$T" '{ printf "{\"csr\": \"%s/req/%s.csr\", \"out\": \"%s/out/%s.pem\"}\n", t, $1, t, $1 }' >"$T/m.jsonl"

before=$(oc --json list | jq length)
t0=$(date +%s.%N)
expect_rc 0 "batch of $N: one run issues them all" -- oc sign --ca issuing --template intune-device --batch "$T/m.jsonl"
el=$(echo "$(date +%s.%N) - $t0" | bc)
echo "# batch of $N issued in $el s ($(echo "$N / $el" | bc) certificates/s)"
expect_in "batch $T/m.jsonl: $N issued, 0 skipped (output exists), 0 failed" "batch summary"
check "$N output files" test "$(ls "$T/out" | wc -l)" = "$N"
check "offca list shows $N more" test "$(oc --json list | jq length)" = $((before + N))
check "all $N serials distinct" test "$(oc --json list | jq '[.[].serial]|unique|length')" = $((before + N))
OUTS=$(printf "$T/out/%s.pem " $(seq -f '%05g' 1 "$N"))
# shellcheck disable=SC2086
check "openssl verify -x509_strict accepts all $N (one call)" bash -c \
    "openssl verify -x509_strict -CAfile '$T/root.pem' -untrusted '$T/issuing.pem' $OUTS | grep -c ': OK\$' | grep -qx $N"
check "all $N parse as one certificate each" test "$(cat $OUTS | openssl storeutl -certs /dev/stdin 2>/dev/null | grep -c '^[0-9]*: Certificate$')" = "$N"
for i in $(printf "%05d " 1 $((N / 7)) $((N / 2)) "$N"); do
    c="$T/out/$i.pem"
    check "sample $i: certtool parses it" certtool -i --infile "$c" --outfile /dev/null
    check "sample $i: subject and SAN from its CSR" test \
        "$(openssl x509 -in "$c" -noout -subject -ext subjectAltName | tr -d ' \n')" = "subject=CN=host$i.contoso.comX509v3SubjectAlternativeName:DNS:host$i.contoso.com"
    check "sample $i: the directory's SID in the extension" bash -c \
        "openssl x509 -in '$c' -noout -text | grep -q -- '$DOM-$((10000 + 10#$i))\$'"
    check "sample $i: key from its CSR" test "$(openssl x509 -in "$c" -noout -pubkey)" = \
        "$(openssl pkey -in "$T/k$((10#$i % 4 + 1)).key" -pubout)"
done
expect_rc 0 "audit verify after the batch" -- oc audit verify
check "audit: $N issue records" test "$(oc audit list --json | jq '[.[]|select(.action=="cert.issue")]|length')" = "$N"

t0=$(date +%s.%N)
expect_rc 0 "re-running the manifest issues nothing" -- oc sign --ca issuing --template intune-device --batch "$T/m.jsonl"
expect_in "0 issued, $N skipped (output exists), 0 failed" "re-run summary: all skipped"
echo "# re-run (all skipped) in $(echo "$(date +%s.%N) - $t0" | bc) s"
check "re-run: list unchanged" test "$(oc --json list | jq length)" = $((before + N))

# ---- a manifest with bad lines among good ones ----
mkdir -p "$T/out2"
for h in good1 good2 good3 wild; do
    openssl req -new -key "$T/k1.key" -subj "/CN=$h" -addext "subjectAltName=DNS:$h.contoso.com" -out "$T/$h.csr" 2>/dev/null
done
printf '"DNSHostName","SamAccountName","SID"\n"good1.contoso.com","G1$","%s-1"\n"good2.contoso.com","G2$","%s-2"\n"good3.contoso.com","G3$","%s-3"\n' \
    "$DOM" "$DOM" "$DOM" >"$T/ad2.csv"
oc directory import --replace "$T/ad2.csv" >/dev/null
{ printf '{"csr": "%s", "out": "%s/g1.pem"}\n' "$T/good1.csr" "$T/out2"
  printf 'this line is not JSON\n'
  printf '{"csr": "%s", "out": "%s/bad.pem"}\n' "$REPO/tests/data/bad/csr/bad-signature.der" "$T/out2"
  printf '{"csr": "%s", "out": "%s/g2.pem"}\n' "$T/good2.csr" "$T/out2"
  printf '{"csr": "%s", "out": "%s/nodir.pem"}\n' "$T/wild.csr" "$T/out2"
  printf '\n# a comment\n'
  printf '{"csr": "%s", "out": "%s/nodir/g3.pem"}\n' "$T/good3.csr" "$T/out2"
  printf '{"csr": "%s", "out": "%s/g3.pem", "san": ["email:x@contoso.com"]}\n' "$T/good3.csr" "$T/out2"
  printf '{"csr": "%s", "out": "%s/g3.pem"}\n' "$T/good3.csr" "$T/out2"
} >"$T/m2.jsonl"
before=$(oc --json list | jq length)
expect_rc 3 "mixed manifest: non-zero exit (first failure: malformed input)" -- \
    oc sign --ca issuing --template intune-device --batch "$T/m2.jsonl"
expect_in "m2.jsonl:2: not a JSON object (got something that is not JSON)" "the non-JSON line reported with its line number"
expect_in "signature does not verify" "the bad CSR reported"
expect_in "m2.jsonl:5" "the policy violation reported with its line number"
expect_in "no directory entry for dns:wild.contoso.com" "the policy violation's reason"
expect_in "email names are not allowed" "the disallowed SAN line reported"
expect_in "m2.jsonl:8: $T/out2/nodir/g3.pem: the directory is missing or not writable" "an out path in a missing directory reported"
expect_in "batch $T/m2.jsonl: 3 issued, 0 skipped (output exists), 5 failed" "mixed manifest summary"
check "the three good entries written" test -s "$T/out2/g1.pem" -a -s "$T/out2/g2.pem" -a -s "$T/out2/g3.pem"
check "no output for the bad entries" test ! -e "$T/out2/bad.pem" -a ! -e "$T/out2/nodir.pem"
check "list shows exactly 3 more" test "$(oc --json list | jq length)" = $((before + 3))
check "g2 verifies" openssl verify -x509_strict -CAfile "$T/root.pem" -untrusted "$T/issuing.pem" "$T/out2/g2.pem"
expect_rc 3 "mixed manifest re-run: still non-zero" -- oc sign --ca issuing --template intune-device --batch "$T/m2.jsonl"
expect_in "0 issued, 4 skipped (output exists), 4 failed" "re-run skips what exists (incl. the refused g3 line, whose out now exists), reports the bad again"
check "re-run: list unchanged" test "$(oc --json list | jq length)" = $((before + 3))
expect_rc 0 "audit verify at the end" -- oc audit verify
t_done
