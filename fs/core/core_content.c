/* core_content.c - open/write/flush/release, fallocate, copy_file_range, lseek. */
#include "fs/core/core_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int get_inode(struct core *c, uint64_t ino, struct meta_inode *in)
{
    MDB_txn *txn;
    int rc = meta_txn_read(c->ms, &txn);
    if (rc)
        return rc;
    rc = meta_inode_get(c->ms, txn, ino, in);
    mdb_txn_abort(txn);
    return rc;
}

int core_file_open(struct core *c, uint64_t ino, int flags)
{
    return core_file_open_atime(c, ino, flags, NULL);
}

int core_file_open_atime(struct core *c, uint64_t ino, int flags, bool *atime_due)
{
    struct meta_inode in;
    (void)flags;
    int rc = get_inode(c, ino, &in);
    if (rc)
        return rc;
    if (S_ISDIR(in.mode))
        return -EISDIR;
    if (atime_due)
        *atime_due = core_atime_due(c, &in);
    struct sfile *sf = staging_open(&c->stg, ino);
    if (!sf)
        return -ENOMEM;
    staging_keep_hint(&c->stg, sf); /* the lookup before this open named it */
    return 0;
}

int core_file_open_new(struct core *c, uint64_t ino, int flags)
{
    int rc = core_file_open(c, ino, flags);
    if (rc != -ENOENT)
        return rc;
    return staging_open(&c->stg, ino) ? 0 : -ENOMEM;
}

struct fill_ctx {
    struct core *c;
    struct sfile *sf;
};

/* A gap in a page is filled with the file as it reads here: committed
 * bytes, under those of a frozen set on its way to being committed. */
static int fill_committed(void *ctx, uint64_t off, uint8_t *dst, size_t len)
{
    struct fill_ctx *f = ctx;
    MDB_txn *txn;
    int rc = meta_txn_read(f->c->ms, &txn);
    if (rc)
        return rc;
    rc = core_read_committed(f->c, txn, f->sf->ino, off, dst, len);
    mdb_txn_abort(txn);
    if (!rc && f->sf->frozen)
        staging_overlay(f->sf->frozen, off, dst, len);
    return rc;
}

/* Staging starts: the content version the staged bytes build on. Read
 * before any committed byte is copied into a block, so the base is never
 * newer than what the blocks hold (a stale base can only make a needless
 * conflict copy, never lose a version). With end (an append), also where
 * the file ends as this node has it, committed or staged beyond that, from
 * the same read: read apart, a remote commit applied between the two would
 * put the append past a version its base does not know. sf->lock held for
 * writing. */
static int take_base(struct core *c, struct sfile *sf, uint64_t *end)
{
    struct meta_inode in;
    int rc = get_inode(c, sf->ino, &in);
    if (rc)
        return rc;
    if (!sf->base_valid)
        staging_base(&c->stg, sf, in.content_ver);
    if (end) {
        uint64_t staged = staging_end(sf);
        *end = in.size > staged ? in.size : staged;
    }
    return 0;
}

static ssize_t write_staged(struct core *c, const struct core_cred *cr, uint64_t ino, bool append,
                            uint64_t off, const void *buf, size_t size)
{
    struct sfile *sf = staging_ref(&c->stg, ino, true);
    if (!sf)
        return -ENOMEM;
    struct fill_ctx f = {c, sf};
    core_staging_lock(sf);
    int rc = sf->base_valid && !append ? 0 : take_base(c, sf, append ? &off : NULL);
    if (!rc && (off + size < off || off + size > (uint64_t)INT64_MAX))
        rc = -EFBIG;
    if (!rc)
        rc = staging_write(&c->stg, sf, off, buf, size, fill_committed, &f);
    if (!rc)
        clock_gettime(CLOCK_REALTIME, &sf->written);
    if (!rc && cr && cr->uid != 0)
        sf->kill_suid = true;
    /* A write to an inode nobody has open (no release will come to commit
     * it) commits at once; a large enough set of staged bytes goes to the
     * committer while this writer writes on (core_commit_early). */
    if (!rc && !staging_is_open(&c->stg, ino))
        rc = core_commit_staged(c, sf);
    else if (!rc)
        rc = core_commit_early(c, sf);
    pthread_rwlock_unlock(&sf->lock);
    staging_unref(&c->stg, sf);
    return rc ? rc : (ssize_t)size;
}

