# shellcheck shell=bash
# lib.sh - sourced by every cluster test: a fresh temp dir holding a fresh
# 3-node quorumfs cluster on 127.0.0.1 (nodes a, b, c; mounts $T/a, $T/b,
# $T/c; data dirs $T/a.data ...; ports asked of the kernel), and an EXIT trap
# that always unmounts every mount and ends every daemon it started, by PID.
# Environment (set by meson): QFS_BIN (quorumfs), QFS_CLI (qfs), QFS_WAIT
# (tests/integration/helpers/qfs_wait), QFS_CHUNK_CORRUPT (optional),
# QFS_SANITIZED=1 under ASan (scale down).
set -euo pipefail

if [ ! -e /dev/fuse ]; then
    echo "SKIP: /dev/fuse is absent"
    exit 77
fi
: "${QFS_BIN:?QFS_BIN must name the quorumfs executable}"
: "${QFS_CLI:?QFS_CLI must name the qfs executable}"
: "${QFS_WAIT:?QFS_WAIT must name tests/integration/helpers/qfs_wait}"
# Until the daemon has `-c` (issue 5), there is no cluster to test.
if ! "$QFS_BIN" --help 2>&1 | grep -qE -- '(^|[ ,])-c( |,)|--config'; then
    echo "SKIP: needs cluster: $QFS_BIN has no -c option yet"
    exit 77
fi
CT_HELPERS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/helpers
SANITIZED=${QFS_SANITIZED:-0}
# The system python: a pyenv shim on PATH costs most of a second per call.
PY=${QFS_PY:-$(command -v /usr/bin/python3 || command -v python3)}
NODES=(a b c)
# Deadline (s) for a change to become visible elsewhere, for elections, catch-up.
SYNC_SECS=$([ "$SANITIZED" = 1 ] && echo 30 || echo 15)

T=$(mktemp -d /tmp/qfs-ct.XXXXXX)
chmod 755 "$T"
declare -A PID=() PORT=() ID=()
CLEANUP_HOOKS=() # run before the nodes are unmounted
AFTER_HOOKS=()   # run after (e.g. unmounting a data directory's tmpfs)

mnt() { echo "$T/$1"; }
data() { echo "$T/$1.data"; }
conf() { echo "$T/$1.data/node.conf"; }
log() { echo "$T/$1.log"; }

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

step() {
    echo "== $(date -u +%T.%N | cut -c1-12) $*"
}

