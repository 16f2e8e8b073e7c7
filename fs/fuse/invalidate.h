/*
 * invalidate.h - drops the kernel's caches of what other nodes changed.
 *
 * The cluster's apply thread records changed inodes and directory entries
 * here (never blocking); a dedicated thread, which serves no FUSE request,
 * passes them to fuse_lowlevel_notify_inval_inode / _inval_entry. It must
 * be a separate thread: invalidating an entry takes the directory's lock in
 * the kernel, which a FUSE request waiting on the apply thread may hold.
 *
 * Each record carries the log slot that made it; inval_wait() returns once
 * everything up to a slot has been passed to the kernel, which is what an
 * open() needs for close-to-open (fresh size, no stale pages).
 * If the bounded queue overflows, records are dropped and counted; the
 * kernel's cache timeouts (attr/entry) then bound the staleness.
 *
 * A lookup reply read from the store before a change can reach the kernel
 * after the change's invalidation, which found nothing cached (-ENOENT), and
 * the kernel would keep the stale attributes for the attribute timeout. So a
 * record the kernel said -ENOENT to is told again after 5, 50 and 500 ms, and
 * an open() in a cluster drops the inode's cached attributes itself
 * (inval_attr_sync) once it has caught up with the leader.
 */
#ifndef QFS_FS_FUSE_INVALIDATE_H
#define QFS_FS_FUSE_INVALIDATE_H

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

#include <stddef.h>
#include <stdint.h>

struct inval;

int inval_start(struct fuse_session *se, struct inval **out);
void inval_stop(struct inval *iv);
/* Records (any thread, never blocks). */
void inval_inode(struct inval *iv, uint64_t slot, uint64_t ino);
void inval_entry(struct inval *iv, uint64_t slot, uint64_t parent, const char *name, size_t len);
/* Every record up to slot is recorded (the apply thread moved past it). */
void inval_applied(struct inval *iv, uint64_t slot);
/* Drops the kernel's cached attributes of ino now (through the thread) and
 * waits for it: 0, -ETIMEDOUT or -ENOBUFS (queue full). */
int inval_attr_sync(struct inval *iv, uint64_t ino, int timeout_ms);
/* Waits until the kernel has been told everything up to slot. 0 or -ETIMEDOUT. */
int inval_wait(struct inval *iv, uint64_t slot, int timeout_ms);
uint64_t inval_dropped(struct inval *iv);

#endif