ssize_t core_write(struct core *c, const struct core_cred *cr, uint64_t ino, uint64_t off,
                   const void *buf, size_t size)
{
    return write_staged(c, cr, ino, false, off, buf, size);
}

ssize_t core_write_append(struct core *c, const struct core_cred *cr, uint64_t ino, const void *buf,
                          size_t size)
{
    return write_staged(c, cr, ino, true, 0, buf, size);
}

static void queue_atime(struct core *c, uint64_t ino);

/* flush comes with every close(): the place for a pending atime update,
 * which close() does not wait for (atime_queue.h). */
void core_flush_reader(struct core *c, uint64_t ino)
{
    struct sfile *sf = staging_ref(&c->stg, ino, false);
    if (sf && __atomic_exchange_n(&sf->atime_due, false, __ATOMIC_ACQ_REL))
        queue_atime(c, ino);
    staging_unref(&c->stg, sf);
}

int core_flush(struct core *c, uint64_t ino)
{
    int rc = core_commit_ino(c, ino);
    core_flush_reader(c, ino);
    return rc;
}

int core_fsync(struct core *c, uint64_t ino, bool datasync)
{
    (void)datasync; /* every commit is durable: chunks first, then the command */
    return core_commit_ino(c, ino);
}

static int submit_simple(struct core *c, uint8_t op, uint64_t ino, const struct meta_time *t)
{
    struct cmd cmd;
    struct apply_result res;
    core_cmd_init(c, &cmd, op, NULL);
    cmd.ino = ino;
    if (t)
        cmd.atime = *t;
    return core_submit(c, &cmd, &res);
}

int core_file_release(struct core *c, uint64_t ino)
{
    struct sfile *sf = staging_ref(&c->stg, ino, false);
    if (!sf)
        return 0;
    core_staging_lock(sf);
    int rc = core_commit_staged(c, sf);
    bool atime = __atomic_exchange_n(&sf->atime_due, false, __ATOMIC_ACQ_REL);
    pthread_rwlock_unlock(&sf->lock);
    uint32_t left = staging_close(&c->stg, sf);
    staging_unref(&c->stg, sf);
    struct meta_inode in;
    if (left || get_inode(c, ino, &in))
        return rc;
    if (in.nlink == 0) {
        submit_simple(c, CMD_REAP, ino, NULL);
    } else if (atime) {
        queue_atime(c, ino);
    }
    return rc;
}

int core_atime_submit(void *ctx, uint64_t ino, const struct meta_time *t)
{
    return submit_simple(ctx, CMD_ATIME, ino, t);
}

/* The time of the close, not of the submission. A queue without room (or
 * without its thread) costs this caller the wait, and loses nothing. */
static void queue_atime(struct core *c, uint64_t ino)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct meta_time t = {ts.tv_sec, (uint32_t)ts.tv_nsec};
    if (atime_queue_add(&c->atimes, ino, &t) != 0)
        core_atime_submit(c, ino, &t);
}

void core_atime_settle(struct core *c, uint64_t ino)
{
    struct meta_time t;
    if (atime_queue_take(&c->atimes, ino, &t))
        core_atime_submit(c, ino, &t);
}

int core_fallocate(struct core *c, const struct core_cred *cr, uint64_t ino, int mode, uint64_t off,
                   uint64_t len)
{
    struct meta_inode in;
    uint8_t range[CMD_RANGE_LEN];
    if (len == 0 || off + len < off)
        return -EINVAL;
    int rc = get_inode(c, ino, &in);
    if (rc)
        return rc;
    if (!S_ISREG(in.mode))
        return S_ISDIR(in.mode) ? -EISDIR : -ENODEV;
    struct cmd cmd;
    core_cmd_init(c, &cmd, CMD_CONTENT, cr);
    cmd_set_tag(&cmd, c->cfg.node_tag);
    cmd.ino = ino;
    if (mode == 0) {
        cmd.min_size = off + len; /* space is not reserved: holes cost nothing */
    } else if (mode == FALLOC_FL_KEEP_SIZE) {
        return 0;
    } else if (mode == (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)) {
        cmd_range_put(range, 0, off, off + len);
        cmd.n_ranges = 1;
        cmd.ranges = range;
        cmd.flags = CMD_CONTENT_MTIME;
    } else {
        return -EOPNOTSUPP;
    }
    struct apply_result res;
    return core_submit_after_commit(c, ino, &cmd, &res);
}
