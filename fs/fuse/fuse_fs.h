/*
 * fuse_fs.h - the FUSE low-level driver: state shared by its handler files.
 *
 * The driver is a thin translation of FUSE requests onto fs/core/core.h:
 * every handler builds the caller's credentials from the request, calls one
 * core_* function, and replies with its attributes or its negative errno.
 * Inode numbers are the core's own (stable, never reused), so lookup counts
 * need no bookkeeping and forget is a no-op.
 *
 * Each handler file registers its handlers in a struct fuse_lowlevel_ops:
 * fuse_ops_ns.c (namespace), fuse_ops_dir.c (directory listing),
 * fuse_ops_io.c (file content), fuse_ops_xattr.c (extended attributes),
 * fuse_init.c (capabilities negotiated at mount).
 */
#ifndef QFS_FS_FUSE_FUSE_FS_H
#define QFS_FS_FUSE_FUSE_FS_H

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

#include <errno.h>
#include <stdbool.h>

#include "common/log.h"
#include "fs/core/core.h"
#include "fs/fuse/fuse_bufpool.h"

struct cluster;
struct inval;
struct dir_moves;

/* Immutable after mount, except the buffer pool (which has its own lock). */
struct qfs_fuse {
    struct core *core;
    struct cluster *cluster;     /* NULL for a single-node mount */
    struct inval *inval;         /* drops kernel caches of remote changes (cluster only) */
    struct dir_moves *dir_moves; /* drops old names of remotely moved dirs (cluster only) */
    double attr_timeout;         /* seconds the kernel may cache attributes */
    double entry_timeout;        /* seconds the kernel may cache names */
    double negative_timeout;     /* seconds the kernel may cache an absent name */
    bool writeback_cache;        /* ask the kernel to cache writes (-o writeback) */
    const char *mountpoint;      /* absolute; for the readahead window at init */
    char node_tag[8];            /* first 7 characters of the node ID (conflict copy names) */
    struct fuse_bufpool pool;    /* read / readdir / xattr reply buffers */
    struct log_limit release_log;
};

static inline struct qfs_fuse *qfs_of(fuse_req_t req)
{
    return fuse_req_userdata(req);
}

/* Replies with an entry for st (or the error rc < 0). */
void qfs_reply_entry(fuse_req_t req, int rc, const struct stat *st);
/* Fills e for st with the mount's timeouts. */
void qfs_fill_entry(const struct qfs_fuse *q, const struct stat *st, struct fuse_entry_param *e);

/* Cluster mounts: start/stop the node and its cache invalidation
 * (mount_cluster.c); before open, catch up with every commit made before it. */
struct net_config;
int mount_cluster_start(struct qfs_fuse *q, struct fuse_session *se, const struct net_config *cfg);
void mount_cluster_stop(struct qfs_fuse *q);
void mount_cluster_sync(struct qfs_fuse *q, uint64_t ino);
/* After a mutation of ino that this node applied (its slot was decided
 * after the caller's request began): the same for the kernel's caches as
 * mount_cluster_sync, without a read index. */
void mount_cluster_after_mutation(struct qfs_fuse *q, uint64_t ino);
/* A lookup by process pid found directory dir: if another node moved it
 * lately, wait (briefly) until the kernel's old name for it is gone
 * (dir_moves.h), or a rename here would fail ESTALE. */
void mount_cluster_settle_dir(struct qfs_fuse *q, uint64_t dir, pid_t pid);
/* Catches up with the leader's commit index; true if this is a cluster
 * mount and it did (then local state holds everything committed before). */
bool mount_cluster_catch_up(struct qfs_fuse *q);
/* The session is mounted: cache invalidations start reaching the kernel. */
void mount_cluster_mounted(struct qfs_fuse *q);
/* The session is ending: no more cache invalidations. */
void mount_cluster_quiesce(struct qfs_fuse *q);
/* For open(): may the kernel keep ino's pages (no remote change since)? */
bool mount_cluster_keep_cache(struct qfs_fuse *q, uint64_t ino);

void fuse_ops_ns_register(struct fuse_lowlevel_ops *ops);
void fuse_ops_dir_register(struct fuse_lowlevel_ops *ops);
void fuse_ops_io_register(struct fuse_lowlevel_ops *ops);
void fuse_ops_xattr_register(struct fuse_lowlevel_ops *ops);
void fuse_init_register(struct fuse_lowlevel_ops *ops);

#endif
