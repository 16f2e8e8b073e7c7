/*
 * fuse_ops_io.c - file content: create/open/release, read/write,
 * flush/fsync, fallocate, copy_file_range, lseek.
 *
 * Writes are staged by the core and committed on flush, fsync and release.
 * Opens keep the kernel's page cache (keep_cache): every change to a file's
 * content goes through this mount, which keeps that cache coherent; in a
 * cluster, an open after a remote content change drops it (invalidate.h).
 * O_DIRECT and write-only opens bypass it (direct_io_open()), and a
 * readable open whose read would move atime drops it (read_wants_atime()).
 */
#include "fs/fuse/fuse_cred.h"
#include "fs/fuse/fuse_fs.h"

#include <fcntl.h>
#include <string.h>

#include "common/log.h"

/* fi->fh: how the handle was opened (the kernel sends no flags with flush). */
#define FH_READ_ONLY 1u
#define FH_DIRECT_IO 2u /* the kernel sends no fsync after an O_SYNC write */

/* O_TRUNC reaches us (FUSE_CAP_ATOMIC_O_TRUNC): truncate as part of open. */
static int open_truncate(struct qfs_fuse *q, fuse_req_t req, fuse_ino_t ino)
{
    struct fuse_cred c;
    struct stat in = {.st_size = 0}, st;

    fuse_cred_get(req, false, &c);
    int rc = core_setattr(q->core, &c.cr, ino, &in, CORE_SET_SIZE, &st);
    fuse_cred_put(&c);
    return rc;
}

/* Whether an open bypasses the kernel's page cache (FOPEN_DIRECT_IO). A
 * write-only handle cannot read or map what it writes; through the cache,
 * each byte would be copied into page-cache pages and from them to us, for
 * a later reader on this node that the chunk store serves as well. On this
 * VM a new page is slow to touch, and three daemons on one machine pay it
 * three times: a 1 GiB write-only stream into a demo cluster took 6.3-7.0 s
 * (median 6.60) this way against 6.7-8.1 s (7.28), nine rounds each
 * alternated (ARCHITECTURE.md, "Write-only opens bypass the page cache").
 * The kernel keeps other handles' cached pages and shared mappings
 * coherent: it drops the range a direct write covers
 * (tests/integration/t_posix.sh).
 * In a cluster, O_APPEND handles bypass it too: the kernel puts an append at
 * its cached size, which lags when another node appended since, so the
 * daemon places those writes itself (io_write), and a cached handle would
 * keep the bytes at the kernel's offset. Such a handle cannot be mapped
 * shared (ENODEV: libfuse 3.14 cannot allow it on direct handles). */
static bool direct_io_open(int flags, bool cluster)
{
    return (flags & O_DIRECT) || (flags & O_ACCMODE) == O_WRONLY || (cluster && (flags & O_APPEND));
}

/* Whether a readable open drops the file's cached pages so that its reads
 * reach us. FUSE inodes are S_NOATIME: the kernel leaves atime to the
 * daemon, and a read it serves from its page cache never comes here, so
 * with the pages kept a cached file's atime never moved (`touch -a -d
 * 2000 f; cat f` left 2000). When a read would make an atime update due
 * (atime_due, from core_file_open_atime: relatime, atime not newer than
 * mtime or ctime, or a day old; always with strictatime; never with
 * noatime) the open does not keep the cache, and its first read comes here
 * and records the update (core_read). That costs the cache once per change
 * of the file (or per day) under relatime. */
static bool read_wants_atime(int flags, bool atime_due, bool cluster)
{
    return atime_due && (flags & O_ACCMODE) != O_WRONLY && !direct_io_open(flags, cluster);
}

/* Opens ino for fi's flags and sets the reply's caching flags. existing:
 * not the file this create just made. */
static int io_open_ino(struct qfs_fuse *q, fuse_req_t req, fuse_ino_t ino,
                       struct fuse_file_info *fi, bool existing)
{
    int rc;

