/*
 * mount_cluster.c - a mount that is one node of a cluster: the cluster node
 * (fs/cluster/cluster.h) plus the invalidation thread that keeps the
 * kernel's caches true to what the other nodes change.
 */
#include "fs/cluster/cluster.h"
#include "fs/fuse/dir_moves.h"
#include "fs/fuse/fuse_fs.h"
#include "fs/fuse/invalidate.h"

#include "common/log.h"

#include <string.h>

#define OPEN_SYNC_MS  2000 /* an open waits at most this for the leader's index */
#define OPEN_INVAL_MS 1000

static void on_inode(void *ctx, uint64_t slot, uint64_t ino)
{
    struct qfs_fuse *q = ctx;
    inval_inode(q->inval, slot, ino);
}

/* Names are not invalidated (invalidate.h): the directory's attributes are;
 * the kernel asks again for every entry it uses (CLUSTER_ENTRY_TIMEOUT). */
static void on_entry(void *ctx, uint64_t slot, uint64_t parent, const char *name, size_t len)
{
    struct qfs_fuse *q = ctx;
    (void)name;
    (void)len;
    inval_inode(q->inval, slot, parent);
}

static void on_dir_moved(void *ctx, uint64_t dir, uint64_t parent, const char *name, size_t len)
{
    struct qfs_fuse *q = ctx;
    dir_moves_note(q->dir_moves, dir, parent, name, len);
}

static void on_applied(void *ctx, uint64_t slot)
{
    struct qfs_fuse *q = ctx;
    inval_applied(q->inval, slot);
}

int mount_cluster_start(struct qfs_fuse *q, struct fuse_session *se, const struct net_config *cfg)
{
    int rc = inval_start(se, &q->inval);
    if (rc)
        return rc;
    rc = dir_moves_start(q->core, q->mountpoint, &q->dir_moves);
    if (rc) {
        log_error("cannot start the directory-move walker: %s", strerror(-rc));
        inval_stop(q->inval);
        q->inval = NULL;
        return rc;
    }
    struct cluster_hooks hooks = {q, on_inode, on_entry, on_dir_moved, on_applied};
    rc = cluster_start(cfg, q->core, &hooks, &q->cluster);
    if (rc) {
        log_error("cannot start the cluster node: %s", strerror(-rc));
        dir_moves_stop(q->dir_moves);
        inval_stop(q->inval);
        q->dir_moves = NULL;
        q->inval = NULL;
    }
    return rc;
}

void mount_cluster_mounted(struct qfs_fuse *q)
{
    if (q->inval) /* NULL for a single-node mount */
        inval_mounted(q->inval);
}

void mount_cluster_quiesce(struct qfs_fuse *q)
{
    inval_quiesce(q->inval); /* NULL for a single-node mount: nothing to do */
}

bool mount_cluster_keep_cache(struct qfs_fuse *q, uint64_t ino)
{
    return !q->inval || inval_open_keep_cache(q->inval, ino);
}

void mount_cluster_stop(struct qfs_fuse *q)
{
    cluster_stop(q->cluster);
    dir_moves_stop(q->dir_moves);
    inval_stop(q->inval);
    q->cluster = NULL;
    q->dir_moves = NULL;
    q->inval = NULL;
}

bool mount_cluster_catch_up(struct qfs_fuse *q)
{
    uint64_t applied;
    return q->cluster && cluster_sync(q->cluster, OPEN_SYNC_MS, &applied) == 0;
}

/* The kernel's caches of ino as fresh as the applied slot: */
static void settle_kernel(struct qfs_fuse *q, uint64_t ino, bool synced, uint64_t applied)
{
    if (synced && inval_wait(q->inval, applied, OPEN_INVAL_MS) != 0)
        log_warn("open: kernel cache invalidation is behind (slot %llu)",
                 (unsigned long long)applied);
    if (inval_attr_sync(q->inval, ino, OPEN_INVAL_MS) != 0)
        log_warn("open: cannot drop the cached attributes of inode %llu", (unsigned long long)ino);
}

/* Without a quorum the open goes on with local data: reads keep working.
 * The inode's cached attributes are dropped in any case: a lookup reply read
 * before a remote change may have reached the kernel after that change's
 * invalidation (invalidate.h), and its stale size would cut reads short. */
void mount_cluster_sync(struct qfs_fuse *q, uint64_t ino)
{
    uint64_t applied = 0;
    if (!q->cluster)
        return;
    bool synced = cluster_sync(q->cluster, OPEN_SYNC_MS, &applied) == 0;
    settle_kernel(q, ino, synced, applied);
}

void mount_cluster_settle_dir(struct qfs_fuse *q, uint64_t dir, pid_t pid)
{
    if (q->dir_moves)
        dir_moves_settle(q->dir_moves, dir, pid);
}

void mount_cluster_after_mutation(struct qfs_fuse *q, uint64_t ino)
{
    if (q->cluster)
        settle_kernel(q, ino, true, cluster_applied_index(q->cluster));
}
