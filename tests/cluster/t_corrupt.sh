#!/usr/bin/env bash
# A chunk corrupted in B's store is detected when B reads it and fetched
# again from a peer: the read returns the right bytes, not EIO.
. "$(dirname "$0")/lib.sh"
: "${QFS_CHUNK_CORRUPT:?QFS_CHUNK_CORRUPT must name the chunk-corrupt tool}"
head -c 1000000 /dev/urandom >"$T/ref"
cluster_up
cp "$T/ref" "$(mnt a)/victim"
# Reading on B stores every chunk of the file there (pushed or fetched).
wait_until "$SYNC_SECS" cmp "$T/ref" "$(mnt b)/victim" || fail "B does not read A's file"
step "corrupt one chunk of B's store (B stopped)"
node_umount b || fail "node b exited with an error at unmount"
h=$("$QFS_CHUNK_CORRUPT" "$(data b)/chunks") || fail "chunk-corrupt found no chunk in B's store"
echo "corrupted chunk $h"
node_start b
node_wait_mounted b
cluster_ready
step "B reads the file: the bad chunk is detected and fetched again"
cmp "$T/ref" "$(mnt b)/victim" || fail "B returns other bytes (or an error) for the file"
# Detected, not merely read around: B names the bad chunk in its log.
grep -i "${h:0:16}" "$(log b)" | tail -n 2 || fail "B's log does not mention the corrupt chunk ${h:0:16}"
converge
finish
