#!/usr/bin/env bash
# Directory listing through the mount: a few thousand entries list in full
# (readdir and readdirplus), and a listing that runs while entries are
# unlinked shows no entry twice and misses none that stayed.
. "$(dirname "$0")/lib.sh"
# 1,000 entries fill ~40 kernel readdir buffers (4 KiB each), so listings
# resume from the core's cookies many times (the 100,000-entry directory is
# a core unit test: each create here is a durable command).
N=$(scale 1000)
qfs_mount
mkdir "$MNT/big"
# Eight creators at once: the core's group commit batches them.
python3 - "$MNT/big" "$N" <<'PY'
import os, sys
from concurrent.futures import ThreadPoolExecutor
d, n = sys.argv[1], int(sys.argv[2])
def make(i):
    os.close(os.open(os.path.join(d, f"entry-{i:06d}"), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
with ThreadPoolExecutor(8) as pool:
    list(pool.map(make, range(1, n + 1)))
PY

step "full listing"
[ "$(ls -U "$MNT/big" | wc -l)" -eq "$N" ] || fail "readdir lists $(ls -U "$MNT/big" | wc -l) of $N"
[ "$(ls -lU "$MNT/big" | grep -c ' entry-')" -eq "$N" ] || fail "readdirplus (ls -l) incomplete"
[ "$(find "$MNT/big" -type f | wc -l)" -eq "$N" ] || fail "find incomplete"

step "listing while unlinking"
python3 - "$MNT/big" "$N" <<'PY' || fail "listing during unlinks"
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
names = [f"entry-{i:06d}" for i in range(1, n + 1)]
doomed = set(names[1::3])          # every third name, spread over the directory
seen, removed = [], False
with os.scandir(d) as it:
    for e in it:
        seen.append(e.name)
        if len(seen) == max(1, n // 10) and not removed:
            for name in doomed:
                os.unlink(os.path.join(d, name))
            removed = True
dups = len(seen) - len(set(seen))
missing = [x for x in names if x not in doomed and x not in set(seen)]
if dups or missing:
    sys.exit(f"{dups} duplicates, {len(missing)} missing (e.g. {missing[:3]})")
print(f"listed {len(seen)} entries while {len(doomed)} were unlinked")
PY
[ "$(ls -U "$MNT/big" | wc -l)" -eq $((N - (N + 1) / 3)) ] || fail "count after unlinks"
cd /
qfs_umount || fail "unclean exit"
echo "ok"
