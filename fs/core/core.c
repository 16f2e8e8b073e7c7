/* core.c - opening and closing the filesystem, command plumbing. */
#include "fs/chunk/chunker.h"
#include "fs/core/core_cluster.h"
#include "fs/core/core_internal.h"
#include "fs/core/core_remote_int.h"

#include "common/log.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define STAGING_LIMIT_MIN ((size_t)64 << 20)
#define STAGING_LIMIT_MAX ((size_t)1 << 30)
#define ORPHAN_ROUND      256

void core_cmd_init(struct core *c, struct cmd *cmd, uint8_t op, const struct core_cred *cr)
{
    struct timespec ts;
    memset(cmd, 0, sizeof(*cmd));
    clock_gettime(CLOCK_REALTIME, &ts);
    cmd->op = op;
    cmd->origin = c->node_id;
    cmd->req_id = __atomic_add_fetch(&c->next_req, 1, __ATOMIC_RELAXED);
    cmd->time.sec = ts.tv_sec;
    cmd->time.nsec = (uint32_t)ts.tv_nsec;
    if (cr) {
        cmd->cred.uid = cr->uid;
        cmd->cred.gid = cr->gid;
        cmd->cred.ngroups = cr->ngroups < CMD_MAX_GROUPS ? cr->ngroups : CMD_MAX_GROUPS;
        for (uint32_t i = 0; i < cmd->cred.ngroups; i++)
            cmd->cred.groups[i] = cr->groups[i];
    }
}

