#!/bin/bash
# Issue 5, batch with --workers: N threads prepare and sign (one PKCS#11 session each, one login),
# one writer records each group of 64 in one transaction and only then writes and flushes the
# group's files. Proves: every entry issued once (unique serials, one record and one cert.issue
# audit record each, the chain verifies), outputs in manifest order map to their own CSR, a bad
# entry among good ones is reported and skipped under threads, re-runs skip what exists, no
# temp file is left behind, and --workers is refused where it does not apply.
. "$(dirname "$0")/common.sh"
offca_setup offca-workers
N=${OFFCA_WORKERS_N:-300}
oc init >/dev/null
oc key generate --label ca --alg p256 >/dev/null
oc ca create-root ca --key "pkcs11:token=offca-workers;object=ca;type=private" \
    --subject 'CN=Workers CA' --days 3650 >/dev/null
oc ca export ca -o "$T/ca.pem"
mkdir -p "$T/req" "$T/out"
for i in 1 2 3; do openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/k$i.key"; done
seq 1 "$N" | xargs -P 4 -I{} sh -c 'i=$(printf %04d {}); k=$(( {} % 3 + 1 ));
    openssl req -new -key "$0/k$k.key" -subj "/CN=h$i" -out "$0/req/$i.csr" 2>/dev/null' "$T"
manifest() { # manifest OUTDIR [BADLINE]
    seq -f '%04g' 1 "$N" | awk -v t="$T" -v o="$1" -v bad="${2:-0}" '{
        if (NR == bad) printf "{\"csr\": \"%s/nonexistent.csr\", \"out\": \"%s/bad.pem\"}\n", t, o
        printf "{\"csr\": \"%s/req/%s.csr\", \"san\": [\"dns:h%s.example.com\"], \"out\": \"%s/%s.pem\"}\n", t, $1, $1, o, $1 }'
}
manifest "$T/out" >"$T/m.jsonl"

expect_rc 0 "batch of $N with --workers 2" -- \
    oc sign --ca ca --template vpn-server --batch "$T/m.jsonl" --workers 2
expect_in "batch $T/m.jsonl: $N issued, 0 skipped (output exists), 0 failed" "summary: all issued"
check "$N output files" test "$(ls "$T/out" | wc -l)" = "$N"
check "no temp file left" test -z "$(find "$T/out" -name '.offca-tmp-*')"
OUTS=$(printf "$T/out/%s.pem " $(seq -f '%04g' 1 "$N"))
# shellcheck disable=SC2086
check "openssl verify -x509_strict accepts all $N" bash -c \
    "openssl verify -x509_strict -CAfile '$T/ca.pem' $OUTS | grep -c ': OK\$' | grep -qx $N"
check "$N distinct serials in the store" \
    test "$(oc --json list | jq '[.[].serial]|unique|length')" = "$N"
check "$N cert.issue audit records" \
    test "$(oc audit list --json | jq '[.[]|select(.action=="cert.issue")]|length')" = "$N"
expect_rc 0 "audit verify after a threaded batch" -- oc audit verify
# shellcheck disable=SC2086
check "file serials = store serials" test \
    "$(for f in $OUTS; do openssl x509 -in "$f" -noout -serial | cut -d= -f2 | tr A-F a-f; done | sort)" = \
    "$(oc --json list | jq -r '.[].serial' | sort)"
for i in 0001 $(printf %04d $((N / 2))) $(printf %04d "$N"); do
    check "entry $i: subject, SAN and key from its own CSR" test \
        "$(openssl x509 -in "$T/out/$i.pem" -noout -subject -ext subjectAltName | tr -d ' \n')$(openssl x509 -in "$T/out/$i.pem" -noout -pubkey)" = \
        "subject=CN=h${i}X509v3SubjectAlternativeName:DNS:h$i.example.com$(openssl req -in "$T/req/$i.csr" -noout -pubkey)"
done

expect_rc 0 "re-run with --workers 4 issues nothing" -- \
    oc sign --ca ca --template vpn-server --batch "$T/m.jsonl" --workers 4
expect_in "0 issued, $N skipped (output exists), 0 failed" "re-run: all skipped"
check "re-run: store unchanged" test "$(oc --json list | jq length)" = "$N"

mkdir -p "$T/out2"; manifest "$T/out2" 77 | head -n 101 >"$T/m2.jsonl"
expect_rc 3 "a bad entry among 100 good ones under --workers 3: exit 3" -- \
    oc sign --ca ca --template vpn-server --batch "$T/m2.jsonl" --workers 3
expect_in "$T/nonexistent.csr: open:" "the bad entry is named"
expect_in "100 issued, 0 skipped (output exists), 1 failed" "the good ones are issued"
check "100 more records" test "$(oc --json list | jq length)" = $((N + 100))

expect_rc 2 "--workers 0 refused" -- oc sign --ca ca --template vpn-server --batch "$T/m.jsonl" --workers 0
expect_in "'0' is not a number from 1 to 16" "--workers 0: message"
expect_rc 2 "--workers 17 refused" -- oc sign --ca ca --template vpn-server --batch "$T/m.jsonl" --workers 17
expect_rc 2 "--workers without --batch refused" -- \
    oc sign --ca ca --template vpn-server --csr "$T/req/0001.csr" --san dns:h0001.example.com --workers 2
expect_in "only with --batch" "--workers without --batch: message"
check "refusals changed nothing" test "$(oc --json list | jq length)" = $((N + 100))
t_done
