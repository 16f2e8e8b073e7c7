#!/usr/bin/env bash
# Random namespace operations (mkdir, rmdir, create, unlink, rename with and
# without RENAME_NOREPLACE/RENAME_EXCHANGE, link, symlink, writes, truncate,
# chmod, xattrs, stat, readdir, readlink) over a handful of names, run on the
# mount and on a directory of the kernel's own filesystem beside it: every
# outcome (success or errno), listing and stat must agree, and so must the
# whole trees every 50 operations (helpers/nsfx.py). Then a remount.
. "$(dirname "$0")/lib.sh"
NSFX="python3 $QFS_HELPERS/nsfx.py"
ops=$(scale 3000)
qfs_mount
for seed in 1 2 3; do
    step "seed $seed: $ops operations, against $T/ref$seed"
    mkdir "$MNT/s$seed" "$T/ref$seed"
    $NSFX "$T/ref$seed" "$MNT/s$seed" "$seed" "$ops" || fail "seed $seed"
done

step "the same trees after a remount"
qfs_remount
for seed in 1 2 3; do
    $NSFX "$T/ref$seed" "$MNT/s$seed" "$seed" 0 >/dev/null || fail "seed $seed after the remount"
done
qfs_umount || fail "unclean exit"
echo ok
