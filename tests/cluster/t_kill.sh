#!/usr/bin/env bash
# kill -9 of the leader while every node writes: the other two elect a new
# leader and their writes resume; every acknowledged write (fsync + close
# returned) is present on both live nodes; the killed node restarts and
# catches up to the same tree.
. "$(dirname "$0")/lib.sh"
cluster_up
mkdir "$(mnt a)/w"
wait_until "$SYNC_SECS" exists_on w b c || fail "w/ is not seen on b and c"
for x in a b c; do writer_start "$x" "w$x"; done
for x in a b c; do
    wait_until "$SYNC_SECS" acks_above "w$x" 2 || fail "the writer on $x makes no progress"
done

L=$(leader)
if [ -z "$L" ]; then
    L=a
    echo "no leader known (qfs status --json): killing $L"
fi
live=()
for x in a b c; do [ "$x" = "$L" ] || live+=("$x"); done
step "kill -9 the leader $L"
t0=$(now_ms)
declare -A before=()
for x in "${live[@]}"; do before[$x]=$(acks "w$x"); done
kill -9 "${PID[$L]}"
for x in "${live[@]}"; do
    wait_until "$SYNC_SECS" acks_above "w$x" $((before[$x] + 2)) ||
        defer_fail "writes on $x did not resume within ${SYNC_SECS}s of the kill"
done
echo "writes resumed on ${live[*]} within $(($(now_ms) - t0)) ms"
node_reap "$L"
for x in a b c; do writer_stop "w$x"; done
step "acknowledged writes on the live nodes"
for x in a b c; do verify_acked "w$x" "${live[@]}"; done
echo "acknowledged: a $(acks wa), b $(acks wb), c $(acks wc)"
converge -- "${live[@]}"

step "restart $L, catch up"
node_start "$L"
node_wait_mounted "$L"
cluster_ready
for x in a b c; do verify_acked "w$x" "$L"; done
converge
finish
