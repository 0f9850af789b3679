#!/bin/bash
# The man pages and the bash completion, as `make install` puts them:
#  - offca(1) has a section (.SS) for every command `offca --help` lists and every subcommand
#    `offca --commands` lists, and each option of `offca CMD [SUB] --help` appears in the
#    section of that command (the global options in GLOBAL OPTIONS); a miss names the command
#    and the option;
#  - offca-ca.toml(5) documents, in the section of its table, every key of ca.toml.example, and
#    every key the config reader (ca/config/config.c) asks for;
#  - offca-template(5) documents every key the template loader (templates/tmpl_*.c) asks for,
#    and every key of the shipped templates in the section of its table; its EXAMPLE is a
#    template offca accepts;
#  - after `make install DESTDIR=... PREFIX=/usr`, `man -w` finds the three pages (MANPATH);
#  - the completion file registers _offca for offca and, driven through COMP_WORDS, completes a
#    command, a subcommand, an option, a CA name and a template name (asked of the installed
#    offca: --commands, ca list --names, template list --names).
. "$(dirname "$0")/common.sh"
command -v man >/dev/null || skip_all "man (man-db) is not installed; run make deps"
B=$(dirname "$OFFCA")
R=$T/root
make -s --no-print-directory -C "$REPO" B="$B" install DESTDIR="$R" PREFIX=/usr >"$T/install.log" 2>&1
check "make install DESTDIR PREFIX=/usr succeeds" test $? -eq 0
M=$R/usr/share/man
for p in man1/offca.1 man5/offca-ca.toml.5 man5/offca-template.5; do
    check "make install puts $p in place" test -s "$M/$p"
done
check "make install puts the binary in place" test -x "$R/usr/bin/offca"
check "make install puts the bash completion in place" \
    test -s "$R/usr/share/bash-completion/completions/offca"
check "man -w offca finds offca(1)" test "$(MANPATH=$M man -w offca 2>&1)" = "$M/man1/offca.1"
check "man -w 5 offca-ca.toml finds it" \
    test "$(MANPATH=$M man -w 5 offca-ca.toml 2>&1)" = "$M/man5/offca-ca.toml.5"
check "man -w 5 offca-template finds it" \
    test "$(MANPATH=$M man -w 5 offca-template 2>&1)" = "$M/man5/offca-template.5"
check "offca(1) renders without groff warnings" \
    test -z "$(MANWIDTH=80 MANPATH=$M man --warnings offca 2>&1 >/dev/null)"

# The text of one section of a generated page: from ".SS NAME" (or ".SH NAME") to the next
# heading, font escapes removed.
section() { # section FILE SS|SH NAME
    awk -v k=".$2" -v n="$3" '
        /^\.S[HS] / { h = substr($0, 5); gsub(/^"|"$/, "", h) }
        /^\.S[HS] / { on = ($1 == k && h == n); next }
        on' "$1" | sed -e 's/\\f[BIRP]//g' -e 's/\\-/-/g' -e 's/\\(em/--/g'
}
# The options a help text mentions: --long and -x.
options_of() {
    grep -oE -- '(^|[][ ,|(/])(--[a-z][a-z0-9-]*|-[a-zA-Z])([] ,|)=.;]|$)' |
        grep -oE -- '--?[a-zA-Z][a-z0-9-]*' | sort -u
}
has_word() { grep -qE -- "(^|[^a-zA-Z0-9_-])$1([^a-zA-Z0-9_-]|$)"; }

MAN1=$M/man1/offca.1
missing=""
# Global options (and --help) are documented once, in GLOBAL OPTIONS, not per command.
global=$("$OFFCA" --help | sed -n '/^Global options:/,/^$/p' | options_of; printf '%s\n' --help -h)
not_global() { ! echo "$global" | grep -qxF -- "$1"; }
top=$("$OFFCA" --help | awk '/^Commands:/ { f = 1; next } f && /^  [a-z]/ { print $1 } f && /^$/ { f = 0 }')
all=$("$OFFCA" --commands)
check "offca --help lists commands" test -n "$top"
check "offca --commands lists the commands offca --help lists" \
    test "$(echo "$all" | grep -v ' ')" = "$top"
