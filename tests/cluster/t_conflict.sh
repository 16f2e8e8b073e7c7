#!/usr/bin/env bash
# Two writers of one file on A and B: the later commit takes the name, the
# other version is kept as NAME.conflict-YYYYMMDD-HHMMSS-NODEID7[.EXT] next
# to it, on all three nodes, both versions intact. Once in a fixed order (A
# closes first: B's version keeps the name, the copy is tagged with A's ID),
# once racing.
. "$(dirname "$0")/lib.sh"
cluster_up
A=$(mnt a) B=$(mnt b)
SIZE=200000
head -c $SIZE /dev/urandom >"$T/base"
head -c $SIZE /dev/urandom >"$T/va"
head -c $SIZE /dev/urandom >"$T/vb"

# copies DIR STEM EXT: the conflict copies of STEM.EXT in DIR (on node a).
copies() {
    local re="^$2\\.conflict-[0-9]{8}-[0-9]{6}-[A-Za-z0-9]{7}\\.$3\$"
    ls -A "$A/$1" | grep -E "$re" || true
}

# check_pair DIR STEM EXT WINNER LOSER: NAME holds WINNER's bytes and exactly
# one conflict copy holds LOSER's, identically on every node.
check_pair() {
    local dir=$1 stem=$2 ext=$3 win=$4 lose=$5 c x
    wait_until "$SYNC_SECS" test -n "$(copies "$dir" "$stem" "$ext")" ||
        fail "no conflict copy of $dir/$stem.$ext on A: $(ls -A "$A/$dir")"
    c=$(copies "$dir" "$stem" "$ext")
    [ "$(echo "$c" | wc -l)" = 1 ] || fail "more than one conflict copy: $c"
    for x in a b c; do
        wait_until "$SYNC_SECS" test -e "$(mnt $x)/$dir/$c" || fail "$c is not on node $x"
        cmp "$win" "$(mnt $x)/$dir/$stem.$ext" || fail "$stem.$ext on $x is not the winner's"
        cmp "$lose" "$(mnt $x)/$dir/$c" || fail "$c on $x is not the other version"
    done
    echo "$c"
}

step "ordered: A closes, then B"
mkdir "$A/o"
cp "$T/base" "$A/o/doc.txt"
wait_until "$SYNC_SECS" cmp "$T/base" "$B/o/doc.txt" || fail "B does not see the base version"
"$PY" "$CT_HELPERS/conflict.py" ordered "$A/o/doc.txt" "$B/o/doc.txt" "$T/va" "$T/vb" ||
    fail "a writer failed"
c=$(check_pair o doc txt "$T/vb" "$T/va")
# The copy is tagged with the node that wrote the version it keeps (A).
id7=${c##*-}
id7=${id7%.txt}
[ "$id7" = "${ID[a]:0:7}" ] ||
    fail "the copy's node tag $id7 is not A's (${ID[a]:0:7}; B is ${ID[b]:0:7})"
echo "conflict copy: $c (A is ${ID[a]:0:7}, B is ${ID[b]:0:7})"

step "race: A and B close at once"
mkdir "$A/r"
cp "$T/base" "$A/r/data.bin"
wait_until "$SYNC_SECS" cmp "$T/base" "$B/r/data.bin" || fail "B does not see the base version"
"$PY" "$CT_HELPERS/conflict.py" race "$A/r/data.bin" "$B/r/data.bin" "$T/va" "$T/vb" ||
    fail "a writer failed"
wait_until "$SYNC_SECS" test -n "$(copies r data bin)" || fail "no conflict copy after the race"
if cmp -s "$T/va" "$A/r/data.bin"; then
    check_pair r data bin "$T/va" "$T/vb" >/dev/null
else
    check_pair r data bin "$T/vb" "$T/va" >/dev/null
fi
converge
finish
