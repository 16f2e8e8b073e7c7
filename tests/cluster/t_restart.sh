#!/usr/bin/env bash
# A restarted node answers no lookup from the store it stopped with: a file
# made while it was down is there for its first lookup, even when that
# lookup comes before the node has heard any peer. The other two are frozen
# across its restart, so without the start-up grace (CL_START_GRACE_MS) the
# lookup answers ENOENT at once; with it, the lookup waits for a leader,
# which the others are again once thawed.
. "$(dirname "$0")/lib.sh"
cluster_up
L=$(leader)
[ -n "$L" ] || L=a
R=
for x in a b c; do [ "$x" = "$L" ] || R=$x; done
others=()
for x in a b c; do [ "$x" = "$R" ] || others+=("$x"); done

step "kill -9 follower $R, then create a file on $L"
node_kill9 "$R"
echo made >"$(mnt "$L")/made-while-down" || fail "create on $L failed"

step "freeze ${others[*]}, restart $R, look the file up there"
node_freeze "${others[@]}"
node_start "$R"
node_wait_mounted "$R"
stat "$(mnt "$R")/made-while-down" >/dev/null 2>"$T/stat.err" &
SP=$!
CLEANUP_HOOKS+=("kill $SP 2>/dev/null")
# until the lookup waits in the daemon, or has been answered
lookup_pending() { grep -q fuse "/proc/$SP/stack" 2>/dev/null; }
lookup_done() { [ "$(awk '{print $3}' "/proc/$SP/stat" 2>/dev/null || echo Z)" = Z ]; }
wait_until 10 eval 'lookup_pending || lookup_done' || fail "the lookup neither waits nor returns"
lookup_done && echo "the lookup returned while the others were frozen"
for x in "${others[@]}"; do kill -CONT "${PID[$x]}"; done
rc=0
wait "$SP" || rc=$?
[ "$rc" = 0 ] || fail "restarted $R answered from its old store: $(cat "$T/stat.err")"
[ "$(cat "$(mnt "$R")/made-while-down")" = made ] || fail "wrong content on $R"
converge
finish
