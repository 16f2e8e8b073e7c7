# shellcheck shell=bash
# scenarios.sh - the fault scenarios of issue 7 (sourced by `run`).
#
# A scenario NAME is:
#   SCENARIO_DESC[NAME]   one line for --list and the docs
#   scn_NAME              runs while the workload does; FAULT seconds of
#                         faults; must leave everything healed when it returns
#   scn_NAME_prepare      (optional) before the nodes start
#   SCENARIO_BIG[NAME]    (optional) node role whose mount gets a big-file
#                         writer: "leader"
# Helpers: scn_leader, scn_followers, scn_sleep, scn_note (fault log),
# scn_cut / scn_rejoin (cut-off windows, below).
# Node indices come from the driver (cluster_leader); durations from
# $FAULT_SECONDS.

declare -gA SCENARIO_DESC=(
    [leader-isolated]="the leader is cut off from every other node, then healed"
    [minority-isolated]="a minority of followers is cut off from the rest, then healed"
    [majority-isolated-from-leader]="bridge: the leader keeps one follower, the other followers (with it a majority) lose the leader"
    [flapping-partitions]="a random partition every few seconds, healed in between"
    [kill-leader-during-commit]="kill -9 of the leader while it commits a large file, restarted later"
    [kill-receiver]="kill -9 of a follower while it receives a large file's chunks, restarted later"
    [frozen-node-wakes]="SIGSTOP of a follower; SIGCONT after the others moved on"
    [slow-link]="100 ms +- 50 ms delay and 5% loss each way on one follower's link"
    [disk-full]="one node's data disk (size-limited tmpfs) fills up while the others write"
)
SCENARIOS=(leader-isolated minority-isolated majority-isolated-from-leader flapping-partitions
    kill-leader-during-commit kill-receiver frozen-node-wakes slow-link disk-full)
declare -gA SCENARIO_BIG=([kill-leader-during-commit]=leader [kill-receiver]=leader)

scn_note() { echo "$(date +%s.%N) $*" >>"$FAULT_RUNDIR/faults.log"; fault_log "$*"; }

# Cut-off windows. A node cut off from the leader (partitioned into a
# minority, frozen, on a link too slow for its heartbeats) serves reads from
# its last state, by design (DESIGN.md): its opens and lookups are not held
# to close-to-open and linearizability (nor, behind a full disk, a node that
# cannot apply). scn_cut NODE... opens a window for
# each NODE at the fault; scn_rejoin, after the heal, closes every open
# window once its node is current again (node_current: a quorum, an answered
# read index, applied up to it), so a read is exempt only while its node could not
# know better. Windows: "NODE START END" (CLOCK_MONOTONIC ns) in
# $FAULT_RUNDIR/cutoff; a node that never becomes current keeps END "inf".
scn_cut() {
    local n t
    t=$(fault_mono_ns)
    for n in "$@"; do echo "$n $t" >>"$FAULT_RUNDIR/cutoff-open"; done
}
scn_rejoin() {
    local n t
    [ -s "$FAULT_RUNDIR/cutoff-open" ] || return 0
    while read -r n t; do
        if fault_wait_for 30 node_current "$n"; then
            echo "$n $t $(fault_mono_ns)" >>"$FAULT_RUNDIR/cutoff"
        else
            echo "$n $t inf" >>"$FAULT_RUNDIR/cutoff"
        fi
    done <"$FAULT_RUNDIR/cutoff-open"
    : >"$FAULT_RUNDIR/cutoff-open"
}
scn_sleep() { sleep "$1"; }
# The leader, asked until some node names one (10 s at most, then n0).
# Asked once per scenario: two answers taken apart may differ (an election
# between them), and a scenario built on both cut the wrong nodes.
scn_leader() {
    local l i
    for i in $(seq 50); do
        l=$(cluster_leader)
        [ -n "$l" ] && { scn_note "leader: n$l"; echo "$l"; return; }
        sleep 0.2
    done
    scn_note "no node names a leader: taking n0"
    echo 0
}
scn_followers() { fault_nodes | grep -vx "$1"; } # LEADER
scn_one_follower() { scn_followers "$(scn_leader)" | head -1; }

scn_leader-isolated() {
    local l
    l=$(scn_leader)
    scn_note "isolate leader n$l"
    scn_cut "$l"
    fault_isolate "$l"
    scn_sleep "$FAULT_SECONDS"
    scn_note "heal"
    fault_heal
    scn_rejoin
}

scn_minority-isolated() {
    local k=$(((FAULT_N - 1) / 2)) minority rest
    minority=$(scn_followers "$(scn_leader)" | head -"$k" | tr '\n' ' ')
    rest=$(fault_nodes | grep -vxF -f <(tr ' ' '\n' <<<"$minority" | grep .) | tr '\n' ' ')
    scn_note "partition {$minority} | {$rest}"
    # shellcheck disable=SC2086
    scn_cut $minority
    fault_partition "$minority|$rest"
    scn_sleep "$FAULT_SECONDS"
    scn_note "heal"
    fault_heal
    scn_rejoin
}

