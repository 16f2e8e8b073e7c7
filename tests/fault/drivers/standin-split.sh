# shellcheck shell=bash
# standin-split.sh - stand-in cluster that never replicates: each node has
# its own directory, and cluster_wait_sync lies that they are in sync.
# Convergence, no-lost-write, close-to-open and linearizability must fail.
. "$(dirname "${BASH_SOURCE[0]}")/standin.sh"

driver_describe() { echo "stand-in: every node has its own directory, nothing replicates (must fail)"; }
node_mountpoint() { echo "$FAULT_RUNDIR/standin-split$1"; }
