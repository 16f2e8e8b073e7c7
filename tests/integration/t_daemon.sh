#!/usr/bin/env bash
# The daemon's front door: --help/--version, bad options (exit 2), going to
# the background only once mounted, --pid-file, fusermount3 -u and SIGTERM
# ending it cleanly, the default data dir of a non-root user, atime options,
# -o staging.
. "$(dirname "$0")/lib.sh"

step "help, version, bad options"
"$QFS_BIN" --help | grep -q "usage: .*MOUNTPOINT" || fail "--help"
"$QFS_BIN" --version | grep -q "quorumfs" || fail "--version"
for bad in "" "-o no_such_option $MNT" "--data" "--no-such-flag $MNT" "$MNT $T/extra" \
    "-o staging=12Q $MNT" "-o staging=1M $MNT" "-o staging=2T $MNT"; do
    rc=0
    # shellcheck disable=SC2086
    "$QFS_BIN" $bad >"$T/out" 2>&1 || rc=$?
    [ $rc -eq 2 ] || fail "'quorumfs $bad' exited $rc, not 2: $(cat "$T/out")"
    [ -s "$T/out" ] || fail "'quorumfs $bad' printed no message"
done
grep -q " $MNT " /proc/self/mountinfo && fail "a bad command line mounted"

step "background: returns only once mounted"
# (a relative --pid-file: the daemon chdir()s to / after forking)
(cd "$T" && "$QFS_BIN" --data "$DATA" --pid-file pid "$MNT" 2>"$T/out") || fail "daemon start: $(cat "$T/out")"
grep -q " $MNT " /proc/self/mountinfo || fail "parent returned before the mount was up"
QFS_PID=$(cat "$T/pid")
CLEANUP_HOOKS+=("kill $QFS_PID 2>/dev/null")
grep -q "data directory: $DATA" "$DATA/quorumfs.log" || fail "log does not name the data dir"
echo persisted >"$MNT/f"
fusermount3 -u "$MNT"
"$QFS_WAIT" exit "$QFS_PID" 20 || fail "daemon still running after fusermount3 -u"
[ ! -e "$T/pid" ] || fail "pid file left behind"
QFS_PID=

step "SIGTERM unmounts cleanly"
qfs_mount
[ "$(cat "$MNT/f")" = persisted ] || fail "data lost across fusermount3 -u"
exec 3>"$MNT/staged"
echo "written before SIGTERM" >&3
kill -TERM "$QFS_PID"
rc=0
wait "$QFS_PID" || rc=$?
exec 3>&-
[ $rc -eq 0 ] || fail "daemon exited $rc after SIGTERM"
QFS_PID=
"$QFS_WAIT" unmounted "$MNT" 10 || fail "still mounted after SIGTERM"
qfs_mount
[ "$(cat "$MNT/f")" = persisted ] || fail "data lost across SIGTERM"
[ "$(cat "$MNT/staged")" = "written before SIGTERM" ] || fail "staged write lost at SIGTERM"

step "atime options"
echo a >"$MNT/at"
qfs_remount -o noatime
touch -a -d 2000-01-01 "$MNT/at"
cat "$MNT/at" >/dev/null
[ "$(stat -c %X "$MNT/at")" -eq "$(date -d 2000-01-01 +%s)" ] || fail "noatime updated atime"
qfs_remount -o strictatime
t0=$(date +%s)
touch -a -d 2000-01-01 "$MNT/at"
cat "$MNT/at" >/dev/null
[ "$(stat -c %X "$MNT/at")" -ge "$t0" ] || fail "strictatime did not update atime"

step "-o staging=SIZE sets the staging bound"
qfs_remount -o staging=48m
grep -q "core: staging bound 48 MiB" "$LOG" || fail "-o staging=48m: $(grep 'staging bound' "$LOG")"
qfs_umount || fail "unclean exit"

step "default data dir of a non-root user"
as_nobody() {
    setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"
}
# Non-root mounts need /dev/fuse usable by the user (fusermount3 then does
# the mount); containers often make it root-only.
if [ "$(id -u)" -eq 0 ] && as_nobody test -r /dev/fuse -a -w /dev/fuse; then
    U=$T/user
    mkdir -p "$U/home" "$U/mnt"
    chown -R nobody "$U"
    as_nobody env -u XDG_DATA_HOME HOME="$U/home" "$QFS_BIN" --pid-file "$U/pid" "$U/mnt" 2>"$T/out" ||
        fail "non-root mount failed: $(cat "$T/out")"
    upid=$(cat "$U/pid")
    CLEANUP_HOOKS+=("fusermount3 -u '$U/mnt' 2>/dev/null; kill $upid 2>/dev/null")
    [ -d "$U/home/.local/share/quorumfs" ] || fail "default data dir not created"
    grep -q "(default)" "$U/home/.local/share/quorumfs/quorumfs.log" || fail "default not logged"
    as_nobody sh -c "echo u >'$U/mnt/x'" ||
        fail "owner cannot write"
    fusermount3 -u "$U/mnt"
    "$QFS_WAIT" exit "$upid" 20 || fail "non-root daemon did not exit"
elif [ "$(id -u)" -eq 0 ]; then
    # The mount itself must fail here, but the default data dir is chosen,
    # created and named before mounting.
    U=$T/user
    mkdir -p "$U/home" "$U/mnt"
    chown -R nobody "$U"
    rc=0
    as_nobody env -u XDG_DATA_HOME HOME="$U/home" "$QFS_BIN" -f "$U/mnt" >"$T/out" 2>&1 || rc=$?
    [ $rc -eq 1 ] || fail "non-root mount without /dev/fuse access exited $rc: $(cat "$T/out")"
    [ -d "$U/home/.local/share/quorumfs" ] || fail "default data dir not created"
    grep -q "data directory: $U/home/.local/share/quorumfs (default)" "$T/out" ||
        fail "default data dir not logged: $(cat "$T/out")"
    rc=0
    as_nobody env XDG_DATA_HOME="$U/xdg" HOME="$U/home" "$QFS_BIN" -f "$U/mnt" >"$T/out" 2>&1 || rc=$?
    grep -q "data directory: $U/xdg/quorumfs (default)" "$T/out" || fail "XDG_DATA_HOME not used"
fi
echo "ok"
