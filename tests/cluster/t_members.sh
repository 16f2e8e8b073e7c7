#!/usr/bin/env bash
# A node's config must name the members its consensus state was built with
# (DATA/members, docs/on-disk-meta.md "Member list"). Engine indexes are
# ranks among the member IDs, so a config naming other members renumbers
# the nodes under the persisted ballots and origins; a dead node re-created
# with `qfs init` (a new ID) would take its place without its votes.
# Membership changes are not supported: such a start is refused, naming
# both lists, and the node starts again once the config is restored.
. "$(dirname "$0")/lib.sh"
cluster_up
x=c
[ "$(tail -n +2 "$(data "$x")/members" | wc -l)" = 3 ] || fail "members file: $(cat "$(data "$x")/members")"
echo one >"$(mnt a)/f1"

step "a config with one peer replaced by a new identity is refused"
node_kill9 "$x"
cp "$(conf "$x")" "$T/conf.orig"
newid=$("$QFS_CLI" init --data "$T/stranger" --listen 127.0.0.1:1 2>/dev/null | tail -n 1)
[ -n "$newid" ] || fail "qfs init printed no ID"
old=$(sed -n 's/^peer *= *\([^ ]*\) .*/\1/p' "$(conf "$x")" | head -n 1)
sed -i "s/$old/$newid/" "$(conf "$x")"
if timeout 30 "$QFS_BIN" -f -c "$(conf "$x")" "$(mnt "$x")" >"$T/refused.out" 2>&1; then
    fail "$x started with another member list"
fi
grep -q "Membership changes are not supported" "$T/refused.out" ||
    fail "no reason given: $(tail -n 3 "$T/refused.out")"
grep -q "$newid" "$T/refused.out" || fail "the config's list is not shown"

step "a config with a peer dropped is refused too"
cp "$T/conf.orig" "$(conf "$x")"
sed -i "/^peer *= *$old /d" "$(conf "$x")"
if timeout 30 "$QFS_BIN" -f -c "$(conf "$x")" "$(mnt "$x")" >"$T/refused2.out" 2>&1; then
    fail "$x started with a member fewer"
fi
grep -q "Membership changes are not supported" "$T/refused2.out" ||
    fail "no reason given: $(tail -n 3 "$T/refused2.out")"

step "the config restored, $x starts and catches up"
cp "$T/conf.orig" "$(conf "$x")"
node_start "$x"
node_wait_mounted "$x"
echo two >"$(mnt a)/f2"
wait_until "$SYNC_SECS" exists_on f2 a b c || fail "f2 not on every node"
converge
finish
