#!/usr/bin/env bash
# cp -a of a tree and diff -r; tar extract and compare; both survive a remount.
. "$(dirname "$0")/lib.sh"

SRC=$T/src
mkdir -p "$SRC"
mkdir -p "$SRC/linux"
cp -a /usr/include/linux/[a-f]* "$SRC/linux/"
cp -a /usr/include/linux/types.h "$SRC/linux/"
[ "$SANITIZED" = 1 ] || cp -a /usr/include/fuse3 /usr/share/doc/libfuse3-dev "$SRC/"
ln -s linux/types.h "$SRC/link-to-types"
mkdir -p "$SRC/empty-dir"
head -c 3000000 /dev/urandom >"$SRC/big.bin"
truncate -s 10M "$SRC/sparse.bin"
tar -C "$SRC" -cf "$T/src.tar" .

qfs_mount

step "cp -a and diff -r"
cp -a "$SRC" "$MNT/copy"
diff -r --no-dereference "$SRC" "$MNT/copy" || fail "cp -a copy differs"
[ "$(stat -c %a.%Y "$SRC/linux/types.h")" = "$(stat -c %a.%Y "$MNT/copy/linux/types.h")" ] ||
    fail "cp -a did not keep mode and mtime"

step "tar extract and compare"
mkdir "$MNT/untar"
tar -C "$MNT/untar" -xf "$T/src.tar"
tar -C "$MNT/untar" -df "$T/src.tar" || fail "tar -d reports differences"
diff -r --no-dereference "$SRC" "$MNT/untar" || fail "tar extract differs"

step "remount shows everything as it was"
qfs_remount
diff -r --no-dereference "$SRC" "$MNT/copy" || fail "copy differs after remount"
tar -C "$MNT/untar" -df "$T/src.tar" || fail "tar -d differs after remount"
n=$(find "$MNT/copy" | wc -l)
[ "$n" -eq "$(find "$SRC" | wc -l)" ] || fail "find counts differ after remount"

step "rm -rf of the tree"
rm -rf "$MNT/copy" "$MNT/untar"
[ -z "$(ls -A "$MNT")" ] || fail "root not empty after rm -rf: $(ls -A "$MNT")"
qfs_umount || fail "unclean exit"
echo "ok"
