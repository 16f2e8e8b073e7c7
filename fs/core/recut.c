/*
 * recut.c - committing staged bytes: re-cut only around the dirty ranges.
 *
 * For each dirty region, cutting starts at the old extent that contains the
 * region's first byte and runs over the new content (old chunks overlaid
 * with staged bytes) until a cut lands on an old extent boundary (or a hole)
 * past the region's end. Holes end a run: no chunk ever holds hole bytes.
 * The replaced ranges and the new extents become one content command.
 */
#include "fs/chunk/chunker.h"
#include "fs/core/core_cluster.h"
#include "fs/core/core_internal.h"
#include "fs/core/committer.h"
#include "fs/core/core_remote_int.h"
#include "fs/core/gc_grace.h"
#include "fs/core/putter.h"

#include "common/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define PUT_BATCH        256 /* chunks per chunk_store_put_batch (one fsync) */
#define WIN_CAP          (2 * CHUNK_MAX)
#define EXT_FLUSH_AT     (CMD_MAX_EXTENTS - 20000)
#define CMD_HEADER_SLACK 2048 /* header, name hint, credentials */
#define REPL_INFLIGHT    4    /* batches travelling to peers while the next is cut */
/* A commit is logged as slow past CORE_SLOW_US plus its new bytes at this
 * rate (16 MB/s, a tenth of a cluster's write rate here): a large write's
 * sets of 64 MiB and more take seconds each when all is well, and were
 * logged every time, which drowned the commits slowed by a fault. */
#define COMMIT_SLOW_BYTES_PER_US 16

struct recut {
    struct core *c;
    struct sfile *sf;
    MDB_txn *txn;
    uint64_t ino, size; /* size: the new file size */
    uint8_t *win;       /* win[ws, ws + have) = bytes [p, p + have) of the new content */
    size_t ws, have;
    uint64_t p;
    uint8_t *cbuf; /* the old chunk last read */
    uint8_t chash[SHA256_LEN];
    bool cvalid;
    struct meta_extent cur; /* the old extent last looked up */
    bool cur_valid;
    struct chunk_ref batch[2][PUT_BATCH]; /* filling batch[cur]; the other may be in flight */
    bool known[2][PUT_BATCH];             /* the chunk was in the store before this commit */
    uint8_t *bbuf[2]; /* CORE_BATCH_BYTES each: a batch's chunks, back to back */
    int bcur;
    size_t nb, bused;
    struct putter put;
    size_t n_putting;          /* chunks of batch[bcur ^ 1] at the putter, not yet replicating */
    void *jobs[REPL_INFLIGHT]; /* replication jobs, oldest at jhead */
    unsigned jhead, njobs;
    uint8_t *ranges, *exts; /* command arrays (raw) */
    uint32_t n_ranges, n_ext, cap_ranges, cap_ext;
    uint32_t n_pinned;           /* extents [0, n_pinned) hold a pin */
    size_t ext_wire;             /* what exts take encoded (cmd_extent_wire_len) */
    uint64_t emitted;            /* bytes cut into new chunks (a slow commit's scale) */
    struct meta_extent last_ext; /* exts' last, valid when n_ext > 0 */
};

/* Bytes of the new content available at pos (pointer in *ptr), 0 at a hole
 * or the end, or -errno. */
