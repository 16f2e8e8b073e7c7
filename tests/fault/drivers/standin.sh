# shellcheck shell=bash
# standin.sh - what the two stand-in drivers share: each "node" is a stand-in
# daemon (nettool.py's echo service) in the node's namespace, so kill -9,
# SIGSTOP/SIGCONT and restart act on a real process; the "mount" is a plain
# directory. Sourced by standin-shared.sh and standin-split.sh, which define
# node_mountpoint.

node_datadir() { echo "$FAULT_RUNDIR/data$1"; }
node_pid() { cat "$FAULT_RUNDIR/node$1.pid" 2>/dev/null; }

node_start() {
    local i=$1 pid
    mkdir -p "$(node_datadir "$i")" "$(node_mountpoint "$i")" || return 1
    rm -f "$FAULT_RUNDIR/node$i.port"
    pid=$(fault_spawn "$(fault_ns "$i")" "$FAULT_RUNDIR/node$i.log" "$FAULT_PY" \
        "$FAULT_SRC_DIR/nettool.py" serve "$FAULT_RUNDIR/node$i.port" "$(node_datadir "$i")/udp.log")
    echo "$pid" >"$FAULT_RUNDIR/node$i.pid"
    fault_wait_for 10 test -s "$FAULT_RUNDIR/node$i.port"
}

node_stop() {
    local pid
    pid=$(node_pid "$1")
    [ -n "$pid" ] || return 0
    kill -CONT "$pid" 2>/dev/null
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    fault_wait_for 10 fault_pid_gone "$pid"
}

cluster_leader() { echo 0; }
node_current() { return 0; } # a stand-in is never cut off from anything
cluster_wait_sync() { return 0; } # a stand-in has nothing to replicate

driver_check() { return 0; }
driver_setup() { return 0; }
driver_teardown() {
    local i
    for i in $(fault_nodes); do node_stop "$i"; done
}