# scale N: N normally, N/5 (at least 1) under ASan.
scale() {
    if [ "$SANITIZED" = 1 ]; then
        local n=$(($1 / 5))
        echo $((n > 0 ? n : 1))
    else
        echo "$1"
    fi
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# wait_until SECS CMD...: polls CMD (every 20 ms) until it succeeds; 1 on timeout.
wait_until() {
    local secs=$1
    shift
    local end=$((SECONDS + secs))
    until "$@" >/dev/null 2>&1; do
        [ $SECONDS -lt $end ] || return 1
        sleep 0.02
    done
}

mounted() { grep -q " $(mnt "$1") " /proc/self/mountinfo 2>/dev/null; }

# node_umount X: unmounts X (if mounted) and waits for its daemon; its status.
node_umount() {
    local x=$1 rc=0 m
    m=$(mnt "$x")
    if mounted "$x"; then
        fusermount3 -u "$m" 2>/dev/null || umount "$m" 2>/dev/null || umount -l "$m" || true
    fi
    if [ -n "${PID[$x]:-}" ]; then
        kill -CONT "${PID[$x]}" 2>/dev/null || true
        if ! "$QFS_WAIT" exit "${PID[$x]}" 20; then
            echo "daemon $x (${PID[$x]}) did not exit after unmount; killing it" >&2
            echo "stuck: $(stuck_threads "${PID[$x]}")" >&2
            kill -9 "${PID[$x]}" 2>/dev/null || true
            "$QFS_WAIT" exit "${PID[$x]}" 5 || fuse_abort "$x"
            "$QFS_WAIT" exit "${PID[$x]}" 5 || return 1
        fi
        wait "${PID[$x]}" 2>/dev/null || rc=$?
        PID[$x]=
    fi
    return $rc
}

cleanup() {
    local rc=$? x hook
    set +e
    cd /
    for x in "${NODES[@]}"; do [ -z "${PID[$x]:-}" ] || kill -CONT "${PID[$x]}" 2>/dev/null; done
    for hook in "${CLEANUP_HOOKS[@]}"; do eval "$hook"; done
    for x in "${NODES[@]}"; do node_umount "$x" >/dev/null 2>&1; done
    for hook in "${AFTER_HOOKS[@]}"; do eval "$hook"; done
    if [ $rc -ne 0 ] && [ $rc -ne 77 ]; then
        for x in "${NODES[@]}"; do
            [ -f "$(log "$x")" ] || continue
            echo "---- node $x log (last 30 lines) ----" >&2
            tail -n 30 "$(log "$x")" >&2
        done
    fi
    # Sanitizer reports fail the test even when the node went on (UBSan).
    for x in "${NODES[@]}"; do
        if grep -qE "ERROR: (Address|Leak)Sanitizer|runtime error:" "$(log "$x")" 2>/dev/null; then
            echo "---- node $x: sanitizer report ----" >&2
            grep -E -A 25 "ERROR: (Address|Leak)Sanitizer|runtime error:" "$(log "$x")" | head -n 60 >&2
            [ $rc -ne 0 ] || rc=1
        fi
    done
    rm -rf "$T"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# A bare command that fails (set -e) says which one.
trap 'echo "FAIL: line $LINENO: $BASH_COMMAND" >&2' ERR

# cluster_init: qfs init for every node of NODES (a, b and c unless the test
# set more) on free ports, then every node's peers.
cluster_init() {
    local ports x y i=0
    # Bound together, so the ports differ; released just before use.
    ports=$("$PY" -c 'import socket
s = [socket.socket() for _ in range('"${#NODES[@]}"')]
for x in s: x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))')
    read -r -a ports <<<"$ports"
    for x in "${NODES[@]}"; do
        PORT[$x]=${ports[$i]}
        i=$((i + 1))
        ID[$x]=$("$QFS_CLI" init --data "$(data "$x")" --listen "127.0.0.1:${PORT[$x]}" 2>>"$(log "$x")" |
            tail -n 1 | awk '{print $NF}')
        [ -n "${ID[$x]}" ] || fail "qfs init of node $x printed no node ID"
        mkdir -p "$(mnt "$x")"
    done
    for x in "${NODES[@]}"; do
        for y in "${NODES[@]}"; do
            [ "$x" = "$y" ] || echo "peer = ${ID[$y]} 127.0.0.1:${PORT[$y]}" >>"$(conf "$x")"
        done
    done
}

# node_start X: starts X's daemon in the foreground (so PID[X] is the daemon)
# and returns once its mount is up.
node_start() {
    local x=$1
    # A node killed with -9 leaves a dead FUSE mount behind.
    if mounted "$x"; then fusermount3 -uz "$(mnt "$x")" 2>/dev/null || umount -l "$(mnt "$x")"; fi
    "$QFS_BIN" -f -c "$(conf "$x")" "$(mnt "$x")" >>"$(log "$x")" 2>&1 &
    PID[$x]=$!
}

node_wait_mounted() {
    "$QFS_WAIT" mounted "$(mnt "$1")" "${PID[$1]}" 30 || fail "node $1 did not mount"
}

# fuse_abort X: aborts X's FUSE connection (fusectl), as the kernel does when
# a daemon's /dev/fuse closes: every request waiting on it fails ENOTCONN.
fuse_abort() {
    local dev
    dev=$(awk -v m="$(mnt "$1")" '$5 == m {print $3}' /proc/self/mountinfo | tail -n 1)
    [ -n "$dev" ] || return 0
    [ -d "/sys/fs/fuse/connections/${dev#*:}" ] ||
        mount -t fusectl none /sys/fs/fuse/connections 2>/dev/null || true
    echo 1 >"/sys/fs/fuse/connections/${dev#*:}/abort" 2>/dev/null || true
}

# stuck_threads PID: the threads of PID in uninterruptible sleep, with where.
stuck_threads() {
    local t
    for t in /proc/"$1"/task/*; do
        [ "$(awk '{print $3}' "$t/stat" 2>/dev/null)" = D ] || continue
        echo "thread ${t##*/}: $(head -n 3 "$t/stack" 2>/dev/null | awk '{print $2}' | paste -sd' ')"
    done
}

