#!/bin/bash
# Messages and comments cite what ships: a public spec (MS-WCCE, MS-DTYP, KB5014754, RFC 5280,
# RFC 7512, ...) or a README section, never the design notes kept outside the repository. Checks
# the strings of the built offca and every file of the source tree; a hit is named with its line.
. "$(dirname "$0")/common.sh"
# The names are split so that this script does not find itself.
PAT='ms-''formats|provider-''notes|HOUSE-''STYLE|shared/''design'

# The pattern itself works: one planted line of each kind is found.
check "the pattern finds a planted citation of each note" test "$(printf '%s\n' \
    "see ms-""formats.md 5" "provider-""notes pitfall 2" "HOUSE-""STYLE.md" "../shared/""design/" |
    grep -c -E "$PAT")" = 4

check "the built offca exists" test -x "$OFFCA"
hits=$(strings -a "$OFFCA" | grep -E "$PAT" | head -n 5)
check "offca's strings cite no design note that does not ship${hits:+: $hits}" test -z "$hits"

if git -C "$REPO" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    files=$(git -C "$REPO" ls-files)
else
    files=$(cd "$REPO" && find . -type f ! -path './.git/*' ! -path './build*' ! -path './demo/*')
fi
check "the source tree lists its files" test -n "$files"
hits=$(cd "$REPO" && printf '%s\n' "$files" | while IFS= read -r f; do
    [ -f "$f" ] && grep -n -I -E -H "$PAT" -- "$f"; done | head -n 10)
check "no shipped file cites a design note that does not ship${hits:+: $hits}" test -z "$hits"
t_done
