#!/usr/bin/env bash
# POSIX semantics through the mount: links, symlinks, xattrs, truncate,
# holes, renames, O_APPEND, shared mmap, fallocate, copy_file_range, lseek,
# special files, name and path lengths, and time updates.
. "$(dirname "$0")/lib.sh"
FSOPS="python3 $QFS_HELPERS/fsops.py"
qfs_mount
cd "$MNT"

step "hard links"
echo data >a
ln a b
ln b c
[ "$(stat -c %h a)" -eq 3 ] || fail "nlink after two links: $(stat -c %h a)"
[ "$(stat -c %i a)" = "$(stat -c %i c)" ] || fail "links have different inodes"
rm b
[ "$(stat -c %h a)" -eq 2 ] || fail "nlink after unlink"
echo more >>c
[ "$(cat a)" = "$(printf 'data\nmore')" ] || fail "write through a link not seen"
mkdir d1 d1/sub
[ "$(stat -c %h d1)" -eq 3 ] || fail "directory nlink: $(stat -c %h d1)"
expect_fail "not allowed" ln d1 d1link

step "symlinks"
ln -s a sym
ln -s /nonexistent/target dangling
[ "$(readlink sym)" = a ] || fail "readlink"
[ "$(cat sym)" = "$(cat a)" ] || fail "follow symlink"
[ "$(readlink dangling)" = /nonexistent/target ] || fail "dangling readlink"
long=$(printf 'x%.0s' $(seq 1 4000))
ln -s "$long" longsym
[ "$(readlink longsym)" = "$long" ] || fail "4000-byte symlink target"
[ "$(stat -c %F sym)" = "symbolic link" ] || fail "symlink type"

step "xattrs"
setfattr -n user.color -v blue a
setfattr -n user.empty a
setfattr -n user.bin -v 0x00ff00ff a
[ "$(getfattr --only-values -n user.color a)" = blue ] || fail "getfattr"
getfattr -d a | grep -q 'user.empty' || fail "empty xattr not listed"
[ "$(getfattr -e hex -n user.bin a | sed -n 's/^user.bin=//p')" = 0x00ff00ff ] ||
    fail "binary xattr"
setfattr -x user.color a
expect_fail "No such attribute" getfattr -n user.color a
head -c 37500 /dev/urandom | base64 -w0 >"$T/bigval"
setfattr -n user.big -v "$(cat "$T/bigval")" a
[ "$(getfattr --only-values -n user.big a)" = "$(cat "$T/bigval")" ] || fail "50 KB xattr"
python3 -c "import os; os.setxattr('a','user.x',b'1',os.XATTR_CREATE)"
expect_fail "FileExistsError" python3 -c "import os; os.setxattr('a','user.x',b'1',os.XATTR_CREATE)"
expect_fail "No data available" python3 -c "import os; os.setxattr('a','user.nope',b'1',os.XATTR_REPLACE)"
setfattr -n user.ondir -v 1 d1
# as on ext4: no namespace but user., trusted. and security. (and ACLs refused)
expect_fail "Operation not supported" setfattr -n bogus.x -v 1 a
expect_fail "Operation not supported" setfattr -n system.other -v 1 a
setfattr -n trusted.t -v 1 a && setfattr -n security.s -v 1 a || fail "trusted./security. xattrs"
[ "$(getfattr -m - -d a 2>/dev/null | grep -c '^bogus\|^system')" -eq 0 ] || fail "a refused xattr was listed"
[ "$(getfattr --only-values -n user.ondir d1)" = 1 ] || fail "xattr on a directory"

step "truncate up and down"
head -c 300000 /dev/urandom >t
cp t "$T/t.ref"
truncate -s 100000 t
truncate -s 100000 "$T/t.ref"
cmp t "$T/t.ref" || fail "truncate down"
truncate -s 500000 t
truncate -s 500000 "$T/t.ref"
cmp t "$T/t.ref" || fail "truncate up (zeros)"
truncate -s 0 t
[ "$(stat -c %s t)" -eq 0 ] || fail "truncate to 0"
printf abc >t
exec 3<>t
truncate -s 1 t
exec 3>&-
[ "$(cat t)" = a ] || fail "truncate of an open file"