# If the bridge stops hearing the leader (a stall on a loaded machine), it
# elects a node it also hears, one the leader cannot reach: then the old
# leader is the node cut off from the leader, from the fault on as far as
# the checkers can tell. CI's run of stop 14: the old leader, deposed 3.7 s
# into the fault, answered a lookup from its last state 0.9 s after the heal,
# before it heard the new leader.
scn_majority-isolated-from-leader() {
    local l b o t0 now
    l=$(scn_leader)
    b=$(scn_followers "$l" | head -1)
    t0=$(fault_mono_ns)
    for o in $(scn_followers "$l"); do
        [ "$o" = "$b" ] || { scn_cut "$o"; fault_block "$l" "$o"; fault_block "$o" "$l"; }
    done
    scn_note "bridge: leader n$l reaches only n$b"
    scn_sleep "$FAULT_SECONDS"
    now=$(scn_leader)
    if [ "$now" != "$l" ]; then
        scn_note "the leader moved to n$now: n$l is cut off from it"
        echo "$l $t0" >>"$FAULT_RUNDIR/cutoff-open"
    fi
    scn_note "heal"
    fault_heal
    scn_rejoin
}

scn_flapping-partitions() {
    local end period=${FAULT_FLAP_SECONDS:-1} victim
    end=$(($(date +%s) + FAULT_SECONDS))
    while [ "$(date +%s)" -lt "$end" ]; do
        victim=$((RANDOM % FAULT_N))
        if ((RANDOM % 2)); then
            scn_note "flap: isolate n$victim"
            scn_cut "$victim"
            fault_isolate "$victim"
        else
            # Either end of a one-way break may lose its leader.
            scn_note "flap: n$victim cannot send to n$(((victim + 1) % FAULT_N))"
            scn_cut "$victim" $(((victim + 1) % FAULT_N))
            fault_block "$victim" $(((victim + 1) % FAULT_N))
        fi
        scn_sleep "$period"
        scn_note "flap: heal"
        fault_heal
        scn_rejoin
        scn_sleep "$period"
    done
}

scn_kill_and_restart() { # NODE
    local pid
    scn_sleep 0.5 # a large write is under way on the leader by now
    pid=$(node_pid "$1")
    scn_note "kill -9 n$1 (PID $pid)"
    fault_kill9 "$pid"
    scn_sleep "$FAULT_SECONDS"
    scn_note "restart n$1"
    scn_cut "$1" # it serves its last state until it reaches the leader
    fault_node_start "$1"
    scn_rejoin
}

scn_kill-leader-during-commit() { scn_kill_and_restart "$(scn_leader)"; }
scn_kill-receiver() { scn_kill_and_restart "$(scn_one_follower)"; }

# A stopped process cannot answer its own clients: their ops during the
# freeze are exempt from the no-hang check (not from any other). "frozen"
# holds the window in which every thread was certainly stopped (after the
# last thread stopped, before SIGCONT): an op invoked in it cannot take
# effect before its end (hist2lin.py --frozen).
scn_frozen-node-wakes() {
    local f pid t0 stopped thawed
    f=$(scn_one_follower)
    pid=$(node_pid "$f")
    scn_note "SIGSTOP n$f (PID $pid)"
    t0=$(fault_mono_ns)
    scn_cut "$f"
    fault_freeze "$pid" || fault_die "n$f (PID $pid) did not stop"
    stopped=$(fault_mono_ns)
    scn_sleep "$FAULT_SECONDS"
    scn_note "SIGCONT n$f"
    thawed=$(fault_mono_ns)
    fault_thaw "$pid"
    echo "$f $t0 $(fault_mono_ns)" >>"$FAULT_RUNDIR/nohang-exempt"
    echo "$f $stopped $thawed" >>"$FAULT_RUNDIR/frozen"
    scn_rejoin
}

scn_slow-link() {
    local f
    f=$(scn_one_follower)
    scn_note "n$f's link: 100 ms +- 50 ms, 5% loss"
    scn_cut "$f"
    fault_impair "$f" 100 50 5
    scn_sleep "$FAULT_SECONDS"
    scn_note "n$f's link restored"
    fault_unimpair "$f"
    scn_rejoin
}

# The last node's data directory is a tmpfs from the start, so it can fill.
# (Chosen before the nodes start, so it may be the leader: any node will do.)
# Once the filler is gone it must hold the whole replica, which grows with
# the run: conflict copies alone came to about 0.75 MB/s (14,192 copies,
# 229 MiB of chunks in a 5-minute run, which a 256 MiB disk could not hold,
# so that node never caught up). 256 MiB plus 2 MiB per second of workload.
scn_disk-full_prepare() {
    local mb=$((256 + 2 * (PRE + FAULT_SECONDS + POST)))
    fault_tmpfs "$(node_datadir $((FAULT_N - 1)))" "${FAULT_DISK_SIZE:-${mb}m}"
}

scn_disk-full() {
    local f=$((FAULT_N - 1))
    scn_note "fill n$f's data disk"
    # A node that cannot store what it applies falls behind: it serves its
    # last applied state, as a cut-off node does, until it catches up.
    scn_cut "$f"
    fault_fill "$(node_datadir "$f")" || fault_log "disk of n$f not completely full"
    scn_sleep "$FAULT_SECONDS"
    scn_note "free n$f's data disk"
    fault_unfill "$(node_datadir "$f")"
    scn_rejoin
}
