# lib_status.sh - sourced by the status tests: the integration tests' lib.sh
# (temp dir, mount, cleanup by PID) plus qfs helpers.
# Environment (set by meson): QFS_TOOL (qfs), CHUNK_DROP, QFS_SCHEMA, and what
# ../integration/lib.sh needs (QFS_BIN, QFS_WAIT).
. "$(dirname "${BASH_SOURCE[0]}")/../integration/lib.sh"
: "${QFS_TOOL:?QFS_TOOL must name the qfs executable}"
: "${QFS_SCHEMA:?QFS_SCHEMA must name docs/qfs-status.schema.json}"
STATUS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

qfs() {
    "$QFS_TOOL" "$@"
}

# run_rc VAR cmd...: runs cmd with its stdout in $T/out and stderr in $T/err,
# and its exit status in VAR.
run_rc() {
    local __var=$1
    shift
    local __rc=0
    "$@" >"$T/out" 2>"$T/err" || __rc=$?
    printf -v "$__var" '%s' "$__rc"
}

# expect_rc N cmd...: the command must exit N.
expect_rc() {
    local want=$1 rc
    shift
    run_rc rc "$@"
    [ "$rc" -eq "$want" ] || fail "'$*' exited $rc, not $want: $(cat "$T/out" "$T/err")"
}

