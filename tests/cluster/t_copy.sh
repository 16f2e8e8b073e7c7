#!/usr/bin/env bash
# copy_file_range on a node that has applied the source's commit but not yet
# received its chunks: the copy fetches them and succeeds. (It used to fail
# EAGAIN, taking the absent chunks for ones its GC had deleted; found by the
# cluster fsx in session 26's CI.) A follower is frozen while the leader
# writes a 32 MiB file, then thawed and asked at once for a copy: its open
# catches up on the commit in one round trip, long before the chunks that the
# leader's push still has to send it arrive.
. "$(dirname "$0")/lib.sh"
cluster_up
L=$(leader)
[ -n "$L" ] || L=a
R=
for x in a b c; do [ "$x" = "$L" ] || R=$x; done
head -c $((32 << 20)) /dev/urandom >"$T/ref"

step "freeze follower $R; $L writes a 32 MiB file"
node_freeze "$R"
cp "$T/ref" "$(mnt "$L")/src" || fail "the write on $L failed"

step "thaw $R and copy the file there at once"
kill -CONT "${PID[$R]}"
"$PY" - "$(mnt "$R")/src" "$(mnt "$R")/dst" <<'PY' || fail "copy_file_range on $R failed"
import os, sys
src = os.open(sys.argv[1], os.O_RDONLY)
dst = os.open(sys.argv[2], os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
left = os.fstat(src).st_size
while left:
    n = os.copy_file_range(src, dst, left)
    if n == 0:
        sys.exit("copy_file_range returned 0 with %d bytes left" % left)
    left -= n
os.close(dst)
os.close(src)
PY
cmp "$T/ref" "$(mnt "$R")/dst" || fail "the copy on $R differs from the file written"
grep -q "fetch from peers failed" "$(log "$R")" && fail "$R could not fetch a chunk"
converge
finish
