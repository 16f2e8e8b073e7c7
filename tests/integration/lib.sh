# lib.sh - sourced by every integration test: a fresh temp dir with a fresh
# data dir, a mount whose daemon is always unmounted and ended by its PID
# (trap on EXIT, even on failure), and small assertion helpers.
# Environment (set by meson): QFS_BIN (the daemon), QFS_WAIT (helpers/qfs_wait),
# QFS_HELPERS (this folder's helpers), QFS_SANITIZED=1 under ASan (scale down).
set -euo pipefail

if [ ! -e /dev/fuse ]; then
    echo "SKIP: /dev/fuse is absent"
    exit 77
fi
: "${QFS_BIN:?QFS_BIN must name the quorumfs executable}"
: "${QFS_WAIT:?QFS_WAIT must name helpers/qfs_wait}"
QFS_HELPERS=${QFS_HELPERS:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/helpers}
SANITIZED=${QFS_SANITIZED:-0}

T=$(mktemp -d /tmp/qfs-it.XXXXXX)
chmod 755 "$T"
MNT=$T/mnt
DATA=$T/data
LOG=$T/daemon.log
mkdir -p "$MNT"
QFS_PID=
CLEANUP_HOOKS=()

# Unmounts (if mounted) and waits for the daemon; returns its exit status.
qfs_umount() {
    local rc=0
    if grep -q " $MNT " /proc/self/mountinfo 2>/dev/null; then
        fusermount3 -u "$MNT" 2>/dev/null || umount "$MNT" 2>/dev/null || umount -l "$MNT" || true
    fi
    if [ -n "$QFS_PID" ]; then
        if ! "$QFS_WAIT" exit "$QFS_PID" 20; then
            echo "daemon $QFS_PID did not exit after unmount; killing it" >&2
            kill -9 "$QFS_PID" 2>/dev/null || true
        fi
        wait "$QFS_PID" || rc=$?
        QFS_PID=
    fi
    return $rc
}

cleanup() {
    local rc=$?
    set +e
    cd /
    qfs_umount >/dev/null 2>&1
    for hook in "${CLEANUP_HOOKS[@]}"; do
        eval "$hook"
    done
    if [ $rc -ne 0 ] && [ $rc -ne 77 ] && [ -f "$LOG" ]; then
        echo "---- daemon log (last 40 lines) ----" >&2
        tail -n 40 "$LOG" >&2
    fi
    rm -rf "$T"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# qfs_mount [daemon options...]: mounts $DATA at $MNT in the foreground
# (so that $QFS_PID is the daemon) and returns once the mount is up.
qfs_mount() {
    "$QFS_BIN" -f --data "$DATA" "$@" "$MNT" >>"$LOG" 2>&1 &
    QFS_PID=$!
    if ! "$QFS_WAIT" mounted "$MNT" "$QFS_PID" 30; then
        fail "the mount did not come up"
    fi
}

# qfs_remount [options...]: clean unmount (daemon must exit 0), then mount again.
qfs_remount() {
    local rc=0
    qfs_umount || rc=$?
    [ $rc -eq 0 ] || fail "daemon exited with status $rc at unmount"
    qfs_mount "$@"
}

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

step() {
    echo "== $*"
}

# expect_errno ERRNO_NAME cmd...: the command must fail with that errno
# (the python helper prints errno names; shell tools print strerror text).
expect_fail() {
    local what=$1
    shift
    local out
    if out=$("$@" 2>&1); then
        fail "expected failure ($what): $*"
    fi
    case "$out" in
    *"$what"*) ;;
    *) fail "expected '$what' from: $* (got: $out)" ;;
    esac
}

# scale N: N normally, N/10 (at least 1) under ASan.
scale() {
    if [ "$SANITIZED" = 1 ]; then
        local n=$(($1 / 10))
        echo $((n > 0 ? n : 1))
    else
        echo "$1"
    fi
}

# Total bytes in the data dir (what the store occupies on disk).
data_bytes() {
    du -sb "$DATA" | cut -f1
}
