#!/usr/bin/env bash
# t_snapshot.sh - a node whose log is too far behind catches up from a
# snapshot. The nodes' logs keep only 64 applied slots (QFS_TEST_LOG_RETAIN).
# Node c is frozen (SIGSTOP) while a and b make several hundred metadata
# changes; once thawed it must install a peer's snapshot (its log says so),
# converge (names, types, modes, sizes, content once its chunks are fetched),
# forget what was removed meanwhile, and take mutations again. Then the same
# across a restart: c stopped, more changes, c started again.
. "$(dirname "$0")/lib.sh"
export QFS_TEST_LOG_RETAIN=64 # inherited by every node_start
# Enough to move the log's start well past c (64 retained + 32 hysteresis).
OPS=$([ "$SANITIZED" = 1 ] && echo 200 || echo 320)
# op CMD...: CMD, retried while it fails (EROFS while a new leader is elected
# after c stops: the outcome is then unknown, so every CMD is idempotent).
op() { wait_until "$SYNC_SECS" "$@" || fail "failed for ${SYNC_SECS}s: $*"; }
mv_once() { [ -e "$2" ] || mv "$1" "$2"; }
rm_once() { [ ! -e "$1" ] || rm -r "$1"; }
rename_once() { [ -e "$2" ] || "$PY" "$OP" rename "$1" "$2"; }
put() { echo "$2" >"$1"; }
installs() { grep -c "installed a metadata snapshot" "$(log c)" || true; }
installs_at_least() { [ "$(installs)" -ge "$1" ]; }
# wait_installs N: c installs its Nth snapshot, or the test fails showing
# every node's status (role, commit, applied: which side stopped short).
wait_installs() {
    wait_until "$SYNC_SECS" installs_at_least "$1" && return 0
    for x in a b c; do
        echo "---- qfs status of $x" >&2
        timeout 5 "$QFS_CLI" status -c "$(conf "$x")" 2>&1 | sed 's/^/   /' >&2
    done
    fail "c did not install snapshot number $1"
}

cluster_up
A=$(mnt a) B=$(mnt b) C=$(mnt c)
op mkdir -p "$A/before"
for i in $(seq 1 20); do op put "$A/before/f$i" "old $i"; done
op mkdir -p "$A/before/gone" "$A/before/renamed" "$A/before/tomove"
wait_until "$SYNC_SECS" exists_on before/renamed c || fail "c does not see a's tree"
wait_until "$SYNC_SECS" exists_on before/tomove c || fail "c does not see a's tree"
ls -laR "$C/before" >/dev/null # c's kernel now caches these entries and attributes

step "freeze c; once a and b dropped it, $OPS metadata operations on a and b"
node_freeze c
# Sent while c's connections were up, the operations waited in its socket
# buffers, and c read them all on waking: no snapshot needed (the flake seen
# in CI, "c did not install snapshot number 1" with c in sync). Once both
# peers closed its control connection (2 s of silence), nothing is queued
# for c any more.
dropped_c() {
    grep -q "closing control connection .*silent for too long" "$(log a)" &&
        grep -q "closing control connection .*silent for too long" "$(log b)"
}
wait_until "$SYNC_SECS" dropped_c || fail "a and b never dropped frozen c"
op rm_once "$A/before/gone"
op mv_once "$A/before/renamed" "$A/before/moved"
for i in $(seq 1 10); do op rm_once "$A/before/f$i"; done
op chmod 600 "$A/before/f11"
op put "$A/before/f12" "longer content now"
op mkdir -p "$A/new" "$B/newb"
op mv_once "$A/before/tomove" "$A/new/tomove"
for i in $(seq 1 $((OPS / 4))); do
    op put "$A/new/n$i" "$i"  # create + content
    op mkdir -p "$B/newb/d$i" # from the other node
    op chmod 640 "$A/new/n$i"
    op mv_once "$B/newb/d$i" "$B/newb/e$i"
done

step "thaw c: it installs a snapshot and converges"
kill -CONT "${PID[c]}"
wait_installs 1
# The first thing c does with the directory the snapshot moved is a rename
# to another directory (renameat2 alone: a lookup outside a rename would
# move c's old dentry itself): ESTALE, each try, before dir_moves heard of
# snapshot installs.
op rename_once "$C/new/tomove" "$C/moved"
converge
absent_on before/gone c || fail "c still shows a directory removed while it was frozen"
absent_on before/f1 c || fail "c still shows a file removed while it was frozen"
[ "$(stat -c %a "$C/before/f11")" = 600 ] || fail "c shows a stale mode of before/f11"
[ "$(stat -c %s "$C/before/f12")" = 19 ] || fail "c shows a stale size of before/f12"
grep -h "snapshot" "$(log a)" "$(log b)" "$(log c)" | sed 's/^/   /'

step "c is a full member again"
wait_until "$SYNC_SECS" mkdir -p "$C/after" || fail "c refuses a mkdir after the snapshot"
wait_until "$SYNC_SECS" exists_on after a b || fail "c's mkdir is not seen on a and b"

step "stop c; more operations; start c: a second snapshot, at its start"
node_umount c || fail "c did not exit cleanly"
for i in $(seq 1 $((OPS / 4))); do
    op mkdir -p "$A/r$i"
    op mv_once "$A/r$i" "$B/s$i"
done
op rm_once "$A/new"
node_start c
node_wait_mounted c
wait_installs 2
converge
absent_on new c || fail "c still shows a tree removed while it was down"
[ ! -e "$(data c)/snapshot.recv" ] || fail "c left its received snapshot behind"
finish
