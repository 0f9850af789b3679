#!/bin/bash
# tools/bench.sh BUILD_DIR — `make bench`: run every benchmark and write bench/RESULTS.md.
# Each benchmark is a tools/bench-<name>.sh BUILD_DIR FRAGMENT.md script that writes its own
# section (table, method, exact commands) to FRAGMENT.md; this driver records the machine and
# versions around them. Work files live in bench/work/ (gitignored). No timed assertions: a
# benchmark fails only when a tool fails or an output is invalid, never because it is slow.
#   BENCH_ONLY="crl"   run a subset (default: all of BENCHES below); a benchmark not run keeps
#                      the section of its last run (bench/work/<name>.md), marked as such
#   BENCH_RUNS=3       runs per measurement (medians); each script documents its own knobs
set -euo pipefail
B=$(realpath "${1:-build}")
REPO=$(cd "$(dirname "$0")/.." && pwd)
BENCHES="crl sign keygate"           # crl: publication; sign: C_Sign ceiling, batch rate, latency; keygate: key gate cost
ONLY=${BENCH_ONLY:-$BENCHES}
OUT=$REPO/bench/RESULTS.md
W=$REPO/bench/work
mkdir -p "$W"

machine() {
    echo "## Machine"
    echo
    echo "- CPUs: $(nproc) ($(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo))"
    echo "- Memory: $(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
    echo "- Kernel: $(uname -srm)"
    echo "- Load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (shared machine: compare ratios, not absolute times)"
    echo
    echo "## Versions"
    echo
    echo "- offca: $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$REPO" diff --quiet HEAD -- ca crl hsm templates 2>/dev/null || echo ' + uncommitted changes in ca/ crl/ hsm/ templates/')"
    echo "- OpenSSL: $(openssl version)"
    echo "- SoftHSM: $(softhsm2-util --version 2>/dev/null || echo unknown)"
    echo "- libp11 pkcs11 engine: $(dpkg-query -W -f='${Version}' libengine-pkcs11-openssl 2>/dev/null || echo unknown)"
    echo "- LMDB: $(dpkg-query -W -f='${Version}' liblmdb0 2>/dev/null || echo unknown)"
    echo "- gcc: $(cc --version | head -n1)"
    echo "- offca build: $B/offca ($(grep -m1 -o 'OPT *?= *[^#]*' "$REPO/Makefile" | sed 's/  */ /g'))"
}

# notes_for FILE: "Written for commit C on DATE" from the file's first line, which must be
# <!-- analysis written for commit C on DATE -->; a notes file without it stops the run.
notes_for() {
    local c d
    c=$(sed -n '1s/^<!-- analysis written for commit \([0-9a-f]\{7,40\}\) on \([0-9-]\{10\}\) -->$/\1/p' "$1")
    d=$(sed -n '1s/^<!-- analysis written for commit \([0-9a-f]\{7,40\}\) on \([0-9-]\{10\}\) -->$/\2/p' "$1")
    [ -n "$c" ] || return 1
    echo "Written for commit $c on $d"
}
NOTES=()
for n in "$REPO"/bench/NOTES*.md; do
    [ -f "$n" ] || continue
    notes_for "$n" >/dev/null || { echo "bench: $n: first line must be '<!-- analysis written for commit HASH on YYYY-MM-DD -->'; add it (or update the analysis) and re-run" >&2; exit 2; }
    NOTES+=("$n")
done

START=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
MACHINE=$(machine)
FRAGS=()
for b in $BENCHES; do
    s=$REPO/tools/bench-$b.sh
    [ -f "$s" ] || { echo "bench: no $s" >&2; exit 2; }
    if ! echo " $ONLY " | grep -q " $b "; then
        [ -f "$W/$b.md" ] && FRAGS+=("$W/$b.md") && echo "bench: $b not run, keeping its last section" >&2
        continue
    fi
    echo "bench: running $b" >&2
    bash "$s" "$B" "$W/$b.md" >/dev/null
    FRAGS+=("$W/$b.md")
done
{
    echo "# offca benchmarks"
    echo
    echo "Written by \`make bench\` (tools/bench.sh). Started $START, finished $(date -u '+%Y-%m-%d %H:%M:%S UTC')."
    echo "Run: \`make bench\` (or \`bash tools/bench.sh build\`; BENCH_ONLY, BENCH_RUNS and each script's"
    echo "knobs as documented at the top of tools/bench*.sh)."
    echo
    echo "$MACHINE"
    for f in "${FRAGS[@]}"; do
        echo
        if ! echo " $ONLY " | grep -q " $(basename "$f" .md) "; then
            echo "<!-- not re-run by this invocation: section from its last run ($(date -u -r "$f" '+%Y-%m-%d %H:%M UTC')) -->"
        fi
        cat "$f"
    done
    # Hand-written analyses (NOTES.md: CRL, NOTES-sign.md: issuance) are not regenerated, so each
    # names the commit and date it was written for (first line), and the file says so beside the
    # commit these tables come from: a reader never takes an old analysis for this run's figures.
    for n in "${NOTES[@]}"; do
        echo
        sed -n '2p' "$n"
        echo
        echo "_$(notes_for "$n"); the tables above are from this run (offca $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null)). Where a figure here differs from a table, the table is current._"
        sed '1,2d' "$n"
    done
} >"$OUT"
echo "bench: wrote $OUT" >&2
grep '^|' "$OUT"
