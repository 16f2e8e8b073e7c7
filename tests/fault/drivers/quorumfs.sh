# shellcheck shell=bash
# quorumfs.sh - the node driver for the real cluster (issue 5). The harness
# calls only the functions below; docs/fault-testing.md lists their
# contracts. Everything the cluster work has to fill in is marked CLUSTER.
#
# Each node runs `quorumfs -c node.conf MOUNTPOINT` inside its network
# namespace (fault_spawn, so its PID is recorded and cleanup can end it),
# listening on $(fault_addr I); its data directory is node_datadir I, which
# the harness may have mounted as a size-limited tmpfs before node_start.

QFS_BIN_DIR=${QFS_BIN_DIR:-}

quorumfs_find() { # prints the path of binary $1 (PATH or the build tree)
    local d
    local b=${QFS_FAULT_BUILD:+$QFS_FAULT_BUILD/../..}
    for d in "$QFS_BIN_DIR" "$b/fs" "$b/tools" "$FAULT_SRC_DIR/../../build/fs" \
        "$FAULT_SRC_DIR/../../build/tools"; do
        [ -n "$d" ] && [ -x "$d/$1" ] && { echo "$d/$1"; return 0; }
    done
    command -v "$1"
}

driver_describe() { echo "quorumfs: ${FAULT_N:-3} real nodes, one per network namespace"; }

node_datadir() { echo "$FAULT_RUNDIR/data$1"; }
node_mountpoint() { echo "$FAULT_RUNDIR/mnt$1"; }
node_conf() { echo "$FAULT_RUNDIR/node$1.conf"; }
node_pid() { cat "$FAULT_RUNDIR/node$1.pid" 2>/dev/null; }

# CLUSTER: write node I's config (node ID, listen $(fault_addr I):PORT, data
# directory, peers with their IDs and addresses), e.g. with `qfs init`.
# Ports may be fixed here: each node has its own network namespace.
quorumfs_write_config() {
    echo "needs cluster: quorumfs_write_config is not filled in (tests/fault/drivers/quorumfs.sh)"
    return 1
}

# CLUSTER: true once node I is mounted and has joined the cluster.
quorumfs_node_ready() {
    mountpoint -q "$(node_mountpoint "$1")"
}

driver_check() {
    local b
    for b in quorumfs qfs; do
        quorumfs_find "$b" >/dev/null || { echo "needs cluster: '$b' not built yet"; return 1; }
    done
    [ "$FAULT_N" ] || FAULT_N=3
    quorumfs_write_config 0 >/dev/null 2>&1 || {
        quorumfs_write_config 0
        return 1
    }
}

driver_setup() {
    local i
    for i in $(fault_nodes); do
        mkdir -p "$(node_datadir "$i")" "$(node_mountpoint "$i")" || return 1
        quorumfs_write_config "$i" || return 1
    done
}

node_start() {
    local i=$1 mnt pid
    mnt=$(node_mountpoint "$i")
    # A node killed with -9 leaves a dead FUSE mount behind.
    fusermount3 -uz "$mnt" 2>/dev/null
    pid=$(fault_spawn "$(fault_ns "$i")" "$FAULT_RUNDIR/node$i.log" \
        "$(quorumfs_find quorumfs)" -f -c "$(node_conf "$i")" "$mnt")
    echo "$pid" >"$FAULT_RUNDIR/node$i.pid"
    fault_wait_for 30 quorumfs_node_ready "$i"
}

node_stop() {
    local i=$1 pid
    pid=$(node_pid "$i")
    [ -n "$pid" ] && fault_pid_alive "$pid" && kill -CONT "$pid" && kill "$pid"
    [ -n "$pid" ] && { fault_wait_for 20 fault_pid_gone "$pid" || fault_kill9 "$pid"; }
    fusermount3 -u "$(node_mountpoint "$i")" 2>/dev/null ||
        fusermount3 -uz "$(node_mountpoint "$i")" 2>/dev/null
    return 0
}

# CLUSTER: print the index of the current leader (from `qfs status --json`
# on any node that answers), or nothing if there is none.
cluster_leader() {
    local i
    for i in $(fault_nodes); do
        "$(quorumfs_find qfs)" status --json -c "$(node_conf "$i")" 2>/dev/null |
            "$FAULT_PY" -c 'import json,sys; d=json.load(sys.stdin); print(d.get("leader_index",""))' &&
            return 0
    done
}

# CLUSTER: return 0 once every node reports in sync (`qfs wait-sync`), 1
# after $1 seconds.
cluster_wait_sync() {
    local i
    for i in $(fault_nodes); do
        timeout "$1" "$(quorumfs_find qfs)" wait-sync -c "$(node_conf "$i")" || return 1
    done
}

driver_teardown() {
    local i
    for i in $(fault_nodes); do node_stop "$i"; done
}
