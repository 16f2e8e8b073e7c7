# shellcheck shell=bash
# cleanup.sh - removes what this run made, and only that (sourced by
# harness.sh). Processes are ended by recorded PID (checked against their
# recorded start time, so a recycled PID is never hit) or because they live
# in one of this run's namespaces; namespaces are matched by this run's
# unique prefix; mounts by this run's directory.

fault_our_namespaces() {
    [ -n "${FAULT_PREFIX:-}" ] || return 0
    ip netns list 2>/dev/null | awk -v p="$FAULT_PREFIX" 'index($1, p) == 1 {print $1}'
}

fault_our_mounts() {
    [ -n "${FAULT_RUNDIR:-}" ] || return 0
    awk -v d="$FAULT_RUNDIR" 'index($5, d "/") == 1 || $5 == d {print $5}' /proc/self/mountinfo |
        sort -r
}

# fault_our_live_pids [PIDFILE]: recorded processes still running.
fault_our_live_pids() {
    local pid start file=${1:-${FAULT_RUNDIR:-}/pids}
    [ -f "$file" ] || return 0
    while read -r pid start; do
        fault_pid_alive "$pid" && [ "$(fault_pid_starttime "$pid")" = "$start" ] && echo "$pid"
    done <"$file"
}

fault_kill_ours() {
    local pid ns
    for pid in $(fault_our_live_pids); do
        kill -CONT "$pid" 2>/dev/null
        kill -9 "$pid" 2>/dev/null
    done
    for ns in $(fault_our_namespaces); do
        for pid in $(ip netns pids "$ns" 2>/dev/null); do
            kill -CONT "$pid" 2>/dev/null
            kill -9 "$pid" 2>/dev/null
        done
    done
    for pid in $(fault_our_live_pids); do
        wait "$pid" 2>/dev/null
        fault_wait_for 10 fault_pid_gone "$pid" || fault_log "cleanup: PID $pid survives"
    done
}

fault_cleanup() {
    local rc=$? m ns
    # A second signal must not cut the cleanup short: `kill -TERM -- -PGID`
    # of a long run reached this shell, then the runner's trap sent it TERM
    # again, and the default action left three namespaces and a mount behind.
    trap - EXIT
    trap '' INT TERM HUP
    [ -n "${FAULT_RUNDIR:-}" ] && [ -d "$FAULT_RUNDIR" ] || return $rc
    if declare -F driver_teardown >/dev/null; then
        driver_teardown || fault_log "cleanup: driver_teardown failed"
    fi
    fault_kill_ours
    for m in $(fault_our_mounts); do
        umount "$m" 2>/dev/null || fusermount3 -u "$m" 2>/dev/null || umount -l "$m" ||
            fault_log "cleanup: cannot unmount $m"
    done
    for ns in $(fault_our_namespaces); do
        ip netns del "$ns" || fault_log "cleanup: cannot delete namespace $ns"
    done
    if [ -z "$(fault_our_mounts)" ]; then
        rm -rf "$FAULT_RUNDIR"
    fi
    return $rc
}

# fault_leftovers PREFIX RUNDIR PIDFILE: prints what a run with that prefix
# left behind; returns 0 only if nothing is left.
fault_leftovers() {
    local FAULT_PREFIX=$1 FAULT_RUNDIR=$2 pidfile=$3 left=0 x
    for x in $(fault_our_namespaces); do
        echo "left: namespace $x"
        left=1
    done
    for x in $(fault_our_mounts); do
        echo "left: mount $x"
        left=1
    done
    for x in $(fault_our_live_pids "$pidfile"); do
        echo "left: process $x"
        left=1
    done
    if ip -o link show 2>/dev/null | grep -qE ': (n[0-9]+|[de][0-9]+|br0)[@:]'; then
        echo "left: harness interface in the root namespace"
        left=1
    fi
    [ -e "$FAULT_RUNDIR" ] && { echo "left: $FAULT_RUNDIR"; left=1; }
    return $left
}