for c in $top; do
    subs=$(echo "$all" | sed -n "s/^$c //p")
    # The command's own help: its options anywhere in its sections ("C" and "C ...").
    if [ -z "$subs" ]; then
        [ -n "$(section "$MAN1" SS "$c")" ] || missing="$missing
offca(1): no section (.SS) for command '$c' (listed by offca --help)"
    fi
    text=$(grep -E "^\.SS $c( |$)" "$MAN1" | while read -r _ n; do section "$MAN1" SS "$n"; done)
    for o in $("$OFFCA" "$c" --help 2>/dev/null | options_of); do
        not_global "$o" || continue
        echo "$text" | has_word "$o" || missing="$missing
offca(1): option '$o' of 'offca $c --help' is not in the sections of '$c'"
    done
    for s in $subs; do
        st=$(section "$MAN1" SS "$c $s")
        if [ -z "$st" ]; then
            missing="$missing
offca(1): no section (.SS) for subcommand '$c $s' (listed by offca --commands)"
            continue
        fi
        for o in $("$OFFCA" "$c" "$s" --help 2>/dev/null | options_of); do
            not_global "$o" || continue
            echo "$st" | has_word "$o" || missing="$missing
offca(1): option '$o' of 'offca $c $s --help' is not in its section '$c $s'"
        done
    done
done
gt=$(section "$MAN1" SH "GLOBAL OPTIONS")
for o in $("$OFFCA" --help | sed -n '/^Global options:/,/^$/p' | options_of); do
    echo "$gt" | has_word "$o" || missing="$missing
offca(1): global option '$o' of 'offca --help' is not in GLOBAL OPTIONS"
done
for s in "EXIT STATUS" EXAMPLES ENVIRONMENT FILES "SEE ALSO"; do
    [ -n "$(section "$MAN1" SH "$s")" ] || missing="$missing
offca(1): no $s section"
done
if [ -z "$missing" ]; then ok "offca(1) documents every command, subcommand and option of --help"
else notok "offca(1) documents every command, subcommand and option of --help" "$(echo "$missing" | sed 1d | tr '\n' '|')"
    echo "$missing" | sed 1d | sed 's/^/#   missing: /'; fi

# ca.toml: every key of the example in the section of its table; every key config.c reads.
MAN5C=$M/man5/offca-ca.toml.5
missing=""
tbl=""
while IFS= read -r line; do
    case $line in
        "["ca.*"]"*) tbl="[ca.NAME]" ;;
        "["*"]"*) tbl=${line%%]*}"]" ;;
        *)  k=$(echo "$line" | sed -nE 's/^#?([a-z_]+) = .*/\1/p')
            [ -n "$k" ] && { section "$MAN5C" SH "$tbl" | has_word "$k" ||
                missing="$missing
offca-ca.toml(5): key '$k' of ca.toml.example (table $tbl) is not in its section $tbl"; } ;;
    esac
done <"$REPO/ca.toml.example"
for k in $(grep -ohE '(get_(path|text|url|duration)|toml_get_[a-z]+)\([a-z]+, ([a-z]+, )?"[a-z_0-9]+"' "$REPO/ca/config/config.c" |
           sed -E 's/.*"([a-z_0-9]+)"$/\1/' | sort -u); do
    sed -e 's/\\f[BIRP]//g' "$MAN5C" | has_word "$k" || missing="$missing
offca-ca.toml(5): key '$k' read by ca/config/config.c is not documented"
done
if [ -z "$missing" ]; then ok "offca-ca.toml(5) documents every ca.toml key"
else notok "offca-ca.toml(5) documents every ca.toml key" "$(echo "$missing" | sed 1d | tr '\n' '|')"; fi

# Templates: every key the loader asks for; every key of the shipped templates in its table.
MAN5T=$M/man5/offca-template.5
missing=""
for k in $(grep -ohE '(toml_get[a-z_]*|ld_[a-z_]+)\((l, )?[a-z]+(->root)?, "[A-Za-z_0-9]+"' "$REPO"/templates/tmpl_*.c |
           sed -E 's/.*"([A-Za-z_0-9]+)"$/\1/' | sort -u); do
    grep -qxF ".SH [$k]" "$MAN5T" || grep -qF "\\fB$k\\fR" "$MAN5T" || missing="$missing
offca-template(5): key '$k' read by the template loader is not documented"
done
for f in "$REPO"/templates/shipped/*.toml; do
    tbl="TOP-LEVEL KEYS"
    while IFS= read -r line; do
        case $line in
            "["*"]"*) tbl=${line%%]*}"]" ;;
            [a-z]*" = "*) k=${line%% =*}
                section "$MAN5T" SH "$tbl" | has_word "$k" || missing="$missing
offca-template(5): key '$k' of ${f##*/} (table $tbl) is not in its section $tbl" ;;
        esac
    done <"$f"
