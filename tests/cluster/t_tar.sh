#!/usr/bin/env bash
# A tarball extracted on B is, on C, byte for byte what tar extracts locally
# (diff -r), and the three trees are identical.
. "$(dirname "$0")/lib.sh"
# About 150 headers (each is several commands; the whole of linux/ takes
# about 50 s to extract on a follower here); about 50 under ASan.
if [ "$SANITIZED" = 1 ]; then set -- /usr/include/linux/[a-b]*; else set -- /usr/include/linux/[a-f]*; fi
tar czf "$T/t.tgz" "$@" 2>/dev/null
mkdir "$T/ref"
tar xzf "$T/t.tgz" -C "$T/ref"
cluster_up
step "extract on B ($(tar tzf "$T/t.tgz" | wc -l) entries)"
tar xzf "$T/t.tgz" -C "$(mnt b)" || fail "tar on B"
step "diff on C"
diff -r "$T/ref" "$(mnt c)" || fail "C differs from the tarball"
diff -r "$T/ref" "$(mnt a)" || fail "A differs from the tarball"
converge
finish
