# shellcheck shell=bash
# quorumfs.sh - the node driver for the real cluster (issue 5). The harness
# calls only the functions below; docs/fault-testing.md lists their
# contracts.
#
# Each node runs `quorumfs -c node.conf MOUNTPOINT` inside its network
# namespace (fault_spawn, so its PID is recorded and cleanup can end it),
# listening on $(fault_addr I); its data directory is node_datadir I, which
# the harness may have mounted as a size-limited tmpfs before node_start.

QFS_BIN_DIR=${QFS_BIN_DIR:-}

quorumfs_find() { # prints the path of binary $1 (PATH or the build tree)
    local d
    local b=${QFS_FAULT_BUILD:+$QFS_FAULT_BUILD/../..}
    for d in "$QFS_BIN_DIR" "$b/fs/fuse" "$b/tools" "$FAULT_SRC_DIR/../../build/fs/fuse" \
        "$FAULT_SRC_DIR/../../build/tools"; do
        [ -n "$d" ] && [ -x "$d/$1" ] && { echo "$d/$1"; return 0; }
    done
    command -v "$1"
}

driver_describe() { echo "quorumfs: ${FAULT_N:-3} real nodes, one per network namespace"; }

# Real mounts: an op on a mount point between kill and restart hit the bare
# directory, not a daemon (workload.py --require-mount).
WORKLOAD_ARGS=--require-mount

node_datadir() { echo "$FAULT_RUNDIR/data$1"; }
node_mountpoint() { echo "$FAULT_RUNDIR/mnt$1"; }
node_conf() { echo "$FAULT_RUNDIR/node$1.conf"; }
node_pid() { cat "$FAULT_RUNDIR/node$1.pid" 2>/dev/null; }

QFS_FAULT_PORT=7466 # each node has its own namespace and address

# node I's identity (qfs init: node.key, node.crt) lives in idI/, outside the
# data directory: a scenario may mount a tmpfs over the data directory after
# driver_setup (disk-full), which would hide it.
node_iddir() { echo "$FAULT_RUNDIR/id$1"; }
node_id() { sed -n 's/^node-id *= *//p' "$(node_iddir "$1")/node.conf"; }

quorumfs_init_all() {
    local j qfs
    qfs=$(quorumfs_find qfs) || return 1
    for j in $(fault_nodes); do
        [ -f "$(node_iddir "$j")/node.conf" ] && continue
        "$qfs" init --data "$(node_iddir "$j")" --listen "$(fault_addr "$j"):$QFS_FAULT_PORT" \
            >/dev/null 2>"$FAULT_RUNDIR/init$j.log" || { cat "$FAULT_RUNDIR/init$j.log"; return 1; }
    done
}

# Node I's config: the node-id qfs init wrote, its address, its data
# directory, the identity files, and every other node as a peer.
quorumfs_write_config() {
    local i=$1 j id
    quorumfs_init_all || return 1
    id=$(node_iddir "$i")
    {
        echo "# written by tests/fault/drivers/quorumfs.sh"
        echo "node-id = $(node_id "$i")"
        echo "listen = $(fault_addr "$i"):$QFS_FAULT_PORT"
        echo "data = $(node_datadir "$i")"
        echo "cert = $id/node.crt"
        echo "key = $id/node.key"
        for j in $(fault_nodes); do
            [ "$j" = "$i" ] || echo "peer = $(node_id "$j") $(fault_addr "$j"):$QFS_FAULT_PORT"
        done
    } >"$(node_conf "$i")"
}

# Ready once the mount is up and answers and, when a majority of the nodes
# runs, the node has joined: a mutation through it succeeds. (Nodes start one
# after the other, so the first is alone until the second starts.)
quorumfs_node_ready() {
    local i=$1 m j p up=0 f
    m=$(node_mountpoint "$i")
    mountpoint -q "$m" && timeout 5 stat "$m" >/dev/null 2>&1 || return 1
    for j in $(fault_nodes); do
        p=$(node_pid "$j")
        [ -n "$p" ] && fault_pid_alive "$p" && up=$((up + 1))
    done
    [ $((2 * up)) -gt "$FAULT_N" ] || return 0
    f=$m/.qfs-ready-$i-$$
    timeout 10 touch "$f" 2>/dev/null && timeout 10 rm -f "$f"
}