static ssize_t src_at(struct recut *r, uint64_t pos, const uint8_t **ptr)
{
    uint64_t next_staged;
    if (pos >= r->size)
        return 0;
    size_t n = staging_at(r->sf, pos, ptr, &next_staged);
    if (n)
        return (ssize_t)(n < r->size - pos ? n : r->size - pos);
    if (!r->cur_valid || pos < r->cur.off || pos >= r->cur.off + r->cur.len) {
        int rc = meta_map_find(r->c->ms, r->txn, r->ino, pos, &r->cur);
        r->cur_valid = rc == 0;
        if (rc)
            return rc == -ENOENT ? 0 : rc;
    }
    if (!r->cvalid || memcmp(r->chash, r->cur.hash, SHA256_LEN) != 0) {
        r->cvalid = false;
        int rc = core_chunk_read(r->c, r->cur.hash, 0, r->cbuf, CHUNK_MAX);
        if (rc < 0)
            return rc == -ENOENT ? -EIO : rc;
        if ((uint64_t)r->cur.coff + r->cur.len > (uint64_t)rc)
            return -EIO;
        memcpy(r->chash, r->cur.hash, SHA256_LEN);
        r->cvalid = true;
    }
    *ptr = r->cbuf + r->cur.coff + (pos - r->cur.off);
    uint64_t avail = r->cur.off + r->cur.len - pos;
    if (next_staged - pos < avail)
        avail = next_staged - pos;
    return (ssize_t)avail;
}

/* Tops the window up to CHUNK_MAX; *eof when a hole or the end came first. */
static int fill(struct recut *r, bool *eof)
{
    *eof = false;
    if (r->ws + CHUNK_MAX > WIN_CAP) { /* compact rarely, not per chunk */
        memmove(r->win, r->win + r->ws, r->have);
        r->ws = 0;
    }
    while (r->have < CHUNK_MAX) {
        const uint8_t *ptr;
        ssize_t n = src_at(r, r->p + r->have, &ptr);
        if (n < 0)
            return (int)n;
        if (n == 0) {
            *eof = true;
            break;
        }
        size_t take = (size_t)n < CHUNK_MAX - r->have ? (size_t)n : CHUNK_MAX - r->have;
        memcpy(r->win + r->ws + r->have, ptr, take);
        r->have += take;
    }
    return 0;
}

static int grow(uint8_t **arr, uint32_t *cap, uint32_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    uint32_t ncap = *cap ? *cap * 2 : 64;
    while (ncap < need)
        ncap *= 2;
    uint8_t *n = realloc(*arr, (size_t)ncap * elem);
    if (!n)
        return -ENOMEM;
    *arr = n;
    *cap = ncap;
    return 0;
}

/* Waits for the oldest replication job. */
static int wait_oldest(struct recut *r)
{
    int rc = core_replicate_wait(r->c, r->jobs[r->jhead]);
    r->jhead = (r->jhead + 1) % REPL_INFLIGHT;
    r->njobs--;
    return rc;
}

/* Waits for every replication job, even after a failure (each is freed by
 * its wait); the first error. */
static int wait_jobs(struct recut *r)
{
    int rc = 0;
    while (r->njobs) {
        int wrc = wait_oldest(r);
        rc = rc ? rc : wrc;
    }
    return rc;
}

/* The batch at the putter is durable here: starts sending its new chunks to
 * the peers, so they travel while the next batches are cut and put. */
static int replicate_put(struct recut *r)
{
    int b = r->bcur ^ 1, rc = 0;
    if (!r->n_putting)
        return 0;
    if (r->njobs == REPL_INFLIGHT)
        rc = wait_oldest(r);
    void *job = NULL;
    while (!rc) {
        rc = core_replicate_start(r->c, r->batch[b], r->known[b], r->n_putting, &job);
        if (rc != -EBUSY || !r->njobs)
            break;
        rc = wait_oldest(r); /* the node's replicator is full: make room */
    }
    r->n_putting = 0;
    if (!rc && job)
        r->jobs[(r->jhead + r->njobs++) % REPL_INFLIGHT] = job;
    return rc;
}

/* Hands the filling batch to the putter (once the previous one is durable
 * here and on its way to the peers) and switches buffers; with final, also
 * waits until every batch is durable on a majority. */
