#!/usr/bin/env bash
# Operations on a node that has applied a file's commit but not yet received
# its chunks: each fetches what it needs and succeeds. A follower is frozen
# while the leader writes a 32 MiB file, then thawed and given the operation
# at once: its open catches up on the commit in one round trip, long before
# the chunks that the leader's push still has to send it arrive. The copy
# used to fail EAGAIN, taking the absent chunks for ones its GC had deleted
# (found by the cluster fsx in a local CI run of session 27; the build
# before the fix failed here 3 of 3).
. "$(dirname "$0")/lib.sh"
cluster_up
L=$(leader)
[ -n "$L" ] || L=a
R=
for x in a b c; do [ "$x" = "$L" ] || R=$x; done

# on_both OP FILE REF: OP applied to the mount's FILE and the reference REF.
on_both() {
    "$PY" - "$@" <<'PY'
import ctypes, mmap, os, sys
op, path, ref = sys.argv[1:]
libc = ctypes.CDLL("libc.so.6", use_errno=True)
MiB = 1 << 20

def copy(src_path, dst_path):
    src = os.open(src_path, os.O_RDONLY)
    dst = os.open(dst_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    left = os.fstat(src).st_size
    while left:
        n = os.copy_file_range(src, dst, left)
        if n == 0:
            sys.exit("copy_file_range returned 0 with %d bytes left" % left)
        left -= n
    os.close(dst)
    os.close(src)

def punch(fd):  # FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE
    if libc.fallocate(fd, 3, ctypes.c_long(5 * MiB), ctypes.c_long(3 * MiB)):
        raise OSError(ctypes.get_errno(), "fallocate")

def mapwrite(fd):
    m = mmap.mmap(fd, 0)
    m[9 * MiB:9 * MiB + 5] = b"hello"
    m.flush()
    m.close()

edits = {
    "edit": lambda fd: os.pwrite(fd, b"X", 16 * MiB),
    "append": lambda fd: os.pwrite(fd, b"tail" * 1000, 32 * MiB),
    "punch": punch,
    "truncate": lambda fd: os.ftruncate(fd, 7 * MiB + 123),
    "mapwrite": mapwrite,
}
if op == "copy":
    copy(path, path + ".copy")
    copy(ref, ref + ".copy")
else:
    for p in (path, ref):
        fd = os.open(p, os.O_RDWR)
        edits[op](fd)
        os.close(fd)
PY
}

for op in copy edit append punch truncate mapwrite; do
    step "freeze follower $R; $L writes f-$op (32 MiB); thaw $R and $op there at once"
    head -c $((32 << 20)) /dev/urandom >"$T/ref-$op"
    node_freeze "$R"
    cp "$T/ref-$op" "$(mnt "$L")/f-$op" || fail "the write on $L failed"
    kill -CONT "${PID[$R]}"
    # Lookups right after a stall are another subject (ARCHITECTURE, "A node
    # waking from a stall"); the operation comes once the file is seen.
    wait_until "$SYNC_SECS" test -e "$(mnt "$R")/f-$op" || fail "$R does not see f-$op"
    on_both "$op" "$(mnt "$R")/f-$op" "$T/ref-$op" || fail "$op on $R failed"
    sfx= # the file to compare: the copy, or the file edited
    [ "$op" = copy ] && sfx=.copy
    cmp "$T/ref-$op$sfx" "$(mnt "$R")/f-$op$sfx" || fail "$op: $R shows other bytes"
    wait_until "$SYNC_SECS" cmp -s "$T/ref-$op$sfx" "$(mnt "$L")/f-$op$sfx" ||
        fail "$op: $L shows other bytes"
done
grep "fetch from peers failed" "$(log "$R")" && fail "$R could not fetch a chunk"
converge
finish