done
if [ -z "$missing" ]; then ok "offca-template(5) documents every template key"
else notok "offca-template(5) documents every template key" "$(echo "$missing" | sed 1d | sort -u | tr '\n' '|')"; fi
section "$MAN5T" SH EXAMPLE | sed -e '/^\./d' -e 's/\\(rs/\\/g' -e 's/\\&//g' >"$T/example.toml"
name=$(sed -n 's/^name = "\(.*\)"/\1/p' "$T/example.toml")
mv "$T/example.toml" "$T/$name.toml" 2>/dev/null
expect_rc 0 "the EXAMPLE of offca-template(5) is a valid template" -- "$OFFCA" template check "$T/$name.toml"

# --names: the listings the completion asks for.
offca_setup mancomp
oc init >/dev/null 2>&1
key=$(oc key generate --label corp-root --alg p256 2>/dev/null)
oc ca create-root corp-root --key "$key" --subject CN=Corp >/dev/null 2>&1
expect_rc 0 "ca list --names" -- oc ca list --names
check "ca list --names prints the CA name alone" test "$OUT" = corp-root
expect_rc 0 "template list --names" -- oc template list --names
check "template list --names prints the template names, one a line" \
    test "$(echo "$OUT" | LC_ALL=C sort)" = "$(ls "$REPO/templates/shipped" | sed 's/\.toml$//' | LC_ALL=C sort)"
expect_rc 2 "ca list --names --json is refused" -- oc ca list --names --json
expect_in "--names and --json" "the refusal names both options"

# The completion, driven as bash drives it, with the installed offca first on PATH.
comp() { # comp WORD...: the completions of the last word
    PATH="$R/usr/bin:$PATH" bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
        _offca; printf "%s\n" "${COMPREPLY[@]}"' _ "$R/usr/share/bash-completion/completions/offca" "$@"
}
check "complete -p offca names _offca" \
    test "$(bash -c '. "$1"; complete -p offca' _ "$R/usr/share/bash-completion/completions/offca")" = "complete -F _offca offca"
check "a command: offca si<TAB> -> sign" test "$(comp offca si)" = sign
check "a subcommand: offca ca create-r<TAB> -> create-root" test "$(comp offca ca create-r)" = create-root
check "an option: offca sign --wor<TAB> -> --workers" test "$(comp offca sign --wor)" = --workers
check "an option of a subcommand: offca ca list --na<TAB> -> --names" test "$(comp offca ca list --na)" = --names
check "a CA name: offca -c ca.toml revoke --ca co<TAB> -> corp-root" \
    test "$(comp offca -c "$T/ca.toml" revoke --ca co)" = corp-root
check "a CA name as argument: offca -c ca.toml ca show <TAB> -> corp-root" \
    test "$(comp offca -c "$T/ca.toml" ca show '')" = corp-root
check "a template name: offca -c ca.toml sign --template intune-device-m<TAB>" \
    test "$(comp offca -c "$T/ca.toml" sign --template intune-device-m)" = intune-device-manual
check "a reason: offca revoke --reason keyC<TAB> -> keyCompromise" \
    test "$(comp offca revoke --reason keyC)" = keyCompromise
check "without a readable config a CA name completes to nothing, silently" \
    test -z "$(cd "$T" && comp offca -c "$T/nope.toml" revoke --ca co 2>&1)"
t_done