static int flush_batch(struct recut *r, bool final)
{
    int rc = 0;
    if (r->nb) {
        rc = putter_wait(&r->put);
        if (!rc)
            rc = replicate_put(r);
        if (!rc)
            rc = putter_start(&r->put, r->batch[r->bcur], r->nb);
        __atomic_add_fetch(&r->c->chunks_put, r->nb, __ATOMIC_RELAXED);
        r->n_putting = r->nb;
        r->bcur ^= 1;
        r->nb = 0;
        r->bused = 0;
        if (!rc && !r->bbuf[r->bcur] && !(r->bbuf[r->bcur] = bufpool_get(&r->c->batch_bufs)))
            rc = -ENOMEM;
    }
    if (final && !rc)
        rc = putter_wait(&r->put);
    if (final && !rc)
        rc = replicate_put(r);
    if (final || rc) {
        int wrc = wait_jobs(r);
        rc = rc ? rc : wrc;
    }
    return rc;
}

/* Emits win[0, len) as a new chunk at r->p and slides the window. */
static int emit(struct recut *r, size_t len)
{
    struct meta_extent e = {.off = r->p, .coff = 0, .len = (uint32_t)len};
    const uint8_t *chunk = r->win + r->ws;
    int rc = sha256(chunk, len, e.hash);
    if (!rc)
        rc = grow(&r->exts, &r->cap_ext, r->n_ext + 1, CMD_EXTENT_LEN);
    if (!rc)
        rc = gc_pin(r->c->gc, e.hash); /* before the put: see gc.h */
    if (rc)
        return rc;
    r->ext_wire += cmd_extent_wire_len(&e, r->n_ext ? &r->last_ext : NULL);
    r->last_ext = e;
    cmd_extent_put(r->exts, r->n_ext++, &e);
    r->n_pinned = r->n_ext;
    if (r->bused + len > CORE_BATCH_BYTES && (rc = flush_batch(r, false)))
        return rc;
    struct chunk_ref *ref = &r->batch[r->bcur][r->nb];
    /* Only a cluster asks whether peers may hold it already. */
    r->known[r->bcur][r->nb] = r->c->has_remote && chunk_store_has(r->c->cs, e.hash) == 1;
    memcpy(r->bbuf[r->bcur] + r->bused, chunk, len);
    *ref = (struct chunk_ref){.data = r->bbuf[r->bcur] + r->bused, .len = (uint32_t)len};
    memcpy(ref->hash, e.hash, SHA256_LEN);
    r->bused += len;
    r->emitted += len;
    if (++r->nb == PUT_BATCH && (rc = flush_batch(r, false)))
        return rc;
    r->ws += len;
    r->have -= len;
    r->p += len;
    return 0;
}

/* An old extent starts at pos, or pos is in a hole of the old map. */
static int old_boundary(struct recut *r, uint64_t pos)
{
    struct meta_extent e;
    int rc = meta_map_find(r->c->ms, r->txn, r->ino, pos, &e);
    if (rc == -ENOENT)
        return 1;
    return rc ? rc : e.off == pos;
}

static int submit(struct recut *r);

/* The command being built is as large as the orderer takes (a cluster's
 * log entries are bounded: core_set_orderer's cmd_max). */
static bool command_full(const struct recut *r)
{
    size_t bytes = r->ext_wire + (size_t)r->n_ranges * CMD_RANGE_LEN;
    return r->n_ext > EXT_FLUSH_AT || (r->c->cmd_max && bytes + CMD_HEADER_SLACK > r->c->cmd_max);
}

static int add_range(struct recut *r, uint64_t start, uint64_t end)
{
    int rc = grow(&r->ranges, &r->cap_ranges, r->n_ranges + 1, CMD_RANGE_LEN);
    if (!rc)
        cmd_range_put(r->ranges, r->n_ranges++, start, end);
    return rc;
}

/* Re-cuts one dirty region [ds, de) (absorbing later regions it runs into)
 * and records the replaced range. A region too large for one command is
 * proposed in pieces that end on new chunk boundaries; each piece replaces
 * [start, p), trimming the old extent that straddles p, so every
 * intermediate state is a consistent file. */
