#!/bin/bash
# ca/ is split into rooms (ca/ROOM/): each has one face header ca/ROOM/ROOM.h whose opening
# comment says what lives there and which rooms it may include ("May include: ..."); anything
# else private to a room is a *_int.h beside it. Checked on the sources:
#   - every room has its face, and its other headers are *_int.h;
#   - no file outside a room includes its *_int.h;
#   - a room's files include only the faces its "May include" line names;
#   - base/ and the leaves include nothing of ca/, and other folders include only a leaf's face
#     (hsm/hsm.h, templates/template.h, crl/crl.h);
#   - struct app (the command layer's context) appears only in ca/cli/;
#   - <lmdb.h> only in ca/store/store.c.
. "$(dirname "$0")/common.sh"

# room_problems ROOT: one line per broken rule in the tree at ROOT; nothing when all hold.
room_problems() {
    local root=$1 dir room face may f inc other
    for dir in "$root"/ca/*/; do
        room=$(basename "$dir"); face="$dir$room.h"
        if [ ! -f "$face" ]; then echo "ca/$room/: no face header ca/$room/$room.h"; continue; fi
        for f in "$dir"*.h; do
            case "$f" in "$face" | *_int.h) ;; *) echo "ca/$room/$(basename "$f"): a second public header (make it *_int.h or fold it into $room.h)" ;; esac
        done
        may=$(awk '/^ \* May include:/ { on = 1 } on { print } on && /\.$/ { exit }' "$face" |
              grep -oE 'ca/[a-z]+' | sed 's|ca/||' | sort -u | tr '\n' ' ')
        [ -n "$may" ] || grep -q '^ \* May include: base/, the leaves\.$' "$face" ||
            echo "ca/$room/$room.h: no 'May include:' line naming the rooms it uses"
        for f in "$dir"*.[ch]; do
            grep -oE '^#include "ca/[a-z]+/[a-z_]+\.h"' "$f" | cut -d'"' -f2 | while read -r inc; do
                other=${inc#ca/}; other=${other%%/*}
                [ "$other" = "$room" ] && continue
                case " $may " in *" $other "*) ;; *) echo "ca/$room/$(basename "$f"): includes $inc, but ca/$room/ may not use ca/$other/" ;; esac
            done
        done
    done
    grep -rnoE '#include "ca/[a-z]+/[a-z_]+_int\.h"' "$root" --include='*.[ch]' 2>/dev/null |
        while IFS=: read -r f _ inc; do
            inc=${inc#*\"}; inc=${inc%\"}
            case "${f#"$root"/}" in "$(dirname "$inc")"/*) ;; *) echo "${f#"$root"/}: includes $inc, private to $(dirname "$inc")/" ;; esac
        done
    for d in base hsm templates crl; do
        [ -d "$root/$d" ] || continue
        grep -rlE '#include "ca/' "$root/$d" --include='*.[ch]' | sed "s|^$root/||; s|\$|: a file below ca/ includes ca/|"
    done
    for d in hsm:hsm templates:template crl:crl; do       # a leaf's one face: FOLDER:FACE
        grep -rnoE "#include \"${d%%:*}/[a-z_0-9]+\.h\"" "$root/ca" "$root/base" "$root/hsm" \
            "$root/templates" "$root/crl" --include='*.[ch]' 2>/dev/null |
            grep -v "^$root/${d%%:*}/" | grep -v "\"${d%%:*}/${d#*:}\.h\"" |
            sed "s|^$root/||; s|:[0-9]*:#include | includes |; s|\$|, private to ${d%%:*}/ (use ${d%%:*}/${d#*:}.h)|"
    done
    grep -rlwE 'struct app' "$root/ca" --include='*.[ch]' | grep -v "^$root/ca/cli/" |
        sed "s|^$root/||; s|\$|: struct app outside ca/cli/ (pass the store, HSM and config)|"
    for d in base hsm templates crl ca; do [ -d "$root/$d" ] && echo "$root/$d"; done |
        xargs grep -rlE '^#include <lmdb.h>' --include='*.[ch]' | grep -v "^$root/ca/store/store.c$" | sed "s|^$root/||; s|\$|: includes <lmdb.h> (only ca/store/store.c may)|"
}

out=$(room_problems "$REPO")
check "the rooms of ca/ keep their rules${out:+: $(head -n 5 <<<"$out" | tr '\n' ';')}" test -z "$out"
check "control: ca/ has rooms with faces" test "$(ls "$REPO"/ca/*/*.h | grep -cE 'ca/([a-z]+)/\1\.h$')" -ge 5

# Planted breaks, each must be reported.
P=$T/planted; mkdir -p "$P/ca/low" "$P/ca/high" "$P/ca/odd" "$P/crl"
printf '/*\n * May include: base/, the leaves.\n */\n' >"$P/ca/low/low.h"
printf '/*\n * May include: base/, the leaves, ca/low.\n */\n' >"$P/ca/high/high.h"
printf '/*\n * May include: base/, the leaves, ca/low.\n */\n' >"$P/ca/odd/odd.h"
: >"$P/ca/low/low_int.h"
printf '#include "ca/high/high.h"\n' >"$P/ca/low/x.c"          # low may not use high
printf '#include "ca/low/low.h"\n#include "ca/low/low_int.h"\n' >"$P/ca/high/y.c"
: >"$P/ca/odd/extra.h"
printf 'int f(struct app *a);\n' >"$P/ca/high/z.c"
printf '#include "ca/low/low.h"\n#include <lmdb.h>\n' >"$P/crl/w.c"
printf '#include "crl/crl.h"\n#include "crl/crl_int.h"\n' >"$P/ca/high/v.c"
out=$(room_problems "$P")
check "planted: a room using a face it may not" grep -q 'ca/low/x.c: includes ca/high/high.h, but ca/low/ may not use ca/high/' <<<"$out"
check "planted: another room's *_int.h" grep -q 'ca/high/y.c: includes ca/low/low_int.h, private to ca/low/' <<<"$out"
check "planted: a second public header" grep -q 'ca/odd/extra.h: a second public header' <<<"$out"
check "planted: struct app outside the command layer" grep -q 'ca/high/z.c: struct app outside ca/cli/' <<<"$out"
check "planted: a leaf including ca/" grep -q 'crl/w.c: a file below ca/ includes ca/' <<<"$out"
check "planted: a leaf's private header used from ca/" grep -q 'ca/high/v.c includes "crl/crl_int.h", private to crl/ (use crl/crl.h)' <<<"$out"
check "planted: <lmdb.h> outside the store" grep -q 'crl/w.c: includes <lmdb.h>' <<<"$out"
check "planted: the allowed include is not reported" bash -c "! grep -q 'y.c: includes ca/low/low.h' <<<\"\$1\"" _ "$out"
t_done
