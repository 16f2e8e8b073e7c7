#!/usr/bin/env bash
# A file written in sequence goes to the background committer in frozen
# sets of 64 MiB and more (a dense run of an eighth of the staging bound, at
# most 64 MiB) while the writer goes on: a reader during the write sees
# every byte written so far, and after close and a remount the file is whole.
. "$(dirname "$0")/lib.sh"
mib=160
head -c "${mib}M" /dev/urandom >"$T/ref"
qfs_mount

step "write $mib MiB while a reader follows it"
dd if="$T/ref" of="$MNT/big" bs=1M status=none &
writer=$!
checks=0 bad=
while kill -0 "$writer" 2>/dev/null; do
    n=$(stat -c %s "$MNT/big" 2>/dev/null || echo 0)
    if [ "$n" -gt 0 ]; then
        cmp -n "$n" "$MNT/big" "$T/ref" || { bad=$n && break; }
        checks=$((checks + 1))
    fi
done
if [ -n "$bad" ]; then # end the writer by its PID before the unmount
    kill "$writer"
    wait "$writer" || true
    fail "bytes 0..$bad differ during the write"
fi
wait "$writer" || fail "dd failed"
[ "$checks" -gt 0 ] || echo "note: the write was over before the reader looked"
cmp "$MNT/big" "$T/ref" || fail "file differs after the write"

step "whole after a remount"
qfs_remount
cmp "$MNT/big" "$T/ref" || fail "file differs after the remount"
qfs_umount || fail "unclean exit"
echo "ok ($checks reads during the write)"
