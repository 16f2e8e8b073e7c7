#!/usr/bin/env bash
# Every operation of the single-node suite, done on one node, is visible and
# identical on the other two as soon as it returns (type, mode, owner, links,
# size, content hash, xattrs; mtime after utimens); results the state machine
# computes (EEXIST, ENOTEMPTY ...) are the same whichever node asks; and
# after it all the three trees are identical, inode numbers included.
. "$(dirname "$0")/lib.sh"
FSOPS=$CT_HELPERS/../../integration/helpers/fsops.py
cluster_up
A=$(mnt a) B=$(mnt b) C=$(mnt c)
head -c 300000 /dev/urandom >"$T/ref"

step "create, write, append, truncate, overwrite"
touch "$A/empty"; seen empty
cp "$T/ref" "$A/f"; seen f
echo "appended line" >>"$A/f"; seen f
truncate -s 1000 "$A/f"; seen f
truncate -s 200000 "$A/f"; seen f # extends with a hole
printf 'middle' | dd of="$A/f" bs=1 seek=100000 conv=notrunc status=none; seen f
cmp -n 1000 "$T/ref" "$B/f" || fail "B reads other bytes than A wrote"
: >"$A/f"; seen f # O_TRUNC
cp "$T/ref" "$A/f"; seen f
cmp "$T/ref" "$C/f" || fail "C reads other bytes than A wrote"

step "mkdir, rename (file, dir, over a file, over an empty dir, across dirs)"
mkdir "$A/d1"; seen d1
mkdir "$A/d1/sub"; seen d1/sub
mv "$A/empty" "$A/d1/moved"; seen empty; seen d1/moved
echo other >"$A/g"; seen g
mv "$A/g" "$A/f"; seen g; seen f # replaces f
[ "$(cat "$B/f")" = other ] || fail "rename over a file: B reads the old file"
mkdir "$A/d2"; seen d2
mv -T "$A/d1/sub" "$A/d2"; seen d1/sub; seen d2 # onto an empty dir
mv "$A/d1" "$A/d3"; seen d1; seen d3
mkdir "$A/full"; touch "$A/full/x"; seen full/x
expect_err ENOTEMPTY "$PY" "$OP" rename "$A/d2" "$A/full"
expect_err ENOTEMPTY "$PY" "$OP" rename "$B/d2" "$B/full"
seen d2; seen full

step "RENAME_NOREPLACE and RENAME_EXCHANGE"
echo one >"$A/r1"; echo two >"$A/r2"; seen r1; seen r2
expect_err EEXIST "$PY" "$FSOPS" rename2 noreplace "$A/r1" "$A/r2"
seen r1; seen r2
"$PY" "$FSOPS" rename2 noreplace "$A/r1" "$A/r3" || fail "renameat2 NOREPLACE"
seen r1; seen r3
"$PY" "$FSOPS" rename2 exchange "$A/r2" "$A/d3" || fail "renameat2 EXCHANGE"
seen r2; seen d3
[ -d "$C/r2" ] && [ "$(cat "$C/d3")" = two ] || fail "exchange not seen on C"

step "unlink, rmdir"
rm "$A/r3"; seen r3
rmdir "$A/d2"; seen d2
expect_err ENOTEMPTY "$PY" "$OP" rmdir "$C/full"
seen full/x

step "symlink, hard link"
ln -s f "$A/sym"; seen sym
ln -s /nowhere/at/all "$A/dangling"; seen dangling
ln "$A/f" "$A/hard"; seen f; seen hard
[ "$(stat -c %h "$B/f")" = 2 ] || fail "link count on B"
[ "$(stat -c %i "$B/f")" = "$(stat -c %i "$C/hard")" ] || fail "hard link is another inode"
rm "$A/f"; seen f; seen hard

step "chmod, chown, utimens"
chmod 600 "$A/hard"; seen hard
chmod 4750 "$A/hard"; seen hard
chmod 1777 "$A/full"; seen full
chown 1234:5678 "$A/hard"; seen hard
chown -h 42:43 "$A/sym"; seen sym
touch -m -d '2001-02-03 04:05:06.123456789' "$A/hard"
touch -a -d '2002-03-04 05:06:07.5' "$A/hard"
# mtime only: any read may move atime (relatime), on any node.
for x in b c; do
    [ "$(stat -c %Y "$(mnt $x)/hard")" = "$(stat -c %Y "$A/hard")" ] ||
        defer_fail "mtime on $x: $(stat -c %y "$(mnt $x)/hard"), on a: $(stat -c %y "$A/hard")"
done
seen hard --times

step "xattrs"
setfattr -n user.colour -v blue "$A/hard"; seen hard
setfattr -n user.colour -v green "$A/hard"; seen hard
setfattr -n user.big -v "0x$(head -c 3000 /dev/urandom | od -An -tx1 | tr -d ' \n')" "$A/d3"; seen d3
[ "$(getfattr --absolute-names --only-values -n user.colour "$C/hard")" = green ] || fail "xattr value on C"
setfattr -x user.colour "$A/hard"; seen hard
expect_err "No such attribute" getfattr --absolute-names -n user.colour "$B/hard"

step "the same results whichever node asks"
expect_err EEXIST "$PY" "$OP" mkdir "$B/d3"
expect_err EEXIST "$PY" "$OP" create-excl "$C/hard"
mkdir "$B/fromb"; echo c >"$C/fromb/fromc"; seen fromb/fromc
expect_err ENOTDIR "$PY" "$OP" rename "$C/fromb" "$C/d3" # d3 is a file since the exchange
expect_err ENOENT "$PY" "$OP" unlink "$B/r3"
seen fromb; seen d3

step "a directory another node moved renames to another directory here (ESTALE before dir_moves.c)"
mkdir -p "$B/mv1/sub" "$B/mv1/e1" "$B/mv2/e2"
stat "$B/mv1/sub" "$B/mv1/e1" "$B/mv2/e2" >/dev/null # B's kernel knows them there
mv "$C/mv1/sub" "$C/mv2/sub"
"$PY" "$OP" rename "$B/mv2/sub" "$B/sub2" || fail "rename on B of a directory C moved"
"$PY" "$FSOPS" rename2 exchange "$C/mv1/e1" "$C/mv2/e2" || fail "exchange on C"
"$PY" "$OP" rename "$B/mv1/e1" "$B/e1" || fail "rename on B of a directory C exchanged"
"$PY" "$OP" rename "$B/mv2/e2" "$B/mv1/e2" || fail "rename on B of the other one"
seen sub2; seen e1; seen mv1/e2

step "two appenders on one node lose no line (getattr raced the other's commit)"
"$PY" "$CT_HELPERS/appenders.py" "$B/applog" 2 "$(scale 60)" || fail "appends lost on b"
seen applog

step "an O_APPEND handle held open on B appends after A's line (it covered it before)"
for m in wronly rdwr; do
    "$PY" "$CT_HELPERS/held_append.py" "$QFS_CLI" "$(conf b)" "$A/log.$m" "$B/log.$m" $m ||
        defer_fail "held O_APPEND handle ($m) on b"
    seen "log.$m"
done

step "the three trees, inode numbers included"
converge --ino
tree_cmp --times -- a b c >/dev/null || fail "mtimes differ: $(tree_cmp --times -- a b c)"
finish
