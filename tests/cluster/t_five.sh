#!/usr/bin/env bash
# Five nodes: a majority is three. With two of the five frozen, the other
# three keep taking writes. With a third frozen, the two left, the leader
# among them, answer mutations with EROFS within seconds (ETIMEDOUT for the
# first ones, proposed before they noticed) and keep serving reads: the
# leader steps down once no majority answers it (check-quorum), or its
# follower would go on believing in a quorum and time out for ever. Thawed,
# all five converge with every acknowledged write. Two nodes killed with -9
# and restarted catch up with what the other three wrote meanwhile.
. "$(dirname "$0")/lib.sh"
NODES=(a b c d e) # before cluster_up: lib.sh sizes everything by NODES
EROFS_SECS=$([ "$SANITIZED" = 1 ] && echo 20 || echo 10)
cluster_up
mkdir "$(mnt a)/w"
echo "read me" >"$(mnt a)/w/keep"
wait_until "$SYNC_SECS" exists_on w/keep "${NODES[@]}" || fail "w/keep is not seen on all five"

# The leader L and one follower M stay; F1, F2 and F3 are frozen in turn.
L=$(leader)
[ -n "$L" ] || fail "no node names a leader (qfs status --json)"
rest=()
for x in "${NODES[@]}"; do [ "$x" = "$L" ] || rest+=("$x"); done
M=${rest[0]} F1=${rest[1]} F2=${rest[2]} F3=${rest[3]}
echo "leader $L, stays with $M; frozen: $F2 $F3, then $F1"

step "freeze $F2 and $F3: $L, $M and $F1 are three of five and keep writing"
node_freeze "$F2" "$F3"
writer_start "$L" wl
writer_start "$F1" wf
wait_until "$SYNC_SECS" acks_above wl 5 || fail "writes on $L stall with $F2 and $F3 frozen"
wait_until "$SYNC_SECS" acks_above wf 5 || fail "writes on $F1 stall with $F2 and $F3 frozen"
writer_stop wl
writer_stop wf

step "freeze $F1 too: $L (the leader) and $M are two of five"
# refused X: mutations on X fail, and within EROFS_SECS with EROFS.
refused() {
    local x=$1 i=0 out t0
    t0=$(date +%s.%N)
    while :; do
        i=$((i + 1))
        out=$(timeout $((EROFS_SECS + 5)) "$PY" "$OP" mkdir "$(mnt "$x")/w/dir-$x-$i" 2>&1) &&
            fail "a mkdir on $x (two of five) succeeded"
        case $out in EROFS) break ;; ETIMEDOUT) ;; *) fail "a mkdir on $x gave '$out'" ;; esac
        [ "$(echo "$(date +%s.%N) - $t0 < $EROFS_SECS" | bc)" = 1 ] ||
            fail "$x still answers ETIMEDOUT after ${EROFS_SECS}s, not EROFS"
    done
    echo "$x: EROFS at attempt $i, after $(echo "$(date +%s.%N) - $t0" | bc) s"
}
node_freeze "$F1"
refused "$M"
refused "$L"
[ "$(timeout 10 cat "$(mnt "$M")/w/keep")" = "read me" ] || fail "a read on $M (two of five) failed"
timeout 10 ls "$(mnt "$L")/w" >/dev/null || fail "readdir on $L (two of five) failed"

step "thaw $F1, $F2 and $F3: mutations work again, all five converge"
kill -CONT "${PID[$F1]}" "${PID[$F2]}" "${PID[$F3]}"
wait_until "$SYNC_SECS" "$PY" "$OP" create-excl "$(mnt "$M")/w/after" ||
    fail "$M still refuses mutations after the others thawed"
converge
verify_acked wl "$F2" "$F3"
verify_acked wf "$F2" "$F3"

step "kill -9 $F2 and $F3; the other three write; $F2 and $F3 restart and catch up"
node_kill9 "$F2"
node_kill9 "$F3"
writer_start "$M" wm
wait_until "$SYNC_SECS" acks_above wm 5 || fail "writes on $M stall with $F2 and $F3 down"
writer_stop wm
node_start "$F2"
node_start "$F3"
node_wait_mounted "$F2"
node_wait_mounted "$F3"
converge
verify_acked wm "$F2" "$F3"
finish
