#!/usr/bin/env bash
# git clone of a local repository into A's mount; git fsck and git log on B
# give the source's history; git status on C finds the checkout clean.
. "$(dirname "$0")/lib.sh"
command -v git >/dev/null || { echo "SKIP: no git"; exit 77; }
export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.com GIT_COMMITTER_NAME=t \
    GIT_COMMITTER_EMAIL=t@example.com HOME=$T GIT_CONFIG_NOSYSTEM=1
git config --global safe.directory '*'

step "a source repository with three commits (outside the mounts)"
git init -q "$T/src"
cp /usr/include/linux/[a-b]*.h "$T/src/"
git -C "$T/src" add -A
git -C "$T/src" commit -qm first
for f in "$T"/src/*.h; do echo "/* two */" >>"$f"; done
git -C "$T/src" commit -qam second
git -C "$T/src" rm -q "$(ls "$T/src" | head -n 1)"
git -C "$T/src" commit -qm third

cluster_up
step "clone into A"
git clone -q "$T/src" "$(mnt a)/clone" || fail "git clone into A"
step "fsck and log on B"
(cd "$(mnt b)/clone" && git fsck --full --strict) || fail "git fsck on B"
[ "$(git -C "$(mnt b)/clone" log --format='%H %s')" = "$(git -C "$T/src" log --format='%H %s')" ] ||
    fail "git log on B differs from the source's"
step "status on C"
[ -z "$(git -C "$(mnt c)/clone" status --porcelain)" ] || fail "git status on C is not clean"
diff -r -x .git "$T/src" "$(mnt c)/clone" || fail "C's checkout differs from the source"
converge
finish