# validate COMMAND [EXPR WANT]: keeps $T/out, which must be a JSON document of
# that command per the schema (and str(EXPR) on it, the document being d,
# must be WANT). Checked all at once by validate_all: Python starts once.
validate() {
    mkdir -p "$T/json"
    local n
    n=$(find "$T/json" -name '*.json' | wc -l)
    cp "$T/out" "$T/json/$n.json"
    printf '%s\t%s' "$T/json/$n.json" "$1" >>"$T/json/manifest"
    [ $# -lt 3 ] || printf '\t%s\t%s' "$2" "$3" >>"$T/json/manifest"
    printf '\n' >>"$T/json/manifest"
}

validate_all() {
    local py=python3
    /usr/bin/python3 -c 'import jsonschema' 2>/dev/null && py=/usr/bin/python3
    "$py" "$STATUS_DIR/validate_json.py" "$QFS_SCHEMA" "$T/json/manifest" ||
        fail "JSON output does not match docs/qfs-status.schema.json"
}

# qfs_mount_ctl [options]: mounts, and waits (polling, with a deadline) for the
# control socket. A daemon built without the control server makes the test
# SKIP (77).
qfs_mount_ctl() {
    qfs_mount "$@"
    local i
    for i in $(seq 100); do
        [ -S "$DATA/control.sock" ] && return 0
        "$QFS_WAIT" exit "$QFS_PID" 0.05 && fail "daemon exited"
    done
    echo "SKIP: the daemon serves no control socket (fs/fuse/main.c does not start fs/control yet)"
    exit 77
}

# ---- three nodes on 127.0.0.1: node N (a, b, c) has its data and config in
# $T/N/data (config $T/N/data/node.conf) and its mount at $T/N/mnt.
declare -A NODE_PID=()

free_ports() { # N free TCP ports on 127.0.0.1, chosen by the kernel (bind port 0)
    python3 -c 'import socket,sys
s=[socket.socket() for _ in range(int(sys.argv[1]))]
[x.bind(("127.0.0.1", 0)) for x in s]
print(" ".join(str(x.getsockname()[1]) for x in s))' "$1"
}

conf() { echo "$T/$1/data/node.conf"; }
node_id() { awk '/^node-id/ {print $3}' "$(conf "$1")"; }

cluster_up() {
    local ports n m i=0
    read -r -a ports <<<"$(free_ports 3)"
    for n in a b c; do
        mkdir -p "$T/$n/mnt"
        qfs init --data "$T/$n/data" --listen "127.0.0.1:${ports[$i]}" >/dev/null 2>&1 ||
            fail "qfs init $n"
        i=$((i + 1))
    done
    for n in a b c; do
        for m in a b c; do
            [ "$n" = "$m" ] || echo "peer = $(node_id "$m") $(awk '/^listen/ {print $3}' "$(conf "$m")")" >>"$(conf "$n")"
        done
    done
    CLEANUP_HOOKS+=("cluster_down")
    for n in a b c; do node_spawn "$n"; done
    for n in a b c; do node_wait_up "$n"; done
}

node_spawn() {
    "$QFS_BIN" -f -c "$(conf "$1")" "$T/$1/mnt" >>"$T/$1.log" 2>&1 &
    NODE_PID[$1]=$!
}

node_wait_up() {
    "$QFS_WAIT" mounted "$T/$1/mnt" "${NODE_PID[$1]}" 30 || fail "node $1 did not mount: $(tail "$T/$1.log")"
    [ -S "$T/$1/data/control.sock" ] || { echo "SKIP: no control socket"; exit 77; }
}

# node_restart N: unmounts node N (the daemon exits cleanly), then, once
# CMD has run (node_restart N CMD...), starts it again and waits for its mount.
node_restart() {
    local n=$1
    shift
    fusermount3 -u "$T/$n/mnt" || fail "cannot unmount node $n"
    "$QFS_WAIT" exit "${NODE_PID[$n]}" 20 || fail "node $n did not exit after its unmount"
    wait "${NODE_PID[$n]}" 2>/dev/null
    "$@"
    node_spawn "$n"
    node_wait_up "$n"
}

# node_pause N...: SIGSTOP, then wait until every thread of each is stopped
# (kill returns before they are, and a thread still running could answer).
node_pause() {
    local n
    for n; do kill -STOP "${NODE_PID[$n]}"; done
    for n; do "$QFS_WAIT" stopped "${NODE_PID[$n]}" 10 || fail "node $n did not stop"; done
}

# Ends every node by its PID: unmount (or SIGTERM for a node still starting,
# which then exits before mounting or unmounts itself), wait, kill -9 as a
# last resort, and never leave a mount behind.
cluster_down() {
    local n
    for n in "${!NODE_PID[@]}"; do
        kill -CONT "${NODE_PID[$n]}" 2>/dev/null
        fusermount3 -u "$T/$n/mnt" 2>/dev/null || kill -TERM "${NODE_PID[$n]}" 2>/dev/null
    done
    for n in "${!NODE_PID[@]}"; do
        "$QFS_WAIT" exit "${NODE_PID[$n]}" 20 || kill -9 "${NODE_PID[$n]}" 2>/dev/null
        wait "${NODE_PID[$n]}" 2>/dev/null
        if grep -q " $T/$n/mnt " /proc/self/mountinfo; then
            fusermount3 -u "$T/$n/mnt" 2>/dev/null || umount -l "$T/$n/mnt"
        fi
        unset "NODE_PID[$n]"
    done
}

# poll_rc WANT SECONDS cmd...: reruns cmd (output in $T/out, $T/err) until it
# exits WANT; fails after SECONDS. Between tries it waits 0.1 s on node a's
# PID, so a node that dies fails the test at once.
poll_rc() {
    local want=$1 secs=$2 rc tries
    shift 2
    tries=$((secs * 10))
    while :; do
        run_rc rc "$@"
        [ "$rc" -eq "$want" ] && return 0
        tries=$((tries - 1))
        [ "$tries" -gt 0 ] || fail "'$*' still exits $rc, not $want, after ${secs}s: $(cat "$T/out" "$T/err")"
        "$QFS_WAIT" exit "${NODE_PID[a]}" 0.1 && fail "node a exited: $(tail "$T/a.log")"
    done
}

# poll_out REGEX SECONDS cmd...: reruns cmd until its stdout matches REGEX
# (grep -E); fails after SECONDS. Paced like poll_rc.
poll_out() {
    local re=$1 secs=$2 rc tries
    shift 2
    tries=$((secs * 10))
    while :; do
        run_rc rc "$@"
        grep -Eq "$re" "$T/out" && return 0
        tries=$((tries - 1))
        [ "$tries" -gt 0 ] || fail "'$*' never printed /$re/ in ${secs}s: $(cat "$T/out" "$T/err")"
        "$QFS_WAIT" exit "${NODE_PID[a]}" 0.1 && fail "node a exited: $(tail "$T/a.log")"
    done
}
