#!/usr/bin/env bash
# The leadership follows the commands (fs/cluster/leader_place.h): creates
# on a follower's mount alone make that node the leader within a few
# seconds, and no create fails while the office changes hands.
. "$(dirname "$0")/lib.sh"
cluster_up
L=$(leader)
[ -n "$L" ] || fail "no leader"
F=
for x in a b c; do [ "$x" = "$L" ] || { F=$x; break; }; done

step "creates on $F's mount (leader $L) until $F leads"
mkdir "$(mnt "$F")/busy"
(
    cd "$(mnt "$F")/busy"
    i=0
    while :; do
        : >"f$i" || { echo "create f$i failed" >>"$T/errors"; exit 1; }
        rm "f$i" || { echo "unlink f$i failed" >>"$T/errors"; exit 1; }
        i=$((i + 1))
    done
) &
W=$!
CLEANUP_HOOKS+=("kill $W 2>/dev/null")
now_leads() { [ "$(leader)" = "$F" ]; }
wait_until "$SYNC_SECS" now_leads || fail "$F does not lead after $SYNC_SECS s of creates there"
kill "$W" 2>/dev/null || true
wait "$W" 2>/dev/null || true
[ ! -s "$T/errors" ] || fail "$(cat "$T/errors")"
grep -q "handing the leadership to" "$(log "$L")" || fail "$L's log does not say why"
echo "$F leads"
converge
finish
