#!/usr/bin/env bash
# kill -9 of the daemon during a write+fsync workload, then remount: every
# byte that fsync acknowledged (recorded by the workload on another disk)
# is there. Two rounds, the second on the store the first one left.
. "$(dirname "$0")/lib.sh"
FSOPS="python3 $QFS_HELPERS/fsops.py"
ACKS=$T/acks.log
: >"$ACKS"

wait_acks() { # n: poll the ack log until it has n more lines (30 s deadline)
    local want=$(($(wc -l <"$ACKS") + $1)) end=$((SECONDS + 30))
    while [ "$(wc -l <"$ACKS")" -lt "$want" ]; do
        [ $SECONDS -lt $end ] || fail "workload made no progress"
        sleep 0.05
    done
}

for round in 1 2; do
    step "round $round: workload, then kill -9"
    qfs_mount
    mkdir -p "$MNT/w"
    $FSOPS workload "$MNT/w" "$ACKS" 2>/dev/null &
    wpid=$!
    CLEANUP_HOOKS+=("kill $wpid 2>/dev/null")
    wait_acks "$(scale 40)"
    kill -9 "$QFS_PID"
    wait "$QFS_PID" || true
    QFS_PID=
    wait "$wpid" || true
    qfs_umount || true
    step "round $round: remount and verify"
    qfs_mount
    bytes=$($FSOPS verify "$MNT/w" "$ACKS") || fail "acknowledged data lost"
    echo "verified $bytes fsync'd bytes in $(wc -l <"$ACKS") records"
    qfs_umount || fail "unclean exit after verify"
done
echo "ok"
