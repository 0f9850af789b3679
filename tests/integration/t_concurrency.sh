#!/bin/bash
# Issue 5, concurrency: 4 `offca sign --batch` processes issue 250 certificates each into ONE store
# at the same time, all through the same SoftHSM token and CA key. Proven: every process exits 0
# on its first start (no re-run),
# 1,000 certificates with 1,000 distinct serials, exactly one record and one cert.issue audit
# record per serial (the same serials), audit sequence numbers without gaps or repeats, the audit
# chain verifies, every output file verifies with openssl and is the certificate the store holds.
# That the processes really run at the same time does not depend on the machine's speed: each
# (the test build, $OFFCA_TEST_BIN) stops itself after its first group of 64 is written
# (OFFCA_FAULT=batch.group-written:1:stop); only when all four have stopped are they continued, so
# the audit log must open with one group of each process before any second group.
. "$(dirname "$0")/common.sh"
P=4; PER=${CONC_PER:-250}; TOTAL=$((P * PER))
offca_setup offca-conc
oc init >/dev/null
oc key generate --label ca --alg p256 >/dev/null
oc ca create-root ca --key "pkcs11:token=offca-conc;object=ca;type=private" \
    --subject 'CN=Concurrency Test CA' --days 3650 >/dev/null
oc ca export ca -o "$T/ca.pem"
mkdir -p "$T/csr"
for i in 1 2 3 4; do
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/k$i.key" 2>/dev/null
    openssl req -new -key "$T/k$i.key" -subj "/CN=conc$i" -out "$T/csr/$i.csr" 2>/dev/null
done
for p in $(seq 1 $P); do
    mkdir -p "$T/out$p"
    for i in $(seq 1 "$PER"); do
        printf '{"csr":"%s/csr/%d.csr","san":["dns:p%d-%d.example.com"],"out":"%s/out%d/%d.pem"}\n' \
            "$T" $(( (i % 4) + 1 )) "$p" "$i" "$T" "$p" "$i"
    done >"$T/m$p.jsonl"
done
audit_before=$(oc --json audit list | grep -o '"seq":' | wc -l)

# Every process must succeed on its FIRST start: the SoftHSM 2.6.1 start-up race (a token not
# seen by C_Initialize, or C_Login failing with CKR_GENERAL_ERROR, while another process rewrites
# token.object) is absorbed by hsm/p11.c's restart-and-retry; no process is started twice.
declare -A rc_of pid_of
start=$(date +%s%N)
for p in $(seq 1 $P); do
    (OFFCA_FAULT=batch.group-written:1:stop exec "$OFFCA_TEST_BIN" -c "$T/ca.toml" sign --ca ca \
        --template vpn-server --batch "$T/m$p.jsonl" >"$T/run$p.out" 2>"$T/run$p.err") &
    pid_of[$p]=$!
done
# bounded waits (generous: they only keep a deadlock from hanging `make test`)
stopped=0
for p in $(seq 1 $P); do wait_stopped "${pid_of[$p]}" 300 && stopped=$((stopped + 1)); done
check "all $P processes stopped after their first group (none is past it)" test "$stopped" -eq "$P"
for pid in "${pid_of[@]}"; do kill -CONT "$pid" 2>/dev/null; done
for pid in "${pid_of[@]}"; do wait_gone "$pid" 600 || kill -KILL "$pid"; done
for p in $(seq 1 $P); do wait "${pid_of[$p]}"; rc_of[$p]=$?; done
ms=$(( ($(date +%s%N) - start) / 1000000 ))
for p in $(seq 1 $P); do
    check "process $p exits 0 on its first start" test "${rc_of[$p]}" -eq 0
    check "process $p reports $PER issued, 0 failed" grep -q ": $PER issued, 0 skipped (output exists), 0 failed" "$T/run$p.out"
    check "process $p wrote nothing to stderr but the stop line" \
        test "$(cat "$T/run$p.err")" = "offca: fault point batch.group-written #1 ($T/m$p.jsonl): SIGSTOP"
    [ "$(wc -l <"$T/run$p.err")" -gt 1 ] && sed 's/^/#   /' "$T/run$p.err" | head -5