    /* Close-to-open. A truncating open needs no read index: the truncate
     * is a command decided after this open began, and its result is
     * applied here in log order after everything committed before, so
     * local state is as current once it returns. One round trip less for
     * every O_TRUNC open (on the fault suite's lossy link a read index
     * costs 1-2 s, and writes went over the 10 s bound). */
    if (existing && (fi->flags & O_TRUNC)) {
        rc = open_truncate(q, req, ino);
        if (rc < 0)
            return rc;
        mount_cluster_after_mutation(q, ino);
    } else if (existing) {
        mount_cluster_sync(q, ino);
    }
    bool atime_due = false; /* a file this create just made has no cached pages */
    rc = existing ? core_file_open_atime(q->core, ino, fi->flags, &atime_due)
                  : core_file_open_new(q->core, ino, fi->flags);
    if (rc < 0)
        return rc;
    fi->fh = (fi->flags & O_ACCMODE) == O_RDONLY ? FH_READ_ONLY : 0;
    fi->direct_io = direct_io_open(fi->flags, q->cluster != NULL);
    if (fi->direct_io)
        fi->fh |= FH_DIRECT_IO;
    fi->keep_cache = mount_cluster_keep_cache(q, ino); /* remote content: drop pages */
    if (fi->keep_cache && read_wants_atime(fi->flags, atime_due, q->cluster != NULL))
        fi->keep_cache = 0;
    return 0;
}

static void io_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    int rc = io_open_ino(qfs_of(req), req, ino, fi, true);

    /* In a cluster the inode may have gone on another node while the
     * kernel still had the name: ESTALE makes the kernel look the path up
     * again (LOOKUP_REVAL) instead of failing the open, as NFS does. */
    if (rc == -ENOENT && qfs_of(req)->cluster)
        rc = -ESTALE;
    if (rc < 0)
        fuse_reply_err(req, -rc);
    else if (fuse_reply_open(req, fi) != 0)
        core_file_release(qfs_of(req)->core, ino); /* the opener was interrupted */
}

static void io_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
                      struct fuse_file_info *fi)
{
    struct qfs_fuse *q = qfs_of(req);
    struct fuse_entry_param e;
    struct fuse_cred c;
    struct stat st;

    fuse_cred_get(req, (mode & S_ISGID) != 0, &c);
    int rc = core_mknod(q->core, &c.cr, parent, name, S_IFREG | (mode & 07777), 0, &st);
    fuse_cred_put(&c);
    /* Another node made the name since the kernel's lookup. Opening it here
     * would skip what the kernel does for an existing file, which it thinks
     * this call created: the permission check (a 0600 file of another user
     * opened for writing), the file type (a FIFO, a directory), and it
     * failed ENOENT when the file went again before the lookup. ESTALE makes
     * the kernel walk the path again (LOOKUP_REVAL) and open what it finds,
     * or create it if it is gone, as NFS does. */
    if (rc == -EEXIST && !(fi->flags & O_EXCL))
        rc = -ESTALE;
    if (rc == 0)
        rc = io_open_ino(q, req, st.st_ino, fi, false);
    if (rc < 0) {
        fuse_reply_err(req, -rc);
        return;
    }
    qfs_fill_entry(q, &st, &e);
    if (fuse_reply_create(req, &e, fi) != 0)
        core_file_release(q->core, st.st_ino);
}

static void io_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                    struct fuse_file_info *fi)
{
    struct qfs_fuse *q = qfs_of(req);
    void *buf = fuse_bufpool_get(&q->pool, size);

    (void)fi;
    if (!buf) {
        fuse_reply_err(req, ENOMEM);
        return;
    }
    ssize_t n = core_read(q->core, ino, (uint64_t)off, buf, size);
    if (n < 0)
        fuse_reply_err(req, (int)-n);
    else
        fuse_reply_buf(req, buf, (size_t)n);
    fuse_bufpool_put(&q->pool, buf, size);
}

static void io_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
                     struct fuse_file_info *fi)
{
    struct fuse_cred c;
    struct core *core = qfs_of(req)->core;