static int recut_region(struct recut *r, struct stg_cursor *cur, uint64_t ds, uint64_t de)
{
    struct meta_extent e;
    int rc = meta_map_find(r->c->ms, r->txn, r->ino, ds, &e);
    if (rc && rc != -ENOENT)
        return rc;
    uint64_t start = rc == 0 ? e.off : ds;
    r->p = start;
    r->ws = r->have = 0;
    for (;;) {
        bool eof;
        rc = fill(r, &eof);
        if (rc)
            return rc;
        if (r->have == 0)
            break;
        size_t cut = chunker_next_cut(r->win + r->ws, r->have, eof);
        rc = emit(r, cut && cut <= r->have ? cut : r->have);
        if (!rc && command_full(r) && r->p > start) {
            rc = add_range(r, start, r->p);
            if (!rc)
                rc = submit(r);
            start = r->p;
        }
        if (rc)
            return rc;
        for (;;) { /* absorb the regions this chunk reached */
            struct stg_cursor peek = *cur;
            uint64_t ns, ne;
            if (!staging_next_region(r->sf, &peek, &ns, &ne) || ns >= r->p)
                break;
            *cur = peek;
            de = ne > de ? ne : de;
        }
        if (r->p >= de && (rc = old_boundary(r, r->p)) != 0) {
            if (rc < 0)
                return rc;
            break;
        }
    }
    return r->p > start ? add_range(r, start, r->p) : 0;
}

/* Unpins the chunks emitted since the last command; those of a command
 * that was not applied are strays the GC is told about. */
static void unpin_all(struct recut *r, bool applied)
{
    for (uint32_t i = 0; i < r->n_pinned; i++) {
        struct meta_extent e;
        struct cmd view = {.extents = r->exts};
        cmd_extent_get(&view, i, &e);
        if (applied)
            gc_unpin(r->c->gc, e.hash);
        else
            gc_unpin_unused(r->c->gc, e.hash);
    }
    r->n_pinned = 0;
}

/* Proposes what has been cut so far as one content command. */
static int submit(struct recut *r)
{
    /* CLUSTER HOOK (core_remote.h): every chunk emitted went into a batch
     * whose replication job flush_batch() waits for: all of the command's
     * new chunks are durable on a majority before it is proposed (a no-op
     * on a single node). */
    int rc = flush_batch(r, true);
    if (!rc && r->n_ranges) {
        struct cmd cmd;
        struct apply_result res;
        core_cmd_init(r->c, &cmd, CMD_CONTENT, NULL);
        if (r->sf->written.tv_sec) /* mtime is the last write's (staging.h) */
            cmd.time = (struct meta_time){r->sf->written.tv_sec, (uint32_t)r->sf->written.tv_nsec};
        cmd.ino = r->ino;
        cmd.flags = CMD_CONTENT_MTIME | (r->sf->kill_suid ? CMD_CONTENT_KILL_SUID : 0);
        cmd.min_size = r->size;
        cmd.n_ranges = r->n_ranges;
        cmd.ranges = r->ranges;
        cmd.n_ext = r->n_ext;
        cmd.extents = r->exts;
        staging_fill_cmd(&r->c->stg, r->sf, &cmd); /* base version, name hint */
        cmd_set_tag(&cmd, r->c->cfg.node_tag);
        rc = core_submit(r->c, &cmd, &res);
        if (!rc && res.has_attr) /* our own commit: the next part builds on it */
            r->sf->base_ver = res.attr.content_ver;
    }
    unpin_all(r, rc == 0);
    r->n_ranges = r->n_ext = 0;
    r->ext_wire = 0;
    return rc;
}

static int recut_all(struct recut *r)
{
    struct stg_cursor cur = {0, 0};
    uint64_t ds, de;
    int rc = 0;
    while (!rc && staging_next_region(r->sf, &cur, &ds, &de)) {
        rc = recut_region(r, &cur, ds, de);
        if (!rc && command_full(r))
            rc = submit(r);
    }
    return rc ? rc : submit(r);
}