done

oc --json list --ca ca | grep -o '"serial":"[0-9a-f]*"' | cut -d'"' -f4 | sort >"$T/store.txt"
check "$TOTAL records in the store" test "$(wc -l <"$T/store.txt")" -eq "$TOTAL"
check "$TOTAL distinct serials" test "$(sort -u "$T/store.txt" | wc -l)" -eq "$TOTAL"
oc --json audit list >"$T/audit.json"
grep -o '"action":"cert.issue","object":"[0-9a-f]*"' "$T/audit.json" | cut -d'"' -f8 | sort >"$T/audit.txt"
check "$TOTAL cert.issue audit records" test "$(wc -l <"$T/audit.txt")" -eq "$TOTAL"
check "audit records name exactly the stored serials" cmp -s "$T/audit.txt" "$T/store.txt"
grep -o '"seq":[0-9]*' "$T/audit.json" | cut -d: -f2 >"$T/seq.txt"
check "audit sequence numbers run 1..N without gap or repeat" \
    test "$(cat "$T/seq.txt")" = "$(seq 1 $((audit_before + TOTAL)))"
expect_rc 0 "audit verify passes" -- oc audit verify

cat "$T"/out*/*.pem >"$T/all.pem"
openssl crl2pkcs7 -nocrl -certfile "$T/all.pem" | openssl pkcs7 -print_certs -text -noout |
    awk '/Serial Number:/ { if ($3 == "") { getline; gsub(/[ :]/, ""); print tolower($0) }
                            else print $3 }' | sort >"$T/files.txt"
check "$TOTAL output files" test "$(find "$T"/out* -name '*.pem' | wc -l)" -eq "$TOTAL"
check "the output files carry exactly the stored serials" cmp -s "$T/files.txt" "$T/store.txt"
openssl verify -x509_strict -CAfile "$T/ca.pem" "$T"/out*/*.pem >"$T/verify.out" 2>&1
check "openssl verify -x509_strict accepts all $TOTAL" test "$(grep -c ': OK$' "$T/verify.out")" -eq "$TOTAL"
# the processes really ran at the same time: their commits interleave in the audit log
for p in $(seq 1 $P); do
    cat "$T/out$p"/*.pem | openssl crl2pkcs7 -nocrl -certfile /dev/stdin |
        openssl pkcs7 -print_certs -text -noout |
        awk -v p="$p" '/Serial Number:/ { getline; gsub(/[ :]/, ""); print tolower($0), p }'
done | sort >"$T/owner.txt"
switches=$(grep -o '"action":"cert.issue","object":"[0-9a-f]*"' "$T/audit.json" | cut -d'"' -f8 |
    awk 'NR == FNR { own[$1] = $2; next } { if (NR > 1 && own[$1] != last) n++; last = own[$1] }
         END { print n + 0 }' "$T/owner.txt" -)
first=$(grep -o '"action":"cert.issue","object":"[0-9a-f]*"' "$T/audit.json" | cut -d'"' -f8 |
    head -n $((P * 64)) | awk 'NR == FNR { own[$1] = $2; next } { n[own[$1]]++ }
    END { for (p in n) if (n[p] == 64) k++; print k + 0 }' "$T/owner.txt" -)
check "the audit log opens with one group of 64 from each of the $P processes" test "$first" -eq "$P"
check "so the processes' commits interleave ($switches switches)" test "$switches" -ge $((P - 1))
# the certificate the store holds is byte for byte the file that was written (one sample per process)
for p in $(seq 1 $P); do
    s=$(openssl x509 -in "$T/out$p/$PER.pem" -noout -serial | cut -d= -f2 | tr A-F a-f)
    oc export "$s" -o "$T/exp$p.pem" >/dev/null 2>&1
    check "process $p: offca export of its last serial equals the file written" cmp -s "$T/exp$p.pem" "$T/out$p/$PER.pem"
done
echo "# figures: $TOTAL certificates by $P concurrent processes in $ms ms; $switches switches between processes in the audit order; every process started once"
t_done
