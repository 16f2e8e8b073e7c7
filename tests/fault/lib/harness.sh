# shellcheck shell=bash
# harness.sh - test hosts in network namespaces, the faults applied to them,
# and the guaranteed cleanup of everything the run made.
#
# Source it, then call fault_begin N. Every namespace is named with the
# per-run prefix $FAULT_PREFIX ("qf" + random + PID), every process the run
# starts is recorded (PID + start time) in $FAULT_RUNDIR/pids, every mount in
# $FAULT_RUNDIR/mounts; fault_cleanup (installed as the EXIT trap, also run
# on INT/TERM/HUP) removes exactly those and nothing else.
#
# Topology: namespace ${P}hub holds bridge br0; node i lives in ${P}n$i with
# eth0 = 198.18.0.(10+i)/24, the other end of its veth pair is hub:n$i.
# 198.18.0.0/15 is the RFC 2544 benchmarking range: it exists only inside
# these namespaces, and nothing is ever sent from the root namespace.

FAULT_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
FAULT_SRC_DIR=$(dirname "$FAULT_LIB_DIR")
FAULT_PY=${FAULT_PY:-$(command -v /usr/bin/python3 || command -v python3)}

fault_log() { printf '[fault %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
fault_die() { fault_log "ERROR: $*"; exit 1; }

# Where netemu and lincheck were built (meson passes QFS_FAULT_BUILD).
fault_build_dir() {
    local d
    for d in "${QFS_FAULT_BUILD:-}" "$FAULT_SRC_DIR/../../build/tests/fault"; do
        [ -n "$d" ] && [ -x "$d/lincheck" ] && { (cd "$d" && pwd); return 0; }
    done
    return 1
}

fault_have_netns() {
    [ "$(id -u)" -eq 0 ] && command -v ip >/dev/null && command -v nft >/dev/null || return 1
    local probe="qfprobe$$"
    ip netns add "$probe" 2>/dev/null || return 1
    ip netns del "$probe"
}

fault_ns() { echo "${FAULT_PREFIX}n$1"; }
fault_hub() { echo "${FAULT_PREFIX}hub"; }
fault_addr() { echo "198.18.0.$((10 + $1))"; }
fault_nodes() { seq 0 $((FAULT_N - 1)); }
# Processes enter only the node's network namespace (nsenter --net), not a
# new mount namespace as `ip netns exec` would: a FUSE mount a node daemon
# makes is then visible to the workload, which runs in the root namespaces.
fault_nsenter() { local ns=$1; shift; nsenter --net="/run/netns/$ns" -- "$@"; }
fault_exec() { local i=$1; shift; fault_nsenter "$(fault_ns "$i")" "$@"; }
fault_hub_exec() { fault_nsenter "$(fault_hub)" "$@"; }

fault_begin() {
    FAULT_N=$1
    FAULT_PREFIX="qf$(printf '%04x' $((RANDOM)))$$-"
    FAULT_RUNDIR=$(mktemp -d "/tmp/${FAULT_PREFIX}XXXX")
    : >"$FAULT_RUNDIR/pids"
    : >"$FAULT_RUNDIR/mounts"
    export FAULT_N FAULT_PREFIX FAULT_RUNDIR
    [ -z "${FAULT_STATEFILE:-}" ] || echo "$FAULT_PREFIX $FAULT_RUNDIR" >"$FAULT_STATEFILE"
    trap 'fault_cleanup' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    trap 'exit 129' HUP
}

# --- processes ---------------------------------------------------------

# The history's clock (CLOCK_MONOTONIC, ns).
fault_mono_ns() { "$FAULT_PY" -c 'import time; print(time.monotonic_ns())'; }

fault_pid_starttime() { awk '{print $22}' "/proc/$1/stat" 2>/dev/null; }

fault_pid_alive() {
    local st
    st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
    [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# Every started process: "PID STARTTIME" in the run's pids file, and also
# in $FAULT_PIDLOG when set (so a caller can audit the run after cleanup).
fault_track_pid() {
    local line
    line="$1 $(fault_pid_starttime "$1")"
    echo "$line" >>"$FAULT_RUNDIR/pids"
    [ -z "${FAULT_PIDLOG:-}" ] || echo "$line" >>"$FAULT_PIDLOG"
}

# fault_spawn NAMESPACE LOG CMD... : starts CMD inside NAMESPACE ("" = root),
# records it, prints its PID, which is CMD's own.
fault_spawn() {
    local ns=$1 log=$2
    shift 2
    # A simple command, not a function: bash then forks once and execs, so
    # $! is nsenter, which execs CMD in turn (a backgrounded function would
    # leave a subshell between us and CMD).
    if [ -n "$ns" ]; then
        nsenter --net="/run/netns/$ns" -- "$@" >"$log" 2>&1 </dev/null &
    else
        "$@" >"$log" 2>&1 </dev/null &
    fi
    fault_track_pid $!
    echo $!
}

# Polls CMD until it succeeds or TIMEOUT seconds pass.
fault_wait_for() {
    local timeout=$1 end
    shift
    end=$(($(date +%s%N) + timeout * 1000000000))
    until "$@"; do
        [ "$(date +%s%N)" -lt "$end" ] || return 1
        sleep 0.05
    done
}

fault_pid_gone() { ! fault_pid_alive "$1"; }
# Every thread of PID is stopped (a group stop reaches threads one by one).
# The state follows the ")" that ends the thread's name, which may hold spaces.
fault_pid_stopped() {
    local st
    [ -d "/proc/$1/task" ] || return 1
    for st in /proc/"$1"/task/*/stat; do
        [ "$(sed 's/.*) //' "$st" 2>/dev/null | cut -d' ' -f1)" = T ] || return 1
    done
}

fault_kill9() {
    kill -9 "$1" 2>/dev/null
    wait "$1" 2>/dev/null
    fault_wait_for 10 fault_pid_gone "$1"
}
fault_freeze() { kill -STOP "$1" && fault_wait_for 5 fault_pid_stopped "$1"; }
fault_thaw() { kill -CONT "$1"; }

# shellcheck source=net.sh
. "$FAULT_LIB_DIR/net.sh"
# shellcheck source=disk.sh
. "$FAULT_LIB_DIR/disk.sh"
# shellcheck source=cleanup.sh
. "$FAULT_LIB_DIR/cleanup.sh"
