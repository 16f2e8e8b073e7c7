/* core_read.c - the read path: chunk map, verified chunks, staged overlay. */
#include "fs/chunk/chunker.h"
#include "fs/core/core_internal.h"
#include "fs/core/core_remote_int.h"

#include "common/log.h"

#include <errno.h>
#include <string.h>
#include <time.h>

struct rd {
    struct core *c;
    uint64_t ino, off;
    uint8_t *buf;
    size_t len;
};

static int copy_extent(void *ctx, const struct meta_extent *e)
{
    struct rd *r = ctx;
    uint64_t from = e->off > r->off ? e->off : r->off;
    uint64_t to = e->off + e->len < r->off + r->len ? e->off + e->len : r->off + r->len;
    uint32_t n = (uint32_t)(to - from);
    int rc = core_chunk_read(r->c, e->hash, e->coff + (uint32_t)(from - e->off),
                             r->buf + (from - r->off), n);
    if (rc >= 0 && (uint32_t)rc != n)
        rc = -EIO; /* the chunk is shorter than the map says */
    if (rc < 0) {
        char hex[SHA256_HEX_LEN + 1];
        sha256_hex(e->hash, hex);
        log_error("read: inode %llu offset %llu: chunk %s: %s", (unsigned long long)r->ino,
                  (unsigned long long)e->off, hex, strerror(-rc));
        return rc == -ENOENT ? -EIO : rc;
    }
    return 0;
}

static int prefetch_extent(void *ctx, const struct meta_extent *e)
{
    const struct rd *r = ctx;
    uint64_t from = e->off > r->off ? e->off : r->off;
    uint64_t to = e->off + e->len < r->off + r->len ? e->off + e->len : r->off + r->len;
    chunk_store_prefetch(r->c->cs, e->hash, e->coff + (uint32_t)(from - e->off),
                         (uint32_t)(to - from));
    return 0;
}

int core_read_committed(struct core *c, MDB_txn *txn, uint64_t ino, uint64_t off, uint8_t *buf,
                        size_t len)
{
    memset(buf, 0, len);
    struct rd r = {c, ino, off, buf, len};
    /* A read of several chunks asks for all their pages before it copies
     * the first: one wait for the disk, not one per chunk. */
    if (len > CHUNK_MIN)
        (void)meta_map_foreach(c->ms, txn, ino, off, off + len, prefetch_extent, &r);
    return meta_map_foreach(c->ms, txn, ino, off, off + len, copy_extent, &r);
}

/* After a large read, asks for the next three of its size: the chunk map
 * does no readahead of its own (chunk_store.h), and a large read through
 * the mount is most often sequential (the kernel's readahead). Not for the
 * re-cut reads of an edit, which are not. */
static void read_ahead(struct core *c, MDB_txn *txn, uint64_t ino, uint64_t off, size_t len)
{
    if (len <= CHUNK_MIN)
        return;
    struct rd r = {c, ino, off + len, NULL, 3 * len};
    (void)meta_map_foreach(c->ms, txn, ino, r.off, r.off + r.len, prefetch_extent, &r);
}

/* relatime: atime older than mtime or ctime, or than a day. */
bool core_atime_due(const struct core *c, const struct meta_inode *in)
{
    if (c->cfg.atime_mode == CORE_ATIME_NOATIME)
        return false;
    if (c->cfg.atime_mode == CORE_ATIME_STRICT)
        return true;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return in->atime.sec < in->mtime.sec ||
           (in->atime.sec == in->mtime.sec && in->atime.nsec <= in->mtime.nsec) ||
           in->atime.sec < in->ctime.sec ||
           (in->atime.sec == in->ctime.sec && in->atime.nsec <= in->ctime.nsec) ||
           now.tv_sec - in->atime.sec >= 24 * 3600;
}

static ssize_t read_locked(struct core *c, struct sfile *sf, uint64_t ino, uint64_t off, void *buf,
                           size_t size)
{
    MDB_txn *txn;
    struct meta_inode in = {0};
    int rc = meta_txn_read(c->ms, &txn);
    if (rc)
        return rc;
    rc = meta_inode_get(c->ms, txn, ino, &in);
    uint64_t fsize = in.size;
    if (!rc && S_ISDIR(in.mode))
        rc = -EISDIR;
    if (!rc && sf && staging_end(sf) > fsize)
        fsize = staging_end(sf);
    size_t n = 0;
    if (!rc && off < fsize) {
        n = fsize - off < size ? (size_t)(fsize - off) : size;
        rc = core_read_committed(c, txn, ino, off, buf, n);
        if (!rc)
            read_ahead(c, txn, ino, off, n);
    }
    mdb_txn_abort(txn);
    if (rc)
        return rc;
    if (sf)
        staging_overlay_all(sf, off, buf, n);
    /* Recorded here, written by the next flush (close) or release: off the
     * read path, and a file kept open (a database) costs no extra commits. */
    if (sf && core_atime_due(c, &in))
        __atomic_store_n(&sf->atime_due, true, __ATOMIC_RELAXED);
    return (ssize_t)n;
}

ssize_t core_read(struct core *c, uint64_t ino, uint64_t off, void *buf, size_t size)
{
    struct sfile *sf = staging_ref(&c->stg, ino, false);
    if (sf)
        pthread_rwlock_rdlock(&sf->lock);
    ssize_t n = read_locked(c, sf, ino, off, buf, size);
    if (sf) {
        pthread_rwlock_unlock(&sf->lock);
        staging_unref(&c->stg, sf);
    }
    return n;
}
