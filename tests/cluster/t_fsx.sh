#!/usr/bin/env bash
# Close-to-open under random operations: each operation of fsx.py (write
# through cached, write-only, append or O_DIRECT handles, read, shared
# mapping, truncate, O_TRUNC, fallocate, copy_file_range, stat, renames)
# opens its handles on a random node and closes them before the next one,
# and every read and stat must show what the model says; then each node
# reads each file whole, and the three trees are identical.
. "$(dirname "$0")/lib.sh"
FSX="$PY $(cd "$(dirname "$0")/../integration/helpers" && pwd)/fsx.py"
ops=$(scale 1500)
cluster_up
for seed in 1 2; do
    step "seed $seed: $ops operations spread over a, b and c"
    mkdir "$(mnt a)/s$seed" "$T/exp$seed"
    wait_until "$SYNC_SECS" exists_on "s$seed" b c || fail "s$seed not on b and c"
    $FSX "$(mnt a)/s$seed:$(mnt b)/s$seed:$(mnt c)/s$seed" "$seed" "$ops" "$T/exp$seed" ||
        fail "seed $seed"
done
converge
finish