static void recut_free(struct recut *r)
{
    if (r->txn)
        mdb_txn_abort(r->txn);
    bufpool_put(&r->c->chunk_bufs, r->win);
    bufpool_put(&r->c->chunk_bufs, r->cbuf);
    putter_destroy(&r->put); /* before the buffers it may still read */
    wait_jobs(r);            /* after a failure: free what is still travelling */
    unpin_all(r, false);     /* after the last put: only a failure leaves pins */
    bufpool_put(&r->c->batch_bufs, r->bbuf[0]);
    bufpool_put(&r->c->batch_bufs, r->bbuf[1]);
    free(r->ranges);
    free(r->exts);
}

/* A put found the disk full. A single node's GC deletes without a grace
 * period, so one more collection can free what the latest unlinks and
 * failed commits left (a cluster's waits a grace period, and its host runs
 * the collections: core_collect is -ENOTSUP there, and nothing is retried). */
static int collect_now(void *ctx)
{
    return core_collect(ctx);
}

static bool inode_gone(struct core *c, uint64_t ino)
{
    MDB_txn *txn;
    struct meta_inode in;
    if (meta_txn_read(c->ms, &txn))
        return false;
    bool gone = meta_inode_get(c->ms, txn, ino, &in) == -ENOENT;
    mdb_txn_abort(txn);
    return gone;
}

/* A commit refused with EROFS (no quorum, chunks not on a majority) is not
 * tried again within this long: the close() after a failed fsync got the
 * same EROFS after the same wait (writes of 10-15 s in the long
 * flapping-partitions run). */
#define EROFS_RETRY_MS 1000

/* Commits set's staged bytes (an sfile's own, or its frozen set) without
 * dropping them; *drop says whether they may go: committed, or the inode is
 * gone. */
static int commit_set(struct core *c, struct sfile *set, bool *drop)
{
    *drop = set->n == 0;
    if (set->n == 0)
        return 0;
    if (set->erofs_at_ms && gc_now_ms() < set->erofs_at_ms + EROFS_RETRY_MS)
        return -EROFS;
    struct recut r = {.c = c, .sf = set, .ino = set->ino};
    struct meta_inode in;
    uint64_t t0 = core_now_us();
    int rc = meta_txn_read(c->ms, &r.txn);
    if (rc)
        return rc;
    rc = meta_inode_get(c->ms, r.txn, set->ino, &in);
    r.size = !rc && in.size > set->staged_end ? in.size : set->staged_end;
    r.win = bufpool_get(&c->chunk_bufs);
    r.cbuf = bufpool_get(&c->chunk_bufs);
    r.bbuf[0] = bufpool_get(&c->batch_bufs);
    putter_init(&r.put, c->cs, collect_now, c);
    if (!rc && (!r.win || !r.cbuf || !r.bbuf[0]))
        rc = -ENOMEM;
    if (!rc)
        rc = recut_all(&r);
    recut_free(&r);
    /* A failed commit keeps its data for the next flush (a full disk, no
     * quorum), and the caller tells the user (flush, fsync) or logs it
     * (release); unless the inode is gone (another node removed the file):
     * no retry can succeed, and each one cost the close() after a failed
     * fsync the whole push and proposal again (writes of over 10 s on the
     * fault suite's lossy link). */
    *drop = !rc || inode_gone(c, set->ino);
    set->erofs_at_ms = rc == -EROFS ? gc_now_ms() : 0;
    uint64_t us = core_now_us() - t0;
    if (us >= CORE_SLOW_US + r.emitted / COMMIT_SLOW_BYTES_PER_US)
        log_warn("core: commit of inode %llu (%llu KiB new) took %llu ms: %s",
                 (unsigned long long)r.ino, (unsigned long long)(r.emitted >> 10),
                 (unsigned long long)(us / 1000), rc ? strerror(-rc) : "ok");
    return rc;
}

int core_commit_frozen(void *ctx, struct sfile *set)
{
    bool drop;
    return commit_set(ctx, set, &drop);
}

/* Collects sf's frozen set (sf->lock held for writing): waits for its
 * background commit, tries it again here if that failed, and drops it once
 * its bytes are committed. What sf staged meanwhile builds on them, so the
 * version the set's commit made is sf's base. */
