#!/usr/bin/env bash
# t_snapshot.sh - a node whose log is too far behind catches up from a
# snapshot. Three real quorumfs processes on 127.0.0.1 whose logs keep only
# RETAIN applied slots (QFS_TEST_LOG_RETAIN). Node c is frozen (SIGSTOP)
# while a and b make many more metadata changes than that; once c runs
# again it must install a peer's snapshot (its log says so), converge to
# a's tree (names, types, modes, sizes and content, whose chunks it pulls
# after the install), forget what was removed meanwhile, and accept
# mutations again. Then the same across a restart of c.
# Environment: QFS_BIN (quorumfs), QFS_CLI (qfs), QFS_WAIT (qfs_wait);
# QFS_SANITIZED=1 under ASan (fewer operations, longer deadlines).
set -euo pipefail

if [ ! -e /dev/fuse ]; then
    echo "SKIP: /dev/fuse is absent"
    exit 77
fi
: "${QFS_BIN:?QFS_BIN must name the quorumfs executable}"
: "${QFS_CLI:?QFS_CLI must name the qfs executable}"
: "${QFS_WAIT:?QFS_WAIT must name tests/integration/helpers/qfs_wait}"

SANITIZED=${QFS_SANITIZED:-0}
RETAIN=64
OPS=$([ "$SANITIZED" = 1 ] && echo 200 || echo 320)
SECS=$([ "$SANITIZED" = 1 ] && echo 60 || echo 30)
NODES=(a b c)
declare -A PID=() PORT=() ID=()
T=$(mktemp -d /tmp/qfs-snap.XXXXXX)
chmod 755 "$T"

mnt() { echo "$T/$1"; }
data() { echo "$T/$1.data"; }
logf() { echo "$T/$1.log"; }
fail() {
    echo "FAIL: $*" >&2
    exit 1
}
step() { echo "== $(date -u +%T) $*"; }
mounted() { grep -q " $(mnt "$1") " /proc/self/mountinfo 2>/dev/null; }

# wait_until SECS CMD...: polls CMD every 50 ms until it succeeds; 1 on timeout.
wait_until() {
    local end=$((SECONDS + $1))
    shift
    until "$@" >/dev/null 2>&1; do
        [ $SECONDS -lt $end ] || return 1
        sleep 0.05
    done
}

# op CMD...: CMD, retried while it fails (EROFS while a new leader is elected
# after c stops; its outcome is then unknown, so every CMD is idempotent).
op() { wait_until "$SECS" "$@" || fail "failed for ${SECS}s: $*"; }
mv_once() { [ -e "$2" ] || mv "$1" "$2"; }
rm_once() { [ ! -e "$1" ] || rm -r "$1"; }
put() { echo "$2" >"$1"; }

stop_node() {
    local x=$1
    [ -n "${PID[$x]:-}" ] || return 0
    kill -CONT "${PID[$x]}" 2>/dev/null || true
    if mounted "$x"; then
        fusermount3 -u "$(mnt "$x")" 2>/dev/null || umount -l "$(mnt "$x")" || true
    fi
    if ! "$QFS_WAIT" exit "${PID[$x]}" 20; then
        echo "node $x (${PID[$x]}) did not exit after unmount; killing it" >&2
        kill -9 "${PID[$x]}" 2>/dev/null || true
    fi
    local st=0
    wait "${PID[$x]}" 2>/dev/null || st=$?
    PID[$x]=
    [ $st -eq 0 ] || echo "node $x exited with status $st" >&2
    return $st
}

cleanup() {
    local rc=$? x
    set +e
    cd /
    for x in "${NODES[@]}"; do
        stop_node "$x" || [ $rc -ne 0 ] || rc=1 # a sanitizer report, a crash at exit
    done
    if [ $rc -ne 0 ] && [ $rc -ne 77 ]; then
        for x in "${NODES[@]}"; do
            echo "---- node $x log (last 25 lines) ----" >&2
            tail -n 25 "$(logf "$x")" >&2
            grep -A 40 "ERROR: .*Sanitizer" "$(logf "$x")" >&2 # the report's head, if any
        done
    fi
    rm -rf "$T"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Three ports bound together (so they differ), released just before use.
ports=$(python3 -c 'import socket
s = [socket.socket() for _ in range(3)]
for x in s: x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))')
read -r -a ports <<<"$ports"
i=0
for x in "${NODES[@]}"; do
    PORT[$x]=${ports[$i]}
    i=$((i + 1))
    ID[$x]=$("$QFS_CLI" init --data "$(data "$x")" --listen "127.0.0.1:${PORT[$x]}" 2>>"$(logf "$x")" |
        tail -n 1 | awk '{print $NF}')
    [ -n "${ID[$x]}" ] || fail "qfs init of node $x printed no node ID"
    mkdir -p "$(mnt "$x")"
done
for x in "${NODES[@]}"; do
    for y in "${NODES[@]}"; do
        [ "$x" = "$y" ] || echo "peer = ${ID[$y]} 127.0.0.1:${PORT[$y]}" >>"$(data "$x")/node.conf"
    done