step "holes"
dd if=/dev/urandom of=h bs=64k count=1 status=none
dd if=/dev/urandom of=h bs=64k count=1 seek=64 conv=notrunc status=none
[ "$(stat -c %s h)" -eq $((65 * 65536)) ] || fail "sparse size"
cmp -n $((63 * 65536)) <(dd if=h bs=64k skip=1 status=none) /dev/zero || fail "hole reads non-zero"
$FSOPS seek-hole h || fail "SEEK_DATA/SEEK_HOLE"
truncate -s 1G big-hole
[ "$(du -k big-hole | cut -f1)" -lt 1024 ] || fail "1 GiB hole takes $(du -k big-hole) KiB"
[ "$(dd if=big-hole bs=1M skip=500 count=1 status=none | tr -d '\0' | wc -c)" -eq 0 ] ||
    fail "hole in a 1 GiB file reads non-zero"

step "renames"
echo one >r1
echo two >r2
mv r1 r2
[ "$(cat r2)" = one ] && [ ! -e r1 ] || fail "rename over a file"
mkdir e1 e2
touch e1/in
mv -T e1 e2
[ -e e2/in ] && [ ! -e e1 ] || fail "rename over an empty directory"
mkdir full
touch full/x
mkdir other
expect_fail "Directory not empty" python3 -c "import os; os.rename('other','full')"
echo A >x1
echo B >x2
expect_fail EEXIST $FSOPS rename2 noreplace x1 x2
$FSOPS rename2 noreplace x1 x3 || fail "RENAME_NOREPLACE to a free name"
$FSOPS rename2 exchange x3 x2 || fail "RENAME_EXCHANGE"
[ "$(cat x3)" = B ] && [ "$(cat x2)" = A ] || fail "RENAME_EXCHANGE contents"
$FSOPS rename2 exchange x2 d1 || fail "RENAME_EXCHANGE file <-> dir"
[ -d x2 ] && [ "$(cat d1)" = A ] || fail "exchange of a file and a directory"
mkdir -p mv/a/b
expect_fail "Invalid argument" python3 -c "import os; os.rename('mv/a', 'mv/a/b/inside')"
mv mv/a ./moved && [ -d moved/b ] || fail "rename of a directory to another parent"
[ "$(stat -c %h mv)" -eq 2 ] || fail "parent nlink after moving a subdir out"

step "O_APPEND"
$FSOPS append app || fail "O_APPEND"

step "shared writable mmap"
$FSOPS mmap mm || fail "mmap"

step "write-only handles bypass the page cache, coherently"
$FSOPS wronly wo || fail "write-only handle"

step "a listing shows a file being written at its staged size"
mkdir lw
$FSOPS listing-while-writing lw/f || fail "listing while writing"

step "fallocate modes"
fallocate -l 1M fa
[ "$(stat -c %s fa)" -eq 1048576 ] || fail "fallocate mode 0 size"
[ "$(tr -d '\0' <fa | wc -c)" -eq 0 ] || fail "fallocated range not zero"
fallocate -n -o 1M -l 1M fa
[ "$(stat -c %s fa)" -eq 1048576 ] || fail "KEEP_SIZE changed the size"
head -c 262144 /dev/urandom >fp
cp fp "$T/fp.ref"
fallocate -p -o 65536 -l 65536 fp
[ "$(stat -c %s fp)" -eq 262144 ] || fail "PUNCH_HOLE changed the size"
cmp -n 65536 fp "$T/fp.ref" || fail "punch hole: data before"
cmp -i 131072 fp "$T/fp.ref" || fail "punch hole: data after"
[ "$(dd if=fp bs=64k skip=1 count=1 status=none | tr -d '\0' | wc -c)" -eq 0 ] ||
    fail "punched range not zero"

step "copy_file_range shares chunks"
MB=$(scale 256)
head -c $((MB * 1048576)) /dev/urandom >src.bin 2>/dev/null ||
    dd if=/dev/urandom of=src.bin bs=1M count="$MB" status=none
sync
before=$(data_bytes)
start=$(date +%s%N)
copied=$($FSOPS copy-range src.bin dst.bin)
ms=$((($(date +%s%N) - start) / 1000000))
sync
after=$(data_bytes)
[ "$copied" -eq $((MB * 1048576)) ] || fail "copy_file_range copied $copied"
cmp src.bin dst.bin || fail "copy differs"
growth=$((after - before))
echo "copy_file_range of $MB MiB: $ms ms, store grew $growth bytes"
[ "$growth" -lt $((MB * 1048576 / 10)) ] || fail "copy_file_range used $growth bytes"
rm src.bin dst.bin

