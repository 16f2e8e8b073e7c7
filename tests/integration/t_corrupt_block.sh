#!/usr/bin/env bash
# A damaged byte costs the reads of its 4 KiB block only (chunk format 3:
# a CRC per block): O_DIRECT reads (exactly the bytes asked for, no kernel
# readahead) of the other blocks of the same chunk return the right bytes,
# and a read of the damaged block is EIO.
. "$(dirname "$0")/lib.sh"
: "${QFS_CHUNK_CORRUPT:?QFS_CHUNK_CORRUPT must name the chunk-corrupt tool}"
# under CHUNK_MIN: one chunk of four blocks, the store's only one
head -c 16000 /dev/urandom >"$T/ref"
qfs_mount
cp "$T/ref" "$MNT/victim"
qfs_umount || fail "unclean exit"

step "corrupt the chunk: its middle byte (8000, in block 1)"
"$QFS_CHUNK_CORRUPT" "$DATA/chunks" || fail "chunk-corrupt failed"

qfs_mount
block() { dd if="$MNT/victim" of="$T/b$1" bs=4096 skip="$1" count=1 iflag=direct status=none; }
for b in 0 2 3; do
    block "$b" 2>"$T/err" || fail "block $b of the damaged chunk: $(cat "$T/err")"
    cmp "$T/b$b" <(dd if="$T/ref" bs=4096 skip="$b" count=1 status=none) ||
        fail "block $b: wrong bytes"
done
if block 1 2>"$T/err"; then
    fail "the damaged block read without an error"
fi
grep -q "Input/output error" "$T/err" || fail "expected EIO, got: $(cat "$T/err")"
qfs_umount || fail "unclean exit"
echo "ok"
