#!/usr/bin/env bash
# A chunk corrupted in LMDB while unmounted reads as EIO, never as wrong
# data, and the daemon logs which file and offset.
. "$(dirname "$0")/lib.sh"
: "${QFS_CHUNK_CORRUPT:?QFS_CHUNK_CORRUPT must name the chunk-corrupt tool}"
head -c 1000000 /dev/urandom >"$T/ref"
qfs_mount
cp "$T/ref" "$MNT/victim"
cmp "$T/ref" "$MNT/victim" || fail "copy differs before corruption"
qfs_umount || fail "unclean exit"

step "corrupt one chunk"
"$QFS_CHUNK_CORRUPT" "$DATA/chunks" || fail "chunk-corrupt failed"

step "read gives EIO, and only correct bytes before it"
qfs_mount
if cat "$MNT/victim" >"$T/out" 2>"$T/err"; then
    fail "reading a corrupted file succeeded"
fi
grep -q "Input/output error" "$T/err" || fail "expected EIO, got: $(cat "$T/err")"
got=$(stat -c %s "$T/out")
[ "$got" -lt 1000000 ] || fail "all bytes returned"
cmp -n "$got" "$T/out" "$T/ref" || fail "wrong data returned before the error"
grep -qi "victim\|inode\|ino" "$LOG" && grep -qi "offset" "$LOG" ||
    fail "the daemon did not log the file and offset of the bad chunk"
qfs_umount || fail "unclean exit"
echo "ok"