    /* An append goes where the file ends here, not at the kernel's offset:
     * see direct_io_open(). A cached handle's offset is the kernel's to
     * keep, and right on a single node, where every change passes it. */
    fuse_cred_get(req, false, &c);
    ssize_t n = (fi->flags & O_APPEND) && (fi->fh & FH_DIRECT_IO)
                    ? core_write_append(core, &c.cr, ino, buf, size)
                    : core_write(core, &c.cr, ino, (uint64_t)off, buf, size);
    fuse_cred_put(&c);
    /* A synchronous write (O_SYNC, O_DSYNC, RWF_DSYNC: the request's flags
     * carry O_DSYNC) is durable when it returns. Through the page cache the
     * kernel follows it with an fsync; a direct one it does not, so the
     * commit is made here. */
    if (n >= 0 && (fi->fh & FH_DIRECT_IO) && (fi->flags & O_DSYNC)) {
        int rc = core_fsync(core, ino, (fi->flags & O_SYNC) != O_SYNC);
        if (rc < 0)
            n = rc;
    }
    if (n < 0)
        fuse_reply_err(req, (int)-n);
    else
        fuse_reply_write(req, (size_t)n);
}

/* A reader's close() neither commits nor waits for the writers' bytes (on a
 * node without quorum it would report their EROFS, after their commit). */
static void io_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct qfs_fuse *q = qfs_of(req);
    if (fi->fh & FH_READ_ONLY) {
        core_flush_reader(q->core, ino);
        fuse_reply_err(req, 0);
        return;
    }
    fuse_reply_err(req, -core_flush(q->core, ino));
}

static void io_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
    (void)fi;
    fuse_reply_err(req, -core_fsync(qfs_of(req)->core, ino, datasync != 0));
}

static void io_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    int rc = core_file_release(qfs_of(req)->core, ino);

    (void)fi;
    uint64_t left_out;
    /* nobody is left to tell: close() already returned */
    if (rc < 0 && log_limit_pass(&qfs_of(req)->release_log, &left_out))
        log_error("fuse: release of inode %llu failed: %s (%llu such failures left out)",
                  (unsigned long long)ino, strerror(-rc), (unsigned long long)left_out);
    fuse_reply_err(req, 0);
}

static void io_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t off, off_t len,
                         struct fuse_file_info *fi)
{
    struct fuse_cred c;

    (void)fi;
    if (off < 0 || len <= 0) {
        fuse_reply_err(req, EINVAL);
        return;
    }
    fuse_cred_get(req, false, &c);
    int rc = core_fallocate(qfs_of(req)->core, &c.cr, ino, mode, (uint64_t)off, (uint64_t)len);
    fuse_cred_put(&c);
    fuse_reply_err(req, -rc);
}

static void io_copy_file_range(fuse_req_t req, fuse_ino_t ino_in, off_t off_in,
                               struct fuse_file_info *fi_in, fuse_ino_t ino_out, off_t off_out,
                               struct fuse_file_info *fi_out, size_t len, int flags)
{
    struct fuse_cred c;

    (void)fi_in;
    (void)fi_out;
    if (flags != 0) {
        fuse_reply_err(req, EINVAL);
        return;
    }
    fuse_cred_get(req, false, &c);
    ssize_t n = core_copy_file_range(qfs_of(req)->core, &c.cr, ino_in, (uint64_t)off_in, ino_out,
                                     (uint64_t)off_out, len);
    fuse_cred_put(&c);
    if (n < 0)
        fuse_reply_err(req, (int)-n);
    else
        fuse_reply_write(req, (size_t)n);
}

static void io_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
                     struct fuse_file_info *fi)
{
    (void)fi;
    int64_t r = core_lseek(qfs_of(req)->core, ino, off, whence);

    if (r < 0)
        fuse_reply_err(req, (int)-r);
    else
        fuse_reply_lseek(req, r);
}

void fuse_ops_io_register(struct fuse_lowlevel_ops *ops)
{
    ops->open = io_open;
    ops->create = io_create;
    ops->read = io_read;
    ops->write = io_write;
    ops->flush = io_flush;
    ops->fsync = io_fsync;
    ops->release = io_release;
    ops->fallocate = io_fallocate;
    ops->copy_file_range = io_copy_file_range;
    ops->lseek = io_lseek;
}