static int settle_frozen(struct core *c, struct sfile *sf)
{
    struct sfile *fz = sf->frozen;
    if (!fz)
        return 0;
    int rc = committer_wait(&c->committer, fz);
    bool drop = rc == 0;
    if (rc)
        rc = commit_set(c, fz, &drop);
    if (!drop)
        return rc;
    if (sf->n)
        sf->base_ver = fz->base_ver;
    else
        sf->base_valid = false;
    staging_drop_frozen(&c->stg, sf);
    return rc;
}

int core_commit_staged(struct core *c, struct sfile *sf)
{
    int rc = settle_frozen(c, sf);
    bool drop = false;
    if (!rc)
        rc = commit_set(c, sf, &drop);
    if (drop)
        staging_clear(&c->stg, sf);
    return rc;
}

/* Largest dense set frozen before the node passes half the bound. */
#define FREEZE_DENSE_MAX ((size_t)64 << 20)

/* Whether sf's staged pages should go to the committer now: past half the
 * bound (counting every file's pages), or sooner for pages written mostly
 * in sequence (staging_dense), whose commit re-cuts little that is old:
 * committing those early lets a sequential writer's staging overlap the
 * committer from its first tens of MiB, whatever the bound, while sparse
 * random writes wait for half the bound, where a commit covers the most
 * writes per chunk it re-cuts. */
static bool freeze_due(struct core *c, struct sfile *sf)
{
    size_t dense = c->stg.limit / 8 < FREEZE_DENSE_MAX ? c->stg.limit / 8 : FREEZE_DENSE_MAX;
    return staging_over(&c->stg, c->stg.limit / 2) || staging_dense(sf, dense);
}

int core_commit_early(struct core *c, struct sfile *sf)
{
    if (!freeze_due(c, sf))
        return 0;
    if (sf->frozen && !staging_over_limit(&c->stg) && !committer_done(&c->committer, sf->frozen))
        return 0; /* the set before is still on its way: go on staging */
    int rc = settle_frozen(c, sf);
    /* What the set freed may leave room: then go on staging. */
    if (rc || sf->n == 0 || !freeze_due(c, sf))
        return rc;
    /* Refused lately for want of a quorum: the caller hears it now. */
    if (sf->erofs_at_ms)
        return core_commit_staged(c, sf);
    struct sfile *fz = staging_detach(sf);
    if (!fz)
        return core_commit_staged(c, sf);
    rc = committer_queue(&c->committer, fz);
    if (rc) { /* no thread: as if its commit had failed, so it is done here */
        fz->bg_done = true;
        fz->bg_rc = rc;
        rc = settle_frozen(c, sf);
    }
    return rc;
}

int core_commit_ino(struct core *c, uint64_t ino)
{
    struct sfile *sf = staging_ref(&c->stg, ino, false);
    if (!sf)
        return 0;
    core_staging_lock(sf);
    int rc = core_commit_staged(c, sf);
    pthread_rwlock_unlock(&sf->lock);
    staging_unref(&c->stg, sf);
    return rc;
}

int core_submit_after_commit(struct core *c, uint64_t ino, const struct cmd *cmd,
                             struct apply_result *res)
{
    struct sfile *sf = staging_ref(&c->stg, ino, false);
    int rc = 0;
    if (sf) {
        core_staging_lock(sf);
        rc = core_commit_staged(c, sf);
    }
    bool truncate = cmd->op == CMD_SETATTR && (cmd->flags & CORE_SET_SIZE);
    struct refs_drop drop = {0};
    if (!rc && truncate)
        (void)core_drop_capture(c, ino, cmd->size, &drop); /* only a shortcut */
    if (!rc)
        rc = core_submit(c, cmd, res);
    if (truncate)
        core_drop_record(c, &drop, rc ? &(struct apply_result){.err = rc} : res);
    if (sf) {
        pthread_rwlock_unlock(&sf->lock);
        staging_unref(&c->stg, sf);
    }
    return rc;
}
