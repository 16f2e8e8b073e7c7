/*
 * meta_checkpoint.h - lets the metadata store commit without syncing and
 * still come back whole after a power cut (docs/on-disk-meta.md,
 * "Checkpoint file").
 *
 * A synced LMDB commit costs two device flushes (the data pages, then the
 * meta page). The daemon already makes each mutation durable in a log of
 * its own (the local command log, or the Paxos log), so the store only has
 * to come back to SOME state that the log can be replayed from. With
 * MDB_NOSYNC alone it need not: the kernel writes dirty pages back in any
 * order, so after a power cut a meta page may point at pages that never
 * reached the disk, or that a later commit reused.
 *
 * A checkpoint fixes a state C that survives anything:
 *  - the store is synced (every page of C is on disk), then C's two meta
 *    pages are saved byte for byte in the checkpoint file (two slots, each
 *    with a sequence number and a CRC32C, written in turn and fdatasync'ed);
 *  - a read transaction holds C until the next checkpoint is saved: LMDB
 *    reuses no page that a live reader's snapshot reaches, so no later
 *    commit overwrites a page of C.
 * Restoring writes the saved meta pages back over the store file's before
 * LMDB opens it: LMDB then opens at C, whatever else reached the disk, and
 * the caller replays its log past C's applied index. It runs on every open
 * (after a clean stop the last checkpoint is the latest state), so the path
 * a power cut needs is the one every restart takes.
 *
 * Invariants:
 *  - MDB_NOSYNC is set only once a checkpoint of the env is durable.
 *  - The caller drops nothing from its log that the last checkpoint taken
 *    (meta_ckpt_take() returned 0) does not cover.
 *  - Checkpoints begin on the env's only writer thread, between write
 *    transactions, so the meta pages read are those of the state pinned;
 *    the state's pages are all written before the job's fdatasync starts,
 *    and the pin keeps later commits off them while it runs.
 *  - A checkpoint names the store file's inode: a file replaced as a whole
 *    is never patched with another file's meta pages.
 *  - The checkpoint file is flock()ed by its one user process: a second
 *    daemon on the same data directory is refused before it restores.
 */
#ifndef QFS_FS_STORE_META_CHECKPOINT_H
#define QFS_FS_STORE_META_CHECKPOINT_H

#include <lmdb.h>
#include <stdbool.h>
#include <stdint.h>

#define META_CKPT_VERSION 1

struct meta_ckpt;

/* Before mdb_env_open of dir: opens and locks dir/checkpoint (-EBUSY: in use
 * by another process), and puts the saved meta pages back into dir/data.mdb.
 * *txnid is the checkpoint's transaction (0: nothing restored, the store is
 * as its last synced commit left it). -EPROTO: another format version. */
int meta_ckpt_restore(const char *dir, struct meta_ckpt **out, uint64_t *txnid);
/* Once env is open: takes a first checkpoint, then commits skip the sync. */
int meta_ckpt_start(struct meta_ckpt *ck, MDB_env *env);
/* Begins a checkpoint of the env's current state: pins it and reads its meta
 * pages, then a thread of this module syncs the store and saves the slot
 * while the writer goes on. -EBUSY: one is in flight. */
int meta_ckpt_begin(struct meta_ckpt *ck);
/* Ends the checkpoint in flight if it is done (or once it is, with wait):
 * 1 it is durable (the state begun is the one a restore comes back to), 0
 * none in flight or not done yet, -errno it failed (logged; the last
 * checkpoint stands, and with it the caller's log). */
int meta_ckpt_poll(struct meta_ckpt *ck, bool wait);
/* begin and wait: 0 once the current state is the checkpoint. */
int meta_ckpt_take(struct meta_ckpt *ck);
/* True once enough commits or time have gone by since the last checkpoint
 * began, and none is in flight: what a checkpoint bounds is the log's
 * length and the pages kept from reuse. */
bool meta_ckpt_due(struct meta_ckpt *ck);
bool meta_ckpt_started(const struct meta_ckpt *ck);
/* Releases the pin and the lock; commits from here on sync again. */
void meta_ckpt_close(struct meta_ckpt *ck);

#endif
