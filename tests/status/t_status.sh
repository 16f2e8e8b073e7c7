#!/usr/bin/env bash
# qfs against a real single-node mount: the verdict, per-path status, wait-sync,
# a chunk the node lacks (waiting / catching up, then in sync again), conflict
# copies by name and --resolve through the mount, metrics, --json validated
# against the schema, finding the node three ways, and a daemon that is gone.
# Cluster situations (no quorum, a paused peer, a real conflict) are in
# tests/cluster once the cluster lands: see NOTES in docs/qfs-status.md.
. "$(dirname "$0")/lib_status.sh"

qfs_mount_ctl
cd "$MNT"

step "in sync: the verdict comes first, exit 0, from inside the mount"
echo hello >a.txt
mkdir -p d/e
head -c 300000 /dev/urandom >d/e/big
expect_rc 0 qfs status
[ "$(head -n1 "$T/out")" = "in sync" ] || fail "first line: $(head -n1 "$T/out")"
grep -q "mount $MNT" "$T/out" || fail "status does not name the mount: $(cat "$T/out")"
grep -q $'\033' "$T/out" && fail "colour escapes written to a pipe"
expect_rc 0 qfs status --json
validate status '(d["verdict"], d["consensus"]["quorum"], d["data"]["logical_bytes"])' \
    "('in_sync', True, 300006)"

step "finding the node: --data, -c node.conf, outside the mount"
cd /
expect_rc 3 qfs status
grep -q "not inside a quorumfs mount" "$T/err" || fail "outside a mount: $(cat "$T/err")"
expect_rc 0 qfs status --data "$DATA"
qfs init --data "$T/ident" --listen 127.0.0.1:1 >/dev/null
sed -i "s|^data = .*|data = $DATA|" "$T/ident/node.conf"
expect_rc 0 qfs status -c "$T/ident/node.conf"
expect_rc 3 qfs status --data "$DATA" "$T" # not in that node's mount
grep -q "is not inside a quorumfs mount" "$T/err" || fail "path outside: $(cat "$T/err")"
expect_rc 3 qfs wait-sync --data "$T/ident" --timeout 1 "$MNT" # another node's mount
grep -q "is in the mount of $DATA, not of the node asked" "$T/err" || fail "other node: $(cat "$T/err")"
cd "$MNT/d"

step "per-path status, recursive, in sync"
expect_rc 0 qfs status -r "$MNT"
[ "$(grep -c ': in sync$' "$T/out")" -eq 5 ] || fail "status -r: $(cat "$T/out")"
expect_rc 0 qfs status --json e/big ../a.txt
validate status-paths '(len(d["paths"]), d["paths"][0]["chunks"] > 1, d["paths"][0]["state"])' \
    "(2, True, 'in_sync')"
expect_rc 0 qfs wait-sync --timeout 10
expect_rc 0 qfs wait-sync --timeout 10 --json "$MNT"
validate wait-sync

step "a chunk this node lacks: waiting for chunks, catching up, exit 1"
ino=$(stat -c %i e/big)
cd /
qfs_umount || fail "unclean unmount"
"$CHUNK_DROP" "$DATA" "$ino" >/dev/null || fail "chunk-drop"
qfs_mount_ctl
cd "$MNT"
expect_rc 1 qfs status d/e/big
grep -Eq '^d/e/big: waiting for 1 of [0-9]+ chunks' "$T/out" || fail "per path: $(cat "$T/out")"
expect_rc 0 qfs status a.txt
expect_rc 1 qfs status
grep -q '^catching up (1 chunks, ' "$T/out" || fail "verdict: $(head -n1 "$T/out")"
expect_rc 1 qfs status --json
validate status '(d["verdict"], d["sync"]["missing_chunks"], d["exit_code"])' "('catching_up', 1, 1)"
expect_rc 1 qfs wait-sync --timeout 0.3 d/e/big
grep -q "not in sync after" "$T/out" || fail "wait-sync timeout: $(cat "$T/out")"
expect_rc 0 qfs wait-sync --timeout 5 a.txt
expect_rc 0 qfs metrics
grep -qx 'qfs_missing_chunks 1' "$T/out" || fail "metrics: $(grep missing "$T/out")"
grep -qx 'qfs_in_sync 0' "$T/out" || fail "metrics: $(grep in_sync "$T/out")"

