#!/usr/bin/env bash
# Linearizable namespace and metadata across nodes: after a mutation on one
# node returned, a lookup or stat that starts later on another node sees it
# at once (create, mkdir, link/unlink, chmod, utimens, rename), even when the
# reader's kernel cached the old state a moment before (helpers/linear.py).
. "$(dirname "$0")/lib.sh"
cluster_up
"$PY" "$CT_HELPERS/linear.py" "$(scale 30)" "$(mnt a)" "$(mnt b)" "$(mnt c)" ||
    fail "a node answered from a stale view after a mutation elsewhere had returned"
finish