done

step "start three nodes keeping $RETAIN applied slots"
for x in "${NODES[@]}"; do
    QFS_TEST_LOG_RETAIN=$RETAIN "$QFS_BIN" -f -c "$(data "$x")/node.conf" "$(mnt "$x")" \
        >>"$(logf "$x")" 2>&1 &
    PID[$x]=$!
done
for x in "${NODES[@]}"; do
    "$QFS_WAIT" mounted "$(mnt "$x")" "${PID[$x]}" 30 || fail "node $x did not mount"
done
A=$(mnt a) B=$(mnt b) C=$(mnt c)
op mkdir -p "$A/before"
wait_until "$SECS" test -d "$C/before" || fail "c does not see a's mkdir"
for i in $(seq 1 20); do op put "$A/before/f$i" "old $i"; done
op mkdir -p "$A/before/gone" "$A/before/renamed"
wait_until "$SECS" test -d "$C/before/renamed" || fail "c does not see a's tree"
ls -laR "$C/before" >/dev/null # the kernel of c now caches these entries and attributes

step "freeze c; $OPS metadata operations on a and b"
kill -STOP "${PID[c]}"
op rm_once "$A/before/gone"
op mv_once "$A/before/renamed" "$A/before/moved"
for i in $(seq 1 10); do op rm_once "$A/before/f$i"; done
op chmod 600 "$A/before/f11"
op put "$A/before/f12" "longer content now"
op mkdir -p "$A/new" "$B/newb"
for i in $(seq 1 $((OPS / 4))); do
    op put "$A/new/n$i" "$i" # create + content
    op mkdir -p "$B/newb/d$i" # from the other node
    op chmod 640 "$A/new/n$i"
    op mv_once "$B/newb/d$i" "$B/newb/e$i"
done

step "thaw c; it must install a snapshot and converge"
kill -CONT "${PID[c]}"
tree() { # tree ROOT: one line per entry: path, type and mode, size and content hash (files)
    python3 - "$1" <<'PY'
import hashlib, os, stat, sys
root = sys.argv[1]
for d, dirs, files in os.walk(root):
    for n in sorted(dirs + files):
        p = os.path.join(d, n)
        st = os.lstat(p)
        size, h = 0, "-"
        if stat.S_ISREG(st.st_mode):
            size = st.st_size
            try:
                with open(p, "rb") as f:
                    h = hashlib.sha256(f.read()).hexdigest()[:16]
            except OSError as e:  # a chunk not pulled yet: a difference, not a crash
                h = "read-error-%d" % e.errno
        print(os.path.relpath(p, root), oct(st.st_mode), size, h)
PY
}
same_tree() { [ "$(tree "$A")" = "$(tree "$C")" ]; }
installed() { grep -q "installed a metadata snapshot" "$(logf c)"; }
wait_until "$SECS" installed || fail "c did not install a snapshot"
if ! wait_until "$SECS" same_tree; then
    diff <(tree "$A") <(tree "$C") | head -20 >&2 || true
    fail "c's tree differs from a's"
fi
[ ! -e "$C/before/gone" ] || fail "c still shows a directory removed while it was frozen"
[ ! -e "$C/before/f1" ] || fail "c still shows a file removed while it was frozen"
[ "$(stat -c %a "$C/before/f11")" = 600 ] || fail "c shows a stale mode of before/f11"
[ "$(stat -c %s "$C/before/f12")" = 19 ] || fail "c shows a stale size of before/f12"
grep -h "snapshot" "$(logf a)" "$(logf b)" "$(logf c)" | sed 's/^/   /'

step "c is a full member again: its mutations reach a"
wait_until "$SECS" mkdir -p "$C/after" || fail "c refuses a mkdir after the snapshot"
wait_until "$SECS" test -d "$A/after" || fail "a does not see c's mkdir"
wait_until "$SECS" same_tree || fail "trees differ after c's mkdir"

step "stop c; more operations; restart c: a second snapshot, at startup"
stop_node c || fail "c did not exit cleanly"
for i in $(seq 1 $((OPS / 4))); do
    op mkdir -p "$A/r$i"
    op mv_once "$A/r$i" "$B/s$i"
done
op rm_once "$A/new"
QFS_TEST_LOG_RETAIN=$RETAIN "$QFS_BIN" -f -c "$(data c)/node.conf" "$C" >>"$(logf c)" 2>&1 &
PID[c]=$!
"$QFS_WAIT" mounted "$C" "${PID[c]}" 30 || fail "node c did not mount again"
twice() { [ "$(grep -c "installed a metadata snapshot" "$(logf c)")" -ge 2 ]; }
wait_until "$SECS" twice || fail "c did not install a second snapshot after its restart"
if ! wait_until "$SECS" same_tree; then
    diff <(tree "$A") <(tree "$C") | head -20 >&2 || true
    fail "c's tree differs from a's after its restart"
fi
[ ! -e "$C/new" ] || fail "c still shows a tree removed while it was down"
[ ! -e "$(data c)/snapshot.recv" ] || fail "c left its received snapshot behind"
step "ok"
