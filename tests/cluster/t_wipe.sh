#!/usr/bin/env bash
# A node whose data directory was lost (a replaced disk, `rm -rf` of its
# data) comes back under the same identity without voting away what it
# acknowledged before (docs/consensus.md, "Rebuild").
#
# x2 is committed by the leader and node W while the third node O is down,
# then the leader is frozen and W loses its data and restarts. O and W are a
# majority, but neither holds x2: if W voted at once they would elect a
# leader and write over x2's slot (the build before the rebuild did, and x2
# was gone for good, the trees diverged). W must wait for every member, so
# until the leader thaws a mutation on O fails (EROFS) and nothing is lost;
# after, all three converge with x2. Then O's Paxos log is damaged: the
# daemon must refuse to start, name the way out (move it aside), and rebuild
# once it is moved.
. "$(dirname "$0")/lib.sh"
cluster_up
# qfs init marked each data directory as a new node's; the first start takes
# the mark (a node without it and without a promise rebuilds).
for x in a b c; do [ ! -e "$(data "$x")/new-node" ] || fail "$x still has its new-node mark"; done
L=$(leader)
[ -n "$L" ] || L=a
others=()
for x in a b c; do [ "$x" = "$L" ] || others+=("$x"); done
O=${others[0]}
W=${others[1]}
echo one >"$(mnt "$L")/x1"
wait_until "$SYNC_SECS" exists_on x1 a b c || fail "x1 not seen by all"

step "kill -9 $O; x2 is committed by $L and $W"
node_kill9 "$O"
echo two >"$(mnt "$L")/x2" || fail "write of x2 on $L failed"
sync "$(mnt "$L")/x2"

step "$L freezes; $W loses its data directory (its config and keys stay) and restarts"
# L freezes first: a W that heard L's state before it froze would rightly
# finish its rebuild with x2 (CI saw that), and the test would show nothing.
node_kill9 "$W"
node_freeze "$L"
d=$(data "$W")
find "$d" -mindepth 1 -maxdepth 1 ! -name node.conf ! -name node.crt ! -name node.key \
    -exec rm -rf {} +
node_start "$W"
node_wait_mounted "$W"
node_start "$O"
node_wait_mounted "$O"

step "$O and $W without $L: mutations refused, x2 not written over"
# Long enough for O and W to elect a leader if W voted (an election takes
# under a second; the start-up grace is 2 s).
refused=0 i=0
end=$(($(now_ms) + 6000))
while [ "$(now_ms)" -lt "$end" ]; do
    i=$((i + 1))
    if out=$("$PY" "$OP" create-excl "$(mnt "$O")/x3-$i"); then
        fail "create on $O succeeded while $L was frozen: $W voted without its old state"
    fi
    [ "$out" = EROFS ] && refused=$((refused + 1))
    sleep 0.2
done
[ "$refused" -gt 0 ] || fail "creates on $O failed, but never with EROFS (last: $out)"
st=$(timeout 10 "$QFS_CLI" status -c "$(conf "$W")" 2>&1 | head -n 1 || true)
case "$st" in
*"rebuilding its consensus state"*) echo "qfs status on $W: $st" ;;
*) fail "qfs status on $W does not say it is rebuilding: $st" ;;
esac

step "thaw $L: $W rebuilds, all three converge with x2"
kill -CONT "${PID[$L]}"
wait_until "$SYNC_SECS" exists_on x2 a b c || fail "x2 not on every node after the thaw"
[ "$(cat "$(mnt "$W")/x2")" = two ] || fail "x2 has the wrong content on $W"
wait_until "$SYNC_SECS" grep -q "every member sent its state" "$(log "$W")" ||
    fail "$W logged no end of its rebuild"
wait_until "$SYNC_SECS" touch "$(mnt "$O")/x4" || fail "no create on $O after the thaw"
wait_until "$SYNC_SECS" touch "$(mnt "$W")/x5" || fail "no create on $W after the thaw"
converge

step "$O's Paxos log is damaged: the daemon refuses to start and says how to rebuild"
node_kill9 "$O"
plog=$(data "$O")/paxos.log
"$PY" - "$plog" <<'PYEOF'
import sys
with open(sys.argv[1], "r+b") as f:  # a byte inside the first frame (after the 32-byte header)
    f.seek(32 + 12 + 3)
    b = f.read(1)
    f.seek(32 + 12 + 3)
    f.write(bytes([b[0] ^ 0xFF]))
PYEOF
if timeout 30 "$QFS_BIN" -f -c "$(conf "$O")" "$(mnt "$O")" >"$T/damaged.out" 2>&1; then
    fail "$O started on a damaged Paxos log"
fi
grep -q "move $plog aside and start again" "$T/damaged.out" ||
    fail "no way out named: $(tail -n 3 "$T/damaged.out")"
mv "$plog" "$plog.damaged"
node_start "$O"
node_wait_mounted "$O"
wait_until "$SYNC_SECS" grep -q "every member sent its state" "$(log "$O")" ||
    fail "$O logged no end of its rebuild"
wait_until "$SYNC_SECS" touch "$(mnt "$O")/x6" || fail "no create on $O after its rebuild"
converge
finish
