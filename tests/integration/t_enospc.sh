#!/usr/bin/env bash
# ENOSPC with the data dir on a 64 MiB tmpfs: the writer gets ENOSPC,
# committed files stay intact, deleting files makes room again (including
# the room the failed write took), and a remount shows everything as it was.
. "$(dirname "$0")/lib.sh"
SMALL=$T/small
mkdir -p "$SMALL"
mount -t tmpfs -o size=64m qfs-enospc "$SMALL"
CLEANUP_HOOKS+=("umount -l '$SMALL'")
DATA=$SMALL/data
LOG=$T/daemon.log

head -c 4000000 /dev/urandom >"$T/keep"
qfs_mount
cp "$T/keep" "$MNT/keep"
sync "$MNT/keep"
: >"$MNT/second"

step "fill the disk"
if dd if=/dev/urandom of="$MNT/big" bs=1M count=200 conv=fsync status=none 2>"$T/dd.err"; then
    fail "writing 200 MiB to a 64 MiB disk succeeded"
fi
grep -q "No space left on device" "$T/dd.err" || fail "expected ENOSPC, got: $(cat "$T/dd.err")"
cmp "$T/keep" "$MNT/keep" || fail "committed file damaged by ENOSPC"
# dd's close() returned once its flush failed; the release that follows is
# not waited for, and it tries the commit once more, pinning the chunks it
# puts again. Until it fails too, that room is not free.
deadline=$((SECONDS + 60))
until grep -q "release of inode .* failed" "$LOG"; do
    [ $SECONDS -lt $deadline ] || fail "the failed file's release did not end"
    sleep 0.02
done

step "write again: the failed write's room is free"
# Its chunks never got into a file; its commit handed them to the GC. No
# command has been applied since, so no collection has run: the put that
# finds the disk full asks for one. 20 MB is more than the full disk had
# left (about 11 MB).
head -c 20000000 /dev/urandom >"$T/second"
dd if="$T/second" of="$MNT/second" bs=1M conv=notrunc,fsync status=none ||
    fail "no room for the failed write's space"
cmp "$T/second" "$MNT/second" || fail "second differs"

step "delete, then write again"
# The unlink returns before the GC has deleted second's chunks: a put that
# finds the disk full waits for that collection. 40 MB fits only once they
# are gone.
rm -f "$MNT/big" "$MNT/second"
head -c 40000000 /dev/urandom >"$T/after"
cp "$T/after" "$MNT/after" || fail "no room after deleting"
sync "$MNT/after" || fail "fsync after deleting"
cmp "$T/after" "$MNT/after" || fail "file written after ENOSPC differs"

step "remount"
qfs_remount
cmp "$T/keep" "$MNT/keep" || fail "keep differs after remount"
cmp "$T/after" "$MNT/after" || fail "after differs after remount"
[ ! -e "$MNT/big" ] && [ ! -e "$MNT/second" ] || fail "a deleted file is back"
qfs_umount || fail "unclean exit"
echo "ok"