# node_kill9 X: kill -9 and reap. A daemon that cannot finish dying (a thread
# stuck in the kernel keeps /dev/fuse open, so its mount hangs) is a bug:
# noted with its stuck threads, then its connection is aborted so the test
# can go on.
node_kill9() {
    kill -9 "${PID[$1]}"
    node_reap "$1"
}
node_reap() {
    local pid=${PID[$1]}
    if ! "$QFS_WAIT" exit "$pid" 10; then
        defer_fail "node $1 (PID $pid) did not exit within 10 s of kill -9; stuck: $(stuck_threads "$pid")"
        fuse_abort "$1"
        "$QFS_WAIT" exit "$pid" 10 || fail "node $1 does not exit even after its FUSE connection was aborted"
    fi
    wait "$pid" 2>/dev/null || true
    PID[$1]=
}

# node_freeze X...: SIGSTOP, then wait until every thread of each is stopped
# (kill returns before they are, and a thread still running could answer).
node_freeze() {
    local x
    for x; do kill -STOP "${PID[$x]}"; done
    for x; do "$QFS_WAIT" stopped "${PID[$x]}" 10 || fail "node $x did not stop"; done
}

# defer_fail MSG: a failure that does not stop the test (so that it shows the
# later ones too); finish fails if there was any.
DEFERRED=()
defer_fail() {
    echo "FAIL (continuing): $*" >&2
    DEFERRED+=("$*")
}
finish() {
    [ "$STALE" = 0 ] || echo "note: $STALE checks saw a stale view at first (see t_linear.sh)"
    [ ${#DEFERRED[@]} -eq 0 ] || fail "${#DEFERRED[@]} deferred failure(s): ${DEFERRED[*]}"
    echo "ok"
}

# visible_everywhere REL: REL exists on every mounted node.
exists_on() { # exists_on REL NODE...
    local rel=$1 x
    shift
    for x in "$@"; do [ -e "$(mnt "$x")/$rel" ] || return 1; done
}
absent_on() {
    local rel=$1 x
    shift
    for x in "$@"; do [ ! -e "$(mnt "$x")/$rel" ] || return 1; done
}

# cluster_ready [NODES...]: every given node (default all) is in the cluster:
# a file created on each is seen by every other, then removed everywhere.
cluster_ready() {
    local nodes=("$@") x f
    [ ${#nodes[@]} -gt 0 ] || nodes=("${NODES[@]}")
    for x in "${nodes[@]}"; do
        f=.ready-$x-$RANDOM
        wait_until "$SYNC_SECS" touch "$(mnt "$x")/$f" || fail "node $x refuses a create"
        wait_until "$SYNC_SECS" exists_on "$f" "${nodes[@]}" || fail "a create on $x is not seen by all"
        rm -f "$(mnt "$x")/$f"
        wait_until "$SYNC_SECS" absent_on "$f" "${nodes[@]}" || fail "an unlink on $x is not seen by all"
    done
}

# cluster_up: init, start all nodes at once (a node may wait for a quorum),
# and return once they form one cluster.
cluster_up() {
    local x
    cluster_init
    for x in "${NODES[@]}"; do node_start "$x"; done
    for x in "${NODES[@]}"; do node_wait_mounted "$x"; done
    cluster_ready
}

# tree_cmp [tree.py options] -- NODE...: the trees (or, with --only REL, one
# path) of the nodes are equal; prints the differences otherwise.
tree_cmp() {
    local opts=() roots=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done
    shift
    for x in "$@"; do roots+=("$(mnt "$x")"); done
    "$PY" "$CT_HELPERS/tree.py" "${opts[@]}" "${roots[@]}"
}

# converge [tree.py options] [-- NODES...]: waits until the trees of the nodes
# (default all) are equal; on timeout prints the difference and fails.
converge() {
    local opts=() nodes=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done
    [ $# -eq 0 ] || { shift; nodes=("$@"); }
    [ ${#nodes[@]} -gt 0 ] || nodes=("${NODES[@]}")
    if ! wait_until "$SYNC_SECS" tree_cmp "${opts[@]}" -- "${nodes[@]}"; then
        tree_cmp "${opts[@]}" -- "${nodes[@]}" >&2 || true
        fail "the trees of ${nodes[*]} did not converge within ${SYNC_SECS}s"
    fi
}

# seen REL [tree.py options]: after a mutation on any node returned, REL
# looks the same on every node (type, mode, owner, links, size, content,
# xattrs) within SYNC_SECS; otherwise a deferred failure (the test goes on,
# to show every operation that misbehaves). How long a stale view lasts is
# counted in STALE (t_linear.sh holds the cluster to "at once").
STALE=0
seen() {
    local rel=$1
    shift
    tree_cmp "$@" --only "$rel" -- "${NODES[@]}" >/dev/null && return 0
    STALE=$((STALE + 1))
    wait_until "$SYNC_SECS" tree_cmp "$@" --only "$rel" -- "${NODES[@]}" && return 0
    defer_fail "$rel differs between nodes for ${SYNC_SECS}s: $(tree_cmp "$@" --only "$rel" -- "${NODES[@]}")"
}

# leader: the node (one of NODES) that `qfs status --json` names leader, or
# nothing when no node answers.
leader() {
    local x out ids=()
    for x in "${NODES[@]}"; do ids+=("${ID[$x]}"); done
    for x in "${NODES[@]}"; do
        [ -n "${PID[$x]:-}" ] || continue
        out=$(timeout 5 "$QFS_CLI" status --json -c "$(conf "$x")" 2>/dev/null) || continue
        out=$("$PY" "$CT_HELPERS/leader.py" "${ids[@]}" <<<"$out") || continue
        [ -n "${NODES[$out]:-}" ] || continue
        echo "${NODES[$out]}"
        return 0
    done
}

# expect_err WHAT CMD...: CMD must fail and print WHAT (an errno name from
# helpers/op.py or fsops.py, or strerror text from shell tools).
expect_err() {
    local what=$1 out
    shift
    if out=$("$@" 2>&1); then
        fail "expected failure ($what): $*"
    fi
    case "$out" in
    *"$what"*) ;;
    *) fail "expected '$what' from: $* (got: $out)" ;;
    esac
}
OP=$CT_HELPERS/op.py

# Writers (helpers/writer.py): writer_start X TAG writes $(mnt X)/w/TAG-N
# files until writer_stop TAG; acks TAG counts the acknowledged ones.
declare -A WPID=()
writer_start() {
    local x=$1 tag=$2
    "$PY" "$CT_HELPERS/writer.py" run "$(mnt "$x")/w" "$tag" "$T/$tag.log" "$T/stop-$tag" &
    WPID[$tag]=$!
    CLEANUP_HOOKS+=("writer_stop $tag")
}
writer_stop() {
    local tag=$1
    [ -n "${WPID[$tag]:-}" ] || return 0
    touch "$T/stop-$tag"
    "$QFS_WAIT" exit "${WPID[$tag]}" 20 || kill -9 "${WPID[$tag]}" 2>/dev/null || true
    wait "${WPID[$tag]}" 2>/dev/null || true
    WPID[$tag]=
}
acks() { [ -f "$T/$1.log" ] && "$PY" "$CT_HELPERS/writer.py" acks "$T/$1.log" || echo 0; }
acks_above() { [ "$(acks "$1")" -gt "$2" ]; }
# verify_acked TAG NODE...: every write TAG acknowledged is on those nodes.
verify_acked() {
    local tag=$1 x
    shift
    for x in "$@"; do
        "$PY" "$CT_HELPERS/writer.py" verify "$(mnt "$x")/w" "$tag" "$T/$tag.log" >/dev/null ||
            defer_fail "acknowledged writes of $tag missing on node $x"
    done
}
