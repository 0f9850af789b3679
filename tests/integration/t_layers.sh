#!/bin/bash
# The folders depend one way: base/ on nothing of ours; hsm/, templates/ and crl/ (the leaves) on
# base/ only; ca/ on everything below it. Checked on the built archives with nm: every symbol an
# archive needs (nm -u) that one of our other archives defines must come from a folder it may use.
. "$(dirname "$0")/common.sh"
B=$(dirname "$OFFCA")
for a in base hsm templates crl ca; do
    [ -f "$B/lib$a.a" ] || skip_all "$B/lib$a.a is not built (run make first)"
done
defined() { nm -g --defined-only "$B/lib$1.a" 2>/dev/null | awk 'NF == 3 { print $3 }' | sort -u; }
needed() { nm -u "$B/lib$1.a" 2>/dev/null | awk '{ print $NF }' | sort -u; }
for a in base hsm templates crl ca; do defined "$a" >"$T/def.$a"; needed "$a" >"$T/und.$a"; done

# bad_uses A ALLOWED...: the symbols A needs that a folder not in ALLOWED defines, as "sym (from X)"
bad_uses() {
    local a=$1 b; shift
    for b in base hsm templates crl ca; do
        [ "$b" = "$a" ] && continue
        case " $* " in *" $b "*) continue ;; esac
        comm -12 "$T/und.$a" "$T/def.$b" | sed "s/\$/ (from $b\/)/"
    done
}
check "nm lists what libbase defines" test -s "$T/def.base"
check "control: libca uses base/, hsm/, templates/ and crl/ symbols" test "$(for b in base hsm templates crl; do
    comm -12 "$T/und.ca" "$T/def.$b" | head -n 1; done | grep -c .)" = 4
for a in hsm templates crl; do
    hits=$(bad_uses "$a" base | head -n 5 | tr '\n' ' ')
    check "$a/ uses only base/ of ours${hits:+: $hits}" test -z "$hits"
done
hits=$(bad_uses base | head -n 5 | tr '\n' ' ')
check "base/ uses nothing of ours${hits:+: $hits}" test -z "$hits"
# The planted case is found: a leaf that needed a ca/ symbol would be reported.
echo store_open >>"$T/und.hsm"; sort -o "$T/und.hsm" "$T/und.hsm"
check "a planted hsm/ -> ca/ use is reported" bash -c "comm -12 '$T/und.hsm' '$T/def.ca' | grep -qx store_open"
t_done