uint64_t core_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* A command this slow is logged: where a slow file operation spent its
 * time (the fault suite's slow-link runs) is otherwise invisible. */
int core_submit(struct core *c, const struct cmd *cmd, struct apply_result *res)
{
    uint64_t t0 = core_now_us();
    int rc = c->order->submit(c->order_impl, cmd, res);
    uint64_t us = core_now_us() - t0;
    if (us >= CORE_SLOW_US)
        log_warn("core: command %u on inode %llu took %llu ms: %s", (unsigned)cmd->op,
                 (unsigned long long)cmd->ino, (unsigned long long)(us / 1000),
                 rc || res->err ? strerror(rc ? -rc : -res->err) : "ok");
    return rc ? rc : res->err;
}

void core_staging_lock(struct sfile *sf)
{
    if (pthread_rwlock_trywrlock(&sf->lock) == 0)
        return;
    uint64_t t0 = core_now_us();
    pthread_rwlock_wrlock(&sf->lock);
    uint64_t us = core_now_us() - t0;
    if (us >= CORE_SLOW_US)
        log_warn("core: waited %llu ms for inode %llu's staging (a commit of another handle)",
                 (unsigned long long)(us / 1000), (unsigned long long)sf->ino);
}

void core_attr_to_stat(const struct meta_inode *in, struct stat *st)
{
    memset(st, 0, sizeof(*st));
    st->st_ino = in->ino;
    st->st_mode = in->mode;
    st->st_nlink = in->nlink;
    st->st_uid = in->uid;
    st->st_gid = in->gid;
    st->st_rdev = in->rdev;
    st->st_size = (off_t)in->size;
    st->st_blksize = 4096;
    st->st_blocks = (blkcnt_t)((in->alloc + 511) / 512);
    st->st_atim.tv_sec = in->atime.sec;
    st->st_atim.tv_nsec = in->atime.nsec;
    st->st_mtim.tv_sec = in->mtime.sec;
    st->st_mtim.tv_nsec = in->mtime.nsec;
    st->st_ctim.tv_sec = in->ctime.sec;
    st->st_ctim.tv_nsec = in->ctime.nsec;
}

/* Orphans left by a crash or an unmount while files were open: nothing can
 * have them open now. */
static int reap_orphans(struct core *c)
{
    uint64_t inos[ORPHAN_ROUND];
    int n;
    do {
        MDB_txn *txn;
        int rc = meta_txn_read(c->ms, &txn);
        if (rc)
            return rc;
        n = meta_orphan_list(c->ms, txn, inos, ORPHAN_ROUND);
        mdb_txn_abort(txn);
        if (n < 0)
            return n;
        for (int i = 0; i < n; i++) {
            struct cmd cmd;
            struct apply_result res;
            core_cmd_init(c, &cmd, CMD_REAP, NULL);
            cmd.ino = inos[i];
            rc = core_submit(c, &cmd, &res);
            if (rc)
                return rc;
        }
    } while (n == ORPHAN_ROUND);
    return 0;
}

static int init_root(struct core *c)
{
    struct cmd cmd;
    struct apply_result res;
    struct core_cred cr = {.uid = getuid(), .gid = getgid()};
    core_cmd_init(c, &cmd, CMD_INIT, &cr);
    cmd.mode = 0755;
    int rc = core_submit(c, &cmd, &res);
    return rc ? rc : reap_orphans(c);
}

/* In a cluster, chunk puts leave room for a metadata snapshot install on
 * the same disk: it writes the received copy, then copies it into the live
 * environment while the old pages stay in use, so it needs about twice the
 * metadata. Without this room, a node whose disk its chunks had filled
 * could not install the snapshot it needed (229 MiB of chunks on a 256 MiB
 * disk in a long disk-full run) and fell behind in its metadata too; with
 * it, the metadata catches up and only chunks wait for space (a read fetches
 * a missing one from a peer meanwhile). */
static void reserve_snapshot_room(struct core *c)
{
    chunk_store_set_reserve(c->cs, 2 * meta_store_used_bytes(c->ms));
}

static int open_stores(struct core *c)
{
    char path[PATH_MAX];
    if (mkdir(c->cfg.data_dir, 0700) && errno != EEXIST)
        return -errno;
    if (snprintf(path, sizeof(path), "%s/meta", c->cfg.data_dir) >= (int)sizeof(path))
        return -ENAMETOOLONG;
    int rc = meta_store_open(path, &c->ms);
    if (rc)
        return rc;
    snprintf(path, sizeof(path), "%s/chunks", c->cfg.data_dir);
    rc = chunk_store_open(path, &c->cs);
    if (!rc)
        rc = gc_open(c->ms, c->cs, &c->gc);
    if (!rc)
        rc = staging_init(&c->stg, c->cfg.staging_limit);
    if (!rc)
        log_info("core: staging bound %zu MiB", c->cfg.staging_limit >> 20);
    if (!rc)
        rc = bufpool_init(&c->chunk_bufs, CORE_CHUNK_BUF, 16);
    if (!rc)
        rc = bufpool_init(&c->batch_bufs, CORE_BATCH_BYTES, 2);
    if (!rc && c->cfg.cluster)
        reserve_snapshot_room(c);
    if (rc || c->cfg.cluster)
        return rc; /* the cluster installs its orderer */
    if (snprintf(path, sizeof(path), "%s/meta/cmd.log", c->cfg.data_dir) >= (int)sizeof(path))
        return -ENAMETOOLONG;
    rc = sequencer_start(c->ms, path, gc_collect, c->gc, &c->seq);
    c->order = &sequencer_ops;
    c->order_impl = c->seq;
    return rc;
}

/* The root of a cluster store: identical on every node without consensus
 * (core_cluster.h). Not a log slot: the applied index stays where it is. */
static int genesis_root(struct core *c)
{
    struct cmd cmd;
    struct apply_result res;
    MDB_txn *txn;
    memset(&cmd, 0, sizeof(cmd));
    cmd.op = CMD_INIT;
    cmd.mode = 0755;
    int rc = meta_txn_write(c->ms, &txn);
    if (rc)
        return rc;
    rc = apply_cmd(c->ms, txn, &cmd, &res);
    if (rc) {
        mdb_txn_abort(txn);
        return rc;
    }
    return meta_err(mdb_txn_commit(txn));
}

/* A sixteenth of the machine's memory, within [64 MiB, 1 GiB]: what random
 * writes stage is re-cut chunk by chunk at each commit, so the more pages a
 * commit covers, the fewer times each chunk is cut, hashed and stored (a
 * 1 GiB bound doubled random 4 KiB writes over a 1 GiB file against 256 MiB,
 * docs/ARCHITECTURE.md); the kernel itself lets a tenth to a fifth of memory
 * be dirty before writers wait. */
static size_t default_staging_limit(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
    size_t mem = pages > 0 && psize > 0 ? (size_t)pages * (size_t)psize : 0;
    size_t limit = mem / 16;
    if (limit < STAGING_LIMIT_MIN)
        return STAGING_LIMIT_MIN;
    return limit > STAGING_LIMIT_MAX ? STAGING_LIMIT_MAX : limit;
}

int core_open(const struct core_config *cfg, struct core **out)
{
    struct core *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->cfg = *cfg;
    atime_queue_init(&c->atimes, core_atime_submit, c);
    committer_init(&c->committer, core_commit_frozen, c);
    recent_refs_init(&c->recent, RECENT_REFS_WINDOW_MS);
    if (!c->cfg.staging_limit)
        c->cfg.staging_limit = default_staging_limit();
    c->cfg.data_dir = strdup(cfg->data_dir);
    int rc = c->cfg.data_dir ? open_stores(c) : -ENOMEM;
    if (!rc)
        rc = c->cfg.cluster ? genesis_root(c) : init_root(c);
    if (rc) {
        log_error("core: cannot open %s: %s", cfg->data_dir, strerror(-rc));
        core_close(c);
        return rc;
    }
    *out = c;
    return 0;
}

/* Commits what is still staged (files not released before unmount), and
 * the queued atime updates. */
void core_commit_all(struct core *c)
{
    atime_queue_stop(&c->atimes);
    for (int i = 0; i < STG_BUCKETS; i++) {
        for (;;) {
            pthread_mutex_lock(&c->stg.lock);
            struct sfile *sf = c->stg.table[i];
            while (sf && sf->n == 0 && !sf->frozen)
                sf = sf->next;
            uint64_t ino = sf ? sf->ino : 0;
            pthread_mutex_unlock(&c->stg.lock);
            if (!sf || core_commit_ino(c, ino))
                break;
        }
    }
}

void core_close(struct core *c)
{
    if (!c)
        return;
    if (c->seq)
        core_commit_all(c);
    committer_destroy(&c->committer); /* idle: core_commit_all collected every set */
    if (c->seq)
        sequencer_stop(c->seq);
    if (c->seq)
        gc_collect(c->gc);
    atime_queue_destroy(&c->atimes);
    recent_refs_destroy(&c->recent);
    if (c->gc)
        gc_close(c->gc);
    if (c->stg.limit) {
        staging_destroy(&c->stg);
        bufpool_destroy(&c->chunk_bufs);
        bufpool_destroy(&c->batch_bufs);
    }
    chunk_store_close(c->cs);
    meta_store_close(c->ms);
    free((char *)c->cfg.data_dir);
    free(c);
}

int core_stats(struct core *c, struct core_stats *out)
{
    struct chunk_store_stats cs;
    memset(out, 0, sizeof(*out));
    out->applied = c->order ? c->order->applied(c->order_impl) : 0;
    out->chunks_put = __atomic_load_n(&c->chunks_put, __ATOMIC_RELAXED);
    out->chunks_freed = gc_deleted(c->gc);
    pthread_mutex_lock(&c->stg.lock);
    out->staged_bytes = c->stg.staged_bytes;
    pthread_mutex_unlock(&c->stg.lock);
    int rc = chunk_store_stats(c->cs, &cs);
    out->chunks = cs.chunks;
    return rc;
}

struct meta_store *core_meta_store(struct core *c)
{
    return c->ms;
}

struct chunk_store *core_chunk_store(struct core *c)
{
    return c->cs;
}

struct gc *core_gc(struct core *c)
{
    return c->gc;
}

int core_collect(struct core *c)
{
    return c->seq ? sequencer_run_after(c->seq) : -ENOTSUP;
}

void core_set_orderer(struct core *c, const struct orderer_ops *ops, void *impl, uint32_t origin,
                      uint64_t req_base, size_t cmd_max)
{
    c->cmd_max = cmd_max;
    c->order = ops;
    c->order_impl = impl;
    c->node_id = origin;
    c->next_req = req_base;
}

int core_apply_decided(struct core *c, const struct apply_item *items, int n, uint64_t *applied,
                       const struct apply_extra *extra)
{
    return apply_batch_extra(c->ms, items, n, applied, extra);
}

void core_after_apply(struct core *c)
{
    reserve_snapshot_room(c);
    gc_collect(c->gc);
}

int core_load_applied(struct core *c, uint64_t *applied)
{
    MDB_txn *txn;
    int rc = meta_txn_read(c->ms, &txn);
    if (rc)
        return rc;
    rc = meta_counter_get(c->ms, txn, "applied", applied);
    mdb_txn_abort(txn);
    return rc;
}
