#!/usr/bin/env bash
# A node that is led but behind does not answer lookups from its store: the
# others create files faster than it applies them (QFS_TEST_APPLY_DELAY_MS:
# 40 ms per entry), and its lookup of the last one waits, past the usual 2 s,
# while its apply's pace says it will catch up within CL_CATCHUP_MS (4 s),
# instead of answering ENOENT from the state it has applied so far.
. "$(dirname "$0")/lib.sh"
cluster_up
step "restart c with every applied entry 40 ms slower"
node_umount c
QFS_TEST_APPLY_DELAY_MS=40 node_start c
node_wait_mounted c
converge

# How long c takes per entry here (the knob's 40 ms plus its own work), so
# that the run below leaves it about 2.8 s behind: more than a lookup's
# usual 2 s, less than the 4 s it may wait while catching up.
step "calibrate: 10 creates on a until c has them"
t0=$(now_ms)
for i in $(seq 10); do : >"$(mnt a)/cal$i"; done
wait_until "$SYNC_SECS" test -e "$(mnt c)/cal10" || fail "c does not catch up"
per=$((($(now_ms) - t0) / 10))
N=$((2800 / (per > 0 ? per : 1)))
echo "c applies an entry in about $per ms: $N creates"
[ "$N" -ge 10 ] || fail "c is too slow for this test ($per ms per entry)"

step "create $N files on a, then look the last one up on c at once"
for i in $(seq "$N"); do : >"$(mnt a)/f$i"; done
t0=$(now_ms)
stat "$(mnt c)/f$N" >/dev/null 2>"$T/stat.err" || fail "c answered from its store: $(cat "$T/stat.err")"
echo "the lookup on c took $(($(now_ms) - t0)) ms"
converge
finish
