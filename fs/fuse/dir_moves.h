/*
 * dir_moves.h - drops this kernel's old name of a directory another node moved.
 *
 * The kernel keeps a dentry it looked up even on a cluster mount (timeout 0
 * only makes it ask again on use), and a directory has one dentry. When
 * another node moves a directory (renames it), its old dentry stays
 * here until something walks the old name. A lookup under the new name
 * must move that dentry, which takes the filesystem's rename lock; a rename
 * between two directories holds that lock itself, so a rename of the moved
 * directory to another directory failed ESTALE, on the VFS's retry too
 * (`mv` said "Stale file handle" until the old path was walked; found by
 * tests/integration/helpers/nsfx.py). Renames within one directory count
 * as moves here: their old dentry needs no lock to move, but it outlives
 * them, and a later move to another parent names only the newer name.
 *
 * So for each directory another node moved, a walker process stats the old
 * path: the kernel revalidates the old dentry, this daemon answers that the
 * name is gone or names something else, and the kernel drops it. A lookup
 * here that finds such a directory waits for its walk first (at most
 * SETTLE_MS), so that the rename that follows the remote one finds no old
 * dentry. A process, not a thread, and the invariant that matters: the
 * walker holds no /dev/fuse descriptor. Its walk may wait for a directory
 * lock that a FUSE request in flight holds; if this daemon dies then, the
 * descriptor closes, the connection is aborted, the lock released and the
 * walker ends. A thread would keep the descriptor open and the mount hung
 * for good (why entries are never invalidated through the kernel;
 * invalidate.h). For the same reason the lookup's wait is bounded: the walk
 * may need a lock that the rename which sent the lookup holds.
 *
 * Best effort: a record is dropped when the bounded queue or the pipe is
 * full, the walk takes longer than WALK_MS, or the old path does not fit
 * PIPE_BUF; such a directory can then rename ESTALE here until its old path
 * is walked. A snapshot install reports every directory its changed or
 * removed entries named (a removed one is walked for nothing).
 */
#ifndef QFS_FS_FUSE_DIR_MOVES_H
#define QFS_FS_FUSE_DIR_MOVES_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct core;
struct dir_moves;

/* Forks the walker (call before the mount: it must not inherit the FUSE
 * descriptor; it closes every other descriptor anyway) and starts the
 * thread that feeds it. mnt: the absolute mountpoint. */
int dir_moves_start(struct core *core, const char *mnt, struct dir_moves **out);
/* Records (any thread, never blocks): directory dir's old name was
 * (parent, name). */
void dir_moves_note(struct dir_moves *dm, uint64_t dir, uint64_t parent, const char *name,
                    size_t len);
/* For a lookup that found directory dir, asked by process pid: returns
 * once no walk of dir's old name is queued or running, or after at most
 * SETTLE_MS; at once for the walker's own lookups. Free when none is. */
void dir_moves_settle(struct dir_moves *dm, uint64_t dir, pid_t pid);
/* Stops the thread and ends the walker. NULL is a no-op. */
void dir_moves_stop(struct dir_moves *dm);

#endif
