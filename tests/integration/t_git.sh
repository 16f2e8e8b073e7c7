#!/usr/bin/env bash
# git init, add, commit (twice), git fsck, gc, and a clone inside the mount.
. "$(dirname "$0")/lib.sh"
command -v git >/dev/null || { echo "SKIP: no git"; exit 77; }
qfs_mount

export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.com GIT_COMMITTER_NAME=t \
    GIT_COMMITTER_EMAIL=t@example.com HOME=$T
cd "$MNT"
git init -q repo
cd repo
mkdir linux
# A modest tree (each file is several durable metadata commands).
cp -a /usr/include/linux/[a-b]*.h linux/
cp -a /usr/include/linux/types.h linux/
git add -A
git commit -qm first
for f in linux/*.h; do echo "/* edit */" >>"$f"; done
git rm -q --cached linux/types.h
git commit -qam second
git fsck --full --strict || fail "git fsck"
git gc -q || fail "git gc"
git fsck --full || fail "git fsck after gc"
[ "$(git rev-list --count HEAD)" -eq 2 ] || fail "history lost"
cd "$MNT"
git clone -q repo clone
diff -r -x .git -x types.h repo clone || fail "clone differs"
cd /
qfs_remount
cd "$MNT/repo" && git fsck --full || fail "git fsck after remount"
cd /
qfs_umount || fail "unclean exit"
echo "ok"
