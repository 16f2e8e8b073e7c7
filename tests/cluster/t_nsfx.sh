#!/usr/bin/env bash
# Random namespace operations (helpers/nsfx.py: mkdir, rmdir, create,
# unlink, renames of every kind, links, symlinks, writes, chmod, xattrs,
# stat, readdir) each run on a random node and on a local directory of the
# kernel's own filesystem: every outcome and listing must agree at once, and
# so must the trees of all three nodes every 50 operations. Seed 2 moves a
# directory on one node and renames it on another that had looked it up
# before, which failed ESTALE until dir_moves.c.
. "$(dirname "$0")/lib.sh"
NSFX="$PY $(cd "$(dirname "$0")/../integration/helpers" && pwd)/nsfx.py"
ops=$(scale 2000)
cluster_up
for seed in 2 5; do
    step "seed $seed: $ops operations spread over a, b and c"
    mkdir "$(mnt a)/s$seed" "$T/ref$seed"
    wait_until "$SYNC_SECS" exists_on "s$seed" b c || fail "s$seed not on b and c"
    $NSFX "$T/ref$seed" "$(mnt a)/s$seed:$(mnt b)/s$seed:$(mnt c)/s$seed" "$seed" "$ops" ||
        fail "seed $seed"
done
converge
finish
