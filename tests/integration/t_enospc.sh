#!/usr/bin/env bash
# ENOSPC with the data dir on a 64 MiB tmpfs: the writer gets ENOSPC,
# committed files stay intact, deleting files makes room again, and a
# remount shows everything as it was.
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

step "fill the disk"
if dd if=/dev/urandom of="$MNT/big" bs=1M count=200 conv=fsync status=none 2>"$T/dd.err"; then
    fail "writing 200 MiB to a 64 MiB disk succeeded"
fi
grep -q "No space left on device" "$T/dd.err" || fail "expected ENOSPC, got: $(cat "$T/dd.err")"
cmp "$T/keep" "$MNT/keep" || fail "committed file damaged by ENOSPC"

step "delete, then write again"
rm -f "$MNT/big"
head -c 8000000 /dev/urandom >"$T/after"
cp "$T/after" "$MNT/after" || fail "no room after deleting"
sync "$MNT/after" || fail "fsync after deleting"
cmp "$T/after" "$MNT/after" || fail "file written after ENOSPC differs"

step "remount"
qfs_remount
cmp "$T/keep" "$MNT/keep" || fail "keep differs after remount"
cmp "$T/after" "$MNT/after" || fail "after differs after remount"
[ ! -e "$MNT/big" ] || fail "deleted file is back"
qfs_umount || fail "unclean exit"
echo "ok"
