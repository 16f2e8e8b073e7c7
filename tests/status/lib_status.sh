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
# control socket. The mount source is quorumfs:DATA, as the daemon sets it.
# A daemon built without the control server makes the test SKIP (77).
qfs_mount_ctl() {
    qfs_mount -o "fsname=quorumfs:$DATA" "$@"
    local i
    for i in $(seq 100); do
        [ -S "$DATA/control.sock" ] && return 0
        "$QFS_WAIT" exit "$QFS_PID" 0.05 && fail "daemon exited"
    done
    echo "SKIP: the daemon serves no control socket (fs/fuse/main.c does not start fs/control yet)"
    exit 77
}
