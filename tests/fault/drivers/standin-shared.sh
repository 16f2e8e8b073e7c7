# shellcheck shell=bash
# standin-shared.sh - stand-in cluster whose nodes all see one directory:
# the ideal synchronized filesystem. Every checker must pass on it.
. "$(dirname "${BASH_SOURCE[0]}")/standin.sh"

driver_describe() { echo "stand-in: all nodes share one local directory (must pass)"; }
node_mountpoint() { echo "$FAULT_RUNDIR/standin-shared"; }