step "the file rewritten: nothing missing any more, in sync"
head -c 1000 /dev/urandom >d/e/big
expect_rc 0 qfs wait-sync --timeout 10
expect_rc 0 qfs status
[ "$(head -n1 "$T/out")" = "in sync" ] || fail "after rewrite: $(head -n1 "$T/out")"

step "conflict copies: per-path status, --resolve copy and original"
echo mine >notes.txt
echo theirs >notes.conflict-20261126-120000-ABCDEFG.txt
expect_rc 0 qfs status notes.txt notes.conflict-20261126-120000-ABCDEFG.txt
grep -q '^notes.txt: in sync, conflicted (copy: notes.conflict-20261126-120000-ABCDEFG.txt)' "$T/out" ||
    fail "conflicted: $(cat "$T/out")"
grep -q 'a conflict copy of notes.txt' "$T/out" || fail "copy: $(cat "$T/out")"
expect_rc 0 qfs conflicts --resolve copy notes.txt
[ "$(cat notes.txt)" = theirs ] || fail "resolve copy: notes.txt holds $(cat notes.txt)"
[ ! -e notes.conflict-20261126-120000-ABCDEFG.txt ] || fail "copy left after resolve"
echo other >notes.conflict-20261126-130000-HIJKLMN.txt
expect_rc 0 qfs conflicts --json --resolve original notes.conflict-20261126-130000-HIJKLMN.txt
validate conflicts-resolve
[ "$(cat notes.txt)" = theirs ] && [ ! -e notes.conflict-20261126-130000-HIJKLMN.txt ] ||
    fail "resolve original"
expect_rc 3 qfs conflicts --resolve copy notes.txt
expect_rc 0 qfs conflicts --json
validate conflicts

step "peers and metrics"
expect_rc 0 qfs peers
grep -q 'this node' "$T/out" || fail "peers: $(cat "$T/out")"
expect_rc 0 qfs peers --json
validate peers
expect_rc 0 qfs metrics
grep -qx 'qfs_up 1' "$T/out" || fail "metrics: no qfs_up 1"
grep -qx 'qfs_in_sync 1' "$T/out" || fail "metrics: not in sync"
grep -q '^# TYPE qfs_fetched_bytes_total counter$' "$T/out" || fail "metrics: TYPE lines"
grep -Ev '^(# (HELP|TYPE) qfs_[a-z_]+ .+|qfs_[a-z_]+(\{peer="[^"]*"\})? -?[0-9.e+-]+)$' "$T/out" &&
    fail "metrics: lines outside the text format"
expect_rc 0 qfs metrics --json
validate metrics

step "a daemon that is gone: one line saying so and how to start it, exit 2"
cd /
kill -9 "$QFS_PID"
wait "$QFS_PID" 2>/dev/null || true
QFS_PID=
fusermount3 -u "$MNT" 2>/dev/null || umount -l "$MNT"
[ -S "$DATA/control.sock" ] || fail "expected the killed daemon's socket to be left behind"
expect_rc 2 qfs status --data "$DATA"
[ "$(wc -l <"$T/err")" -eq 1 ] || fail "not one line: $(cat "$T/err")"
grep -q "no quorumfs daemon is running for $DATA; start it with: quorumfs --data $DATA MOUNTPOINT" "$T/err" ||
    fail "message: $(cat "$T/err")"
expect_rc 2 qfs wait-sync --data "$DATA" --timeout 1
expect_rc 2 qfs metrics --data "$DATA"
grep -qx 'qfs_up 0' "$T/out" || fail "metrics of a dead daemon: $(cat "$T/out")"
qfs_mount_ctl # the stale socket is replaced
expect_rc 0 qfs status --data "$DATA"
qfs_umount || fail "unclean unmount"
[ ! -e "$DATA/control.sock" ] || fail "socket left after a clean exit"

step "every --json document against the schema"
validate_all
echo PASS
