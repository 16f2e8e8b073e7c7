#!/usr/bin/env bash
# Random operations through every I/O path (cached, write-only, append and
# O_DIRECT handles kept open side by side, shared mappings, truncate up and
# down, O_TRUNC, fallocate, copy_file_range, renames under open handles),
# each read and stat checked against a model of the bytes (helpers/fsx.py),
# then every file compared with the model after a remount. The last seed
# runs under a 16 MiB staging bound with files up to 24 MiB, so that writes
# freeze and commit staged sets in the middle of it.
. "$(dirname "$0")/lib.sh"
FSX="python3 $QFS_HELPERS/fsx.py"
ops=$(scale 4000)
qfs_mount
for seed in 1 2 3; do
    step "seed $seed: $ops operations, files below 3 MiB"
    mkdir "$MNT/s$seed" "$T/exp$seed"
    $FSX "$MNT/s$seed" "$seed" "$ops" "$T/exp$seed" || fail "seed $seed"
done
qfs_remount -o staging=16M
step "seed 4: $ops operations, files below 24 MiB, staging bound 16 MiB"
mkdir "$MNT/s4" "$T/exp4"
$FSX "$MNT/s4" 4 "$ops" "$T/exp4" $((24 << 20)) || fail "seed 4"

step "every file as the model says after a remount"
qfs_remount
for seed in 1 2 3 4; do
    for f in fsx.0 fsx.1; do
        cmp "$MNT/s$seed/$f" "$T/exp$seed/$f" || fail "seed $seed: $f differs after the remount"
    done
done
qfs_umount || fail "unclean exit"
echo ok
