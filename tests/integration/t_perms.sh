#!/usr/bin/env bash
# Permissions for a non-root user (nobody) on a root mount: the kernel's
# checks (allow_other + default_permissions), ownership of new files,
# setgid inheritance, chown/chmod/utimens rules, setuid cleared on write.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root"; exit 77; }
as_nobody() {
    setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"
}
NOBODY=$(id -u nobody)
NOGROUP=$(getent group nogroup | cut -d: -f3)
USERS=$(getent group users | cut -d: -f3)
qfs_mount
cd "$MNT"
mkdir pub priv sg sticky
chmod 777 pub
chmod 700 priv
chmod 1777 sticky
echo secret >priv/s
echo root >ro
chmod 644 ro
echo shared >rw
chmod 666 rw

step "access checks"
expect_fail "Permission denied" as_nobody sh -c "echo x >ro"
expect_fail "Permission denied" as_nobody ls priv
expect_fail "Permission denied" as_nobody cat priv/s
expect_fail "Permission denied" as_nobody touch newfile
as_nobody sh -c "echo mine >pub/mine" || fail "nobody cannot create in a 777 dir"
[ "$(stat -c %u:%g pub/mine)" = "$NOBODY:$NOGROUP" ] || fail "owner of a new file: $(stat -c %u:%g pub/mine)"
as_nobody mkdir pub/d || fail "mkdir as nobody"
[ "$(stat -c %u:%g pub/d)" = "$NOBODY:$NOGROUP" ] || fail "owner of a new dir"
as_nobody ln -s target pub/l || fail "symlink as nobody"
[ "$(stat -c %u pub/l)" = "$NOBODY" ] || fail "owner of a new symlink"
as_nobody sh -c "umask 027; echo u >pub/masked"
[ "$(stat -c %a pub/masked)" = 640 ] || fail "umask not applied: $(stat -c %a pub/masked)"

step "chown and chmod rules"
expect_fail "not permitted" as_nobody chown root pub/mine
expect_fail "not permitted" as_nobody chmod 777 ro
expect_fail "not permitted" as_nobody chgrp users pub/mine
as_nobody chmod 600 pub/mine || fail "owner chmod"
chown "$NOBODY:$USERS" pub/mine || fail "root chown"
[ "$(stat -c %u:%g pub/mine)" = "$NOBODY:$USERS" ] || fail "root chown result"

step "setgid directory inheritance"
chgrp users sg
chmod 2777 sg
as_nobody touch sg/f
[ "$(stat -c %g sg/f)" = "$USERS" ] || fail "file in setgid dir has gid $(stat -c %g sg/f)"
as_nobody mkdir sg/sub
[ "$(stat -c %g sg/sub)" = "$USERS" ] || fail "subdir gid"
[ -g sg/sub ] || fail "subdir did not inherit setgid"

step "utimens rules"
expect_fail "not permitted" as_nobody touch -d 2001-01-01 rw
touch -d 2001-01-01 rw
as_nobody touch rw || fail "UTIME_NOW with write access"
[ "$(stat -c %Y rw)" -gt "$(date -d 2020-01-01 +%s)" ] || fail "UTIME_NOW by a writer left mtime $(stat -c %y rw)"
expect_fail "Permission denied" as_nobody touch ro

step "setuid cleared by a non-root write"
echo x >suid
chmod 4777 suid
as_nobody sh -c "echo y >>suid"
[ ! -u suid ] || fail "setuid survived a write by nobody"

step "sticky directory"
echo r >sticky/rootfile
chmod 666 sticky/rootfile
expect_fail "not permitted" as_nobody rm -f sticky/rootfile
as_nobody touch sticky/own && as_nobody rm sticky/own || fail "owner cannot remove in sticky dir"
cd /
qfs_umount || fail "unclean exit"
echo "ok"
