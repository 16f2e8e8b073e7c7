#!/usr/bin/env bash
# t_full_snapshot.sh - a node whose disk is full falls so far behind that it
# needs a snapshot (frozen meanwhile; the logs keep 64 applied slots,
# QFS_TEST_LOG_RETAIN), and the snapshot cannot be stored until space is
# freed. Meanwhile the node
# answers lookups and reads at once from what it has (it must not wait for
# an index it cannot reach: in the fault suite's long disk-full run every
# lookup there waited its 2 s timeout), a mutation fails at once (ENOSPC or
# EROFS), and `qfs status` says why. Once the disk has room it installs the
# snapshot and converges.
. "$(dirname "$0")/lib.sh"
export QFS_TEST_LOG_RETAIN=64 # inherited by every node_start
OPS=$([ "$SANITIZED" = 1 ] && echo 150 || echo 200) # the log moves past c (64 + 32)
FAST_SECS=1.5 # well below the 2 s a lookup waits for an index it can reach
mkdir -p "$(data c)"
mount -t tmpfs -o size=64m qfs-ct-fullsnap "$(data c)" || fail "cannot mount a tmpfs"
AFTER_HOOKS+=("umount '$(data c)'")
op() { wait_until "$SYNC_SECS" "$@" || fail "failed for ${SYNC_SECS}s: $*"; }
put() { echo "$2" >"$1"; }
snap_failed() { grep -q "snapshot from .* failed: No space left on device" "$(log c)"; }
status_c() { timeout 10 "$QFS_CLI" status -c "$(conf c)" 2>&1 | head -n 1 || true; }
status_says_full() { status_c | grep -q "cannot apply here: ENOSPC"; }
installed() { grep -q "installed a metadata snapshot" "$(log c)"; }
# timed CMD...: runs CMD (its failure is the caller's business), fails the
# test if it took FAST_SECS or more.
timed() {
    local t0 t rc=0
    t0=$(date +%s.%N)
    "$@" >/dev/null 2>&1 || rc=$?
    t=$(echo "$(date +%s.%N) - $t0" | bc)
    echo "on full c: $* -> rc $rc after $t s"
    [ "$(echo "$t < $FAST_SECS" | bc)" = 1 ] || fail "on full c, $* took $t s"
    return $rc
}

cluster_up
A=$(mnt a) C=$(mnt c)
op mkdir -p "$A/w"
op put "$A/w/keep" "read me"
wait_until "$SYNC_SECS" exists_on w/keep c || fail "c does not see w/keep"
# df through c's mount leaves out what chunk puts keep free on its disk: at
# least 2 MiB, and in a cluster room for a snapshot (twice the metadata)
avail_mnt=$(stat -f -c '%a * %S' "$C" | bc)
avail_disk=$(stat -f -c '%a * %S' "$(data c)" | bc)
echo "available on c: $avail_mnt through the mount, $avail_disk on its disk"
[ "$avail_mnt" -le $((avail_disk - (2 << 20))) ] || fail "c's statfs does not leave out the reserve"

step "freeze c, fill its disk; once a and b dropped it, $OPS metadata changes"
# Frozen, c misses the slots the others then truncate (t_snapshot.sh): a
# full disk alone does not always make it miss any, as the Paxos log may
# still fit where the apply does not.
node_freeze c
dd if=/dev/zero of="$(data c)/filler" bs=1M status=none 2>/dev/null || true
[ "$(df --output=avail -B1 "$(data c)" | tail -n 1)" -lt $((1 << 20)) ] || fail "c's disk not full"
dropped_c() {
    grep -q "closing control connection .*silent for too long" "$(log a)" &&
        grep -q "closing control connection .*silent for too long" "$(log b)"
}
wait_until "$SYNC_SECS" dropped_c || fail "a and b never dropped frozen c"
for i in $(seq 1 "$OPS"); do op mkdir -p "$A/w/d$i"; done
kill -CONT "${PID[c]}"

step "c needs a snapshot it cannot store: it says so and answers at once"
wait_until "$SYNC_SECS" snap_failed || fail "c never failed to store a snapshot"
wait_until "$SYNC_SECS" status_says_full || fail "c's status does not say it is full: $(status_c)"
echo "qfs status on c: $(status_c)"
timed stat "$C/w/keep" || fail "stat on full c failed"
[ "$(timeout 20 cat "$C/w/keep")" = "read me" ] || fail "a read on full c failed"
timed ls "$C/w" || fail "readdir on full c failed"
timed stat "$C/w/d$OPS" && fail "c shows d$OPS before it could apply its mkdir"
for i in 1 2 3; do
    out=$(timeout 20 "$PY" "$OP" mkdir "$C/w/full$i" 2>&1) || true
    case $out in ENOSPC | EROFS) echo "mkdir on full c: $out" ;; *) fail "mkdir on full c gave '$out'" ;; esac
done
timed "$PY" "$OP" mkdir "$C/w/full4" || true

step "free c's disk: it installs the snapshot and converges"
rm -f "$(data c)/filler"
wait_until "$SYNC_SECS" installed || fail "c did not install a snapshot once freed"
converge
status_says_full && fail "c still says it cannot apply: $(status_c)"
op mkdir "$C/w/after"
wait_until "$SYNC_SECS" exists_on w/after a b || fail "c's mkdir is not seen on a and b"
finish
