/*
 * fuse_init.c - the capabilities asked of the kernel at mount.
 *
 *  - max_write 1 MiB (libfuse then negotiates max_pages): a sequential write
 *    costs one request per MiB instead of one per 128 KiB.
 *  - parallel dirops: lookups and creates in one directory run at once
 *    (the core serializes mutations itself).
 *  - atomic O_TRUNC: open(O_TRUNC) is one request, not open + setattr.
 *  - readdirplus (auto): `ls -l` gets names and attributes in one pass.
 *  - no handle_killpriv: libfuse 3.14 never passes it to the kernel
 *    (libfuse issue #884), so before a write to a setuid/setgid file the
 *    kernel itself sends SETATTR(mode without those bits), as the writer.
 *    The core must accept that one mode change from a non-owner. The
 *    kernel also asks GETXATTR(security.capability) before every write
 *    (no SB_NOSEC without killpriv_v2): one extra round trip per write.
 *  - no export support: NFS re-export needs lookup of ".." and generation
 *    handling we do not offer.
 *  - no splice: replies come from the core's memory buffers, where splicing
 *    saves nothing over the plain writev.
 *  - writeback cache only with -o writeback (see docs/ARCHITECTURE.md for
 *    the measurement behind the default).
 *  - readahead 1 MiB (root only, see readahead.h): the kernel takes the
 *    minimum of the bdi's window and the INIT reply, so the bdi is raised
 *    here, before the reply.
 *  - nanosecond timestamps (time_gran 1).
 */
#include "fs/fuse/fuse_fs.h"
#include "fs/fuse/readahead.h"

#include <unistd.h>

#include "common/log.h"

#define QFS_MAX_WRITE (1u << 20)
#define QFS_READAHEAD (1u << 20)

static void want_if_capable(struct fuse_conn_info *conn, unsigned cap)
{
    if (conn->capable & cap)
        conn->want |= cap;
}

static void fs_init(void *userdata, struct fuse_conn_info *conn)
{
    struct qfs_fuse *q = userdata;

    conn->max_write = QFS_MAX_WRITE;
    conn->max_read = 0;
    if (geteuid() == 0 && readahead_raise(q->mountpoint, QFS_READAHEAD / 1024) == 0)
        conn->max_readahead = QFS_READAHEAD;
    conn->time_gran = 1;
    conn->max_background = 64;
    conn->congestion_threshold = 48;
    want_if_capable(conn, FUSE_CAP_ASYNC_READ);
    want_if_capable(conn, FUSE_CAP_PARALLEL_DIROPS);
    want_if_capable(conn, FUSE_CAP_ATOMIC_O_TRUNC);
    want_if_capable(conn, FUSE_CAP_READDIRPLUS);
    want_if_capable(conn, FUSE_CAP_READDIRPLUS_AUTO);
    conn->want &= ~(unsigned)(FUSE_CAP_EXPORT_SUPPORT | FUSE_CAP_SPLICE_READ |
                              FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE);
    if (q->writeback_cache)
        want_if_capable(conn, FUSE_CAP_WRITEBACK_CACHE);
    else
        conn->want &= ~(unsigned)FUSE_CAP_WRITEBACK_CACHE;
    log_debug("fuse: capable 0x%x, want 0x%x", conn->capable, conn->want);
    log_info("fuse: protocol %u.%u, max_write %u, writeback cache %s", conn->proto_major,
             conn->proto_minor, conn->max_write,
             (conn->want & FUSE_CAP_WRITEBACK_CACHE) ? "on" : "off");
}

void fuse_init_register(struct fuse_lowlevel_ops *ops)
{
    ops->init = fs_init;
}