driver_check() {
    local b
    for b in quorumfs qfs; do
        quorumfs_find "$b" >/dev/null || { echo "needs cluster: '$b' not built yet"; return 1; }
    done
    "$(quorumfs_find quorumfs)" --help 2>&1 | grep -qE -- '(^|[ ,])-c( |,)|--config' ||
        { echo "needs cluster: quorumfs has no -c option yet"; return 1; }
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
    # The first start is a new node's: `qfs init` marks one in its data
    # directory (new-node), but this driver's identities live outside it.
    if [ ! -e "$FAULT_RUNDIR/started$i" ]; then
        mkdir -p "$(node_datadir "$i")" && : >"$(node_datadir "$i")/new-node" &&
            : >"$FAULT_RUNDIR/started$i" || return 1
    fi
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

# Current: the node has a quorum and its leader answers a read index, and
# the node then applies up to that index (within 10 s), so an open or lookup
# through it sees every change that returned before it. (Applied and read
# index in one sample are rarely equal while the workload commits.)
node_current() {
    local r
    r=$(node_consensus "$1" 'print(c["read_index"] if c["quorum"] else None)') || return 1
    [ "$r" != None ] || return 1
    fault_wait_for 10 node_consensus "$1" "sys.exit(0 if c['applied'] >= $r else 1)"
}

# node_consensus I PYTHON: runs PYTHON with c = the "consensus" object of
# node I's `qfs status --json`; fails if the node does not answer.
node_consensus() {
    timeout 5 "$(quorumfs_find qfs)" status --json -c "$(node_conf "$1")" 2>/dev/null |
        "$FAULT_PY" -c 'import json, sys; c = json.load(sys.stdin)["consensus"]
'"$2"
}

# The index of the current leader, from `qfs status --json` on the first node
# that answers (helpers/leader.py of the cluster tests reads the schema), or
# nothing.
cluster_leader() {
    local i j ids=() out
    for j in $(fault_nodes); do ids+=("$(node_id "$j")"); done
    for i in $(fault_nodes); do
        out=$(timeout 5 "$(quorumfs_find qfs)" status --json -c "$(node_conf "$i")" 2>/dev/null) || continue
        "$FAULT_PY" "$FAULT_SRC_DIR/../cluster/helpers/leader.py" "${ids[@]}" <<<"$out" && return 0
    done
}

# In sync: `qfs wait-sync` on every node (issue 6), retried until SECS have
# passed (right after a heal a node may answer "no quorum", exit 2). With a
# qfs that has no wait-sync: a marker file created on a node that accepts it
# is seen by a lookup on every node, then removed the same way.
cluster_wait_sync() {
    if "$(quorumfs_find qfs)" --help 2>&1 | grep -q wait-sync; then
        fault_wait_for "$1" quorumfs_all_synced
    else
        fault_wait_for "$1" quorumfs_marker_seen
    fi
}

quorumfs_all_synced() {
    local i qfs
    qfs=$(quorumfs_find qfs)
    for i in $(fault_nodes); do
        timeout 15 "$qfs" wait-sync --timeout 10 -c "$(node_conf "$i")" >/dev/null 2>&1 || return 1
    done
}

quorumfs_marker_seen() {
    local f=.qfs-sync-$$-$RANDOM i m
    for i in $(fault_nodes); do
        m=$(node_mountpoint "$i")
        timeout 10 touch "$m/$f" 2>/dev/null && break
        m=
    done
    [ -n "$m" ] || return 1
    for i in $(fault_nodes); do
        timeout 10 stat "$(node_mountpoint "$i")/$f" >/dev/null 2>&1 || { timeout 10 rm -f "$m/$f"; return 1; }
    done
    timeout 10 rm -f "$m/$f" || return 1
    for i in $(fault_nodes); do
        timeout 10 test ! -e "$(node_mountpoint "$i")/$f" || return 1
    done
}

driver_teardown() {
    local i
    for i in $(fault_nodes); do node_stop "$i"; done
}
