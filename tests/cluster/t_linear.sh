#!/usr/bin/env bash
# What another node sees once a mutation returned (create, mkdir, link/unlink,
# chmod, utimens, rename), even when the reader's kernel cached the old state
# a moment before: a listing at once (opendir asks the leader), a lookup or
# stat within a bound (served locally; helpers/linear.py says which).
. "$(dirname "$0")/lib.sh"
cluster_up
"$PY" "$CT_HELPERS/linear.py" "$(scale 30)" "$(mnt a)" "$(mnt b)" "$(mnt c)" ||
    fail "a node's view trailed a mutation made elsewhere beyond its bound"
finish
