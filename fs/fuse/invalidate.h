/*
 * invalidate.h - keeps the kernel's caches true to what other nodes change.
 *
 * The cluster's apply thread records the inodes another node changed (never
 * blocking); a dedicated thread, which serves no FUSE request, drops their
 * cached attributes with fuse_lowlevel_notify_inval_inode(ino, -1, 0).
 *
 * Only attributes, never entries or pages, and that is the invariant that
 * matters most: dropping an entry takes the directory's lock and dropping
 * pages takes page locks, both of which a FUSE request in flight may hold
 * while it waits for this daemon. Normally that only delays the thread; after
 * kill -9 it leaves a thread stuck in the kernel, the process can never exit,
 * its /dev/fuse descriptor is never closed and the mount hangs for good. So:
 *  - content: a file whose content changed remotely is marked stale here;
 *    its next open() does not keep the page cache (inval_open_keep_cache);
 *  - names: a cluster mount gives every entry a timeout of 0, so the kernel
 *    asks again whenever it uses one (it keeps the dentries, though: the old
 *    name of a directory another node moved is dropped by dir_moves.h), and
 *    an open of a vanished inode answers ESTALE (the kernel looks it up again);
 *  - attributes: dropped here, and again at every open (inval_attr_sync): a
 *    lookup reply read from the store before a change can reach the kernel
 *    after that change's invalidation, which then found nothing cached
 *    (-ENOENT); such records are also told again after 5, 50 and 500 ms.
 *
 * Each record carries the log slot that made it; inval_wait() returns once
 * everything up to a slot has been passed to the kernel. If the bounded queue
 * overflows, records are dropped and counted, and every file counts as stale.
 */
#ifndef QFS_FS_FUSE_INVALIDATE_H
#define QFS_FS_FUSE_INVALIDATE_H

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct inval;

/* The thread tells the kernel nothing until inval_mounted(): before the
 * mount the kernel caches nothing, and the session has no device yet. */
int inval_start(struct fuse_session *se, struct inval **out);
/* The session is mounted (after fuse_session_mount): records reach the kernel. */
void inval_mounted(struct inval *iv);
/* The session is going away: stop telling the kernel anything. */
void inval_quiesce(struct inval *iv);
void inval_stop(struct inval *iv);
/* Records (any thread, never blocks): ino's attributes and content changed. */
void inval_inode(struct inval *iv, uint64_t slot, uint64_t ino);
/* Every record up to slot is recorded (the apply thread moved past it). */
void inval_applied(struct inval *iv, uint64_t slot);
/* Waits until the kernel has been told everything up to slot. 0 or -ETIMEDOUT. */
int inval_wait(struct inval *iv, uint64_t slot, int timeout_ms);
/* Drops the kernel's cached attributes of ino now (through the thread) and
 * waits for it: 0, -ETIMEDOUT or -ENOBUFS (queue full). */
int inval_attr_sync(struct inval *iv, uint64_t ino, int timeout_ms);
/* For open(): false when ino's content changed remotely since its last open
 * here (the kernel must drop its pages); clears the mark. */
bool inval_open_keep_cache(struct inval *iv, uint64_t ino);
uint64_t inval_dropped(struct inval *iv);

#endif
