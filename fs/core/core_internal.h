/*
 * core_internal.h - the state behind struct core, shared by the core_*.c
 * files (private to fs/core).
 */
#ifndef QFS_FS_CORE_CORE_INTERNAL_H
#define QFS_FS_CORE_CORE_INTERNAL_H

#include "fs/chunk/chunk_store.h"
#include "fs/core/apply.h"
#include "fs/core/atime_queue.h"
#include "fs/core/bufpool.h"
#include "fs/core/cmd.h"
#include "fs/core/committer.h"
#include "fs/core/recent_refs.h"
#include "fs/core/core.h"
#include "fs/core/core_remote.h"
#include "fs/core/gc.h"
#include "fs/core/sequencer.h"
#include "fs/core/staging.h"
#include "fs/store/meta_store.h"

#define CORE_CHUNK_BUF   (2 * 256 * 1024)   /* two CHUNK_MAX: a sliding window */
#define CORE_BATCH_BYTES ((size_t)16 << 20) /* chunk bytes per put (one fsync) */

struct core {
    struct core_config cfg;
    struct meta_store *ms;
    struct chunk_store *cs;
    struct gc *gc;
    struct sequencer *seq;           /* the local log (single-node mode) */
    const struct orderer_ops *order; /* how commands are ordered: local or cluster */
    void *order_impl;
    struct staging stg;
    struct committer committer; /* frozen staging sets (core_commit_early) */
    struct atime_queue atimes;  /* readers' atime updates, submitted by a helper */
    struct bufpool chunk_bufs;  /* CORE_CHUNK_BUF bytes: re-cut windows, old chunks */
    struct bufpool batch_bufs;  /* CORE_BATCH_BYTES: chunks on their way to the store */
    size_t cmd_max;             /* largest encoded command the orderer takes (0: no limit) */
    uint64_t node_id;
    uint64_t next_req;   /* atomic */
    uint64_t chunks_put; /* atomic: chunks handed to the chunk store (tests, bench) */
    struct core_remote remote;
    bool has_remote;           /* set before serving (core_remote.h) */
    struct recent_refs recent; /* chunks this node's truncates just removed */
};

/* Fills the header fields of a command: op, origin, request id, time, cred. */
void core_cmd_init(struct core *c, struct cmd *cmd, uint8_t op, const struct core_cred *cr);
#define CORE_SLOW_US 1000000 /* a command, commit or lock wait this long is logged */

uint64_t core_now_us(void); /* CLOCK_MONOTONIC */
/* Takes sf->lock for writing; a long wait is logged. */
void core_staging_lock(struct sfile *sf);
/* Submits and waits; returns the command's result (0 or -errno). */
int core_submit(struct core *c, const struct cmd *cmd, struct apply_result *res);
void core_attr_to_stat(const struct meta_inode *in, struct stat *st);
/* After a command on ino that returned 0: its attributes with this node's
 * staged size, or the command's own result when the inode is gone since
 * (another node unlinked it): the command succeeded either way. */
int core_attr_after(struct core *c, uint64_t ino, const struct apply_result *res, struct stat *st);

/* Reads committed content [off, off+len) into buf (zeros for holes and past
 * the committed size). -EIO if a chunk fails verification. */
int core_read_committed(struct core *c, MDB_txn *txn, uint64_t ino, uint64_t off, uint8_t *buf,
                        size_t len);
/* Commits sf's staged bytes, its frozen set's first (sf->lock held for
 * writing). */
int core_commit_staged(struct core *c, struct sfile *sf);
/* After a write (sf->lock held for writing): once the node passed half the
 * staging bound, or sf holds a large dense run (recut.c, freeze_due), sf's
 * staged bytes become a frozen set for the committer, and writes go on into
 * fresh pages meanwhile. The set before is waited for only at the full bound
 * (the memory bound stays the staging limit plus one write). */
int core_commit_early(struct core *c, struct sfile *sf);
/* commit_set_fn for c->committer (ctx: the core). */
int core_commit_frozen(void *ctx, struct sfile *set);
/* Commits ino's staged bytes, then submits cmd, holding ino's staging lock
 * throughout: cmd (truncate, utimens, punch ...) is ordered after the writes
 * before it and before any write after it. */
int core_submit_after_commit(struct core *c, uint64_t ino, const struct cmd *cmd,
                             struct apply_result *res);
/* Commits ino's staged bytes if any (takes the lock itself). */
int core_commit_ino(struct core *c, uint64_t ino);
/* Submits ino's queued atime update now, if there is one (atime_queue.h):
 * before its attributes are read or set. */
void core_atime_settle(struct core *c, uint64_t ino);
/* Whether a read of in now makes an atime update due (the mount's mode). */
bool core_atime_due(const struct core *c, const struct meta_inode *in);
/* atime_submit_fn for c->atimes (ctx: the core). */
int core_atime_submit(void *ctx, uint64_t ino, const struct meta_time *t);

#endif