step "special files"
mkfifo fifo
[ "$(stat -c %F fifo)" = fifo ] || fail "mkfifo"
mknod chr c 1 3
[ "$(stat -c '%F %t %T' chr)" = "character special file 1 3" ] || fail "char device"
mknod blk b 7 0
[ "$(stat -c %F blk)" = "block special file" ] || fail "block device"
python3 -c "import socket; s=socket.socket(socket.AF_UNIX); s.bind('sock')"
[ "$(stat -c %F sock)" = socket ] || fail "unix socket"
(echo through-fifo >fifo &)
[ "$(cat fifo)" = through-fifo ] || fail "fifo data"

step "name and path lengths"
mkdir names
$FSOPS names "$MNT/names" || fail "name lengths"
mkdir deep
$FSOPS deep "$MNT/deep" || fail "deep paths"
rm -rf deep

step "times"
echo x >tm
touch -d '2001-02-03 04:05:06' tm
[ "$(stat -c %Y tm)" -eq "$(date -d '2001-02-03 04:05:06' +%s)" ] || fail "utimens mtime"
touch -a -d '2002-01-01' tm
[ "$(stat -c %X tm)" -eq "$(date -d '2002-01-01' +%s)" ] || fail "utimens atime"
[ "$(stat -c %Y tm)" -eq "$(date -d '2001-02-03 04:05:06' +%s)" ] || fail "UTIME_OMIT of mtime"
old=$(date -d '2001-02-03 04:05:06' +%s) recent=$(date -d 2020-01-01 +%s)
touch -d @"$old" tn
touch tn # utimensat(NULL): both times now
[ "$(stat -c %X tn)" -gt "$recent" ] && [ "$(stat -c %Y tn)" -gt "$recent" ] ||
    fail "touch (UTIME_NOW) left atime $(stat -c %x tn), mtime $(stat -c %y tn)"
touch -d @"$old" tn
touch -m tn # mtime now, atime UTIME_OMIT
[ "$(stat -c %X tn)" -eq "$old" ] && [ "$(stat -c %Y tn)" -gt "$recent" ] ||
    fail "touch -m left atime $(stat -c %x tn), mtime $(stat -c %y tn)"
touch -d @"$old" tn
touch -a tn # atime now, mtime UTIME_OMIT
[ "$(stat -c %X tn)" -gt "$recent" ] && [ "$(stat -c %Y tn)" -eq "$old" ] ||
    fail "touch -a left atime $(stat -c %x tn), mtime $(stat -c %y tn)"
c0=$(stat -c %Z tm)
m0=$(stat -c %Y tm)
echo more >>tm
[ "$(stat -c %Y tm)" -gt "$m0" ] || fail "write did not update mtime"
[ "$(stat -c %Z tm)" -ge "$c0" ] || fail "write did not update ctime"
$FSOPS write-times tw || fail "times of a write, before and after close"
tw_times=$(stat -c '%.9Y %.9Z' tw)
c1=$(stat -c %.9Z tm)
chmod 600 tm
[ "$(stat -c %.9Z tm)" != "$c1" ] || fail "chmod did not update ctime"
mkdir tdir
dm=$(stat -c %.9Y tdir)
touch tdir/newfile
[ "$(stat -c %.9Y tdir)" != "$dm" ] || fail "create did not update the directory mtime"
touch -a -d '2000-01-01' tm
cat tm >/dev/null
[ "$(stat -c %X tm)" -gt "$(date -d '2000-01-02' +%s)" ] || fail "relatime: old atime not updated on read"
$FSOPS cached-atime ta || fail "relatime, a file in the page cache"

step "remount keeps it all"
ino=$(stat -c %i a)
cd /
qfs_remount
cd "$MNT"
[ "$(stat -c %i a)" = "$ino" ] || fail "inode number changed"
[ "$(stat -c %h a)" -eq 2 ] || fail "nlink after remount"
[ "$(readlink longsym)" = "$long" ] || fail "symlink after remount"
[ "$(getfattr --only-values -n user.big a)" = "$(cat "$T/bigval")" ] || fail "xattr after remount"
cmp -n 65536 fp "$T/fp.ref" || fail "data after remount"
[ "$(stat -c %F fifo)" = fifo ] || fail "fifo after remount"
[ "$(stat -c '%.9Y %.9Z' tw)" = "$tw_times" ] || fail "a write's mtime/ctime changed by the remount"
cd /
qfs_umount || fail "unclean exit"
echo "ok"
