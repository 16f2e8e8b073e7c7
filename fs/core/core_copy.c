/* core_copy.c - copy_file_range by sharing chunks, and SEEK_DATA/SEEK_HOLE. */
#include "fs/core/core_internal.h"
#include "fs/core/core_remote_int.h"

#include "common/log.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CFR_EXTENTS 8192 /* extents per command */

struct cfr {
    struct core *c;
    uint64_t src, dst, end; /* source range [src, end) maps to dst */
    uint8_t *exts;
    uint32_t n;
    uint64_t reached; /* source offset up to which extents were taken */
};

/* 0 once chunk hash, pinned, is here, so that the copy's command references
 * only chunks this node holds, as a writer's does. In a cluster a source
 * written elsewhere may be committed before its chunks arrive: they are
 * fetched. A chunk no one has means that the source dropped it since our
 * snapshot and the GC deleted it before the pin: the snapshot is stale,
 * -EAGAIN. */
static int hold_chunk(struct core *c, const uint8_t *hash)
{
    int rc = chunk_store_has(c->cs, hash);
    if (rc == 1)
        return 0;
    if (rc == 0)
        rc = core_chunk_fetch(c, hash);
    return rc == -ENOENT ? -EAGAIN : rc < 0 ? -EIO : rc;
}

/* Takes e's part inside [src, end), shifted to the destination. */
static int take(void *ctx, const struct meta_extent *e)
{
    struct cfr *f = ctx;
    if (f->n == CFR_EXTENTS)
        return 1;
    uint64_t from = e->off > f->src ? e->off : f->src;
    uint64_t to = e->off + e->len < f->end ? e->off + e->len : f->end;
    struct meta_extent x = *e;
    x.coff = e->coff + (uint32_t)(from - e->off);
    x.len = (uint32_t)(to - from);
    x.off = f->dst + (from - f->src);
    int rc = gc_pin(f->c->gc, x.hash); /* until the command is applied */
    if (!rc)
        rc = hold_chunk(f->c, x.hash);
    if (rc) {
        gc_unpin(f->c->gc, x.hash);
        return rc;
    }
    cmd_extent_put(f->exts, f->n++, &x);
    f->reached = to;
    return 0;
}

static void unpin(struct cfr *f)
{
    struct cmd view = {.extents = f->exts};
    for (uint32_t i = 0; i < f->n; i++) {
        struct meta_extent e;
        cmd_extent_get(&view, i, &e);
        gc_unpin(f->c->gc, e.hash);
    }
    f->n = 0;
}

/* One command: source [f->src, up to f->end) shared into the destination. */
static int copy_segment(struct cfr *f, MDB_txn *txn, uint64_t ino_in, uint64_t ino_out,
                        const struct core_cred *cr)
{
    f->reached = f->end;
    int rc = meta_map_foreach(f->c->ms, txn, ino_in, f->src, f->end, take, f);
    if (rc == 1) /* full: stop after the last extent taken */
        rc = 0;
    else if (rc == 0)
        f->reached = f->end;
    uint8_t range[CMD_RANGE_LEN];
    struct cmd cmd;
    core_cmd_init(f->c, &cmd, CMD_CONTENT, cr);
    cmd.ino = ino_out;
    cmd.flags = CMD_CONTENT_MTIME | (cr && cr->uid ? CMD_CONTENT_KILL_SUID : 0);
    cmd.min_size = f->dst + (f->reached - f->src);
    cmd_range_put(range, 0, f->dst, cmd.min_size);
    cmd.n_ranges = 1;
    cmd.ranges = range;
    cmd.n_ext = f->n;
    cmd.extents = f->exts;
    struct apply_result res;
    if (!rc)
        rc = core_submit_after_commit(f->c, ino_out, &cmd, &res);
    unpin(f);
    if (!rc) {
        f->dst += f->reached - f->src;
        f->src = f->reached;
    }
    return rc;
}

static int check_files(MDB_txn *txn, struct core *c, uint64_t ino_in, uint64_t ino_out,
                       struct meta_inode *in)
{
    struct meta_inode out;
    int rc = meta_inode_get(c->ms, txn, ino_in, in);
    if (!rc)
        rc = meta_inode_get(c->ms, txn, ino_out, &out);
    if (rc)
        return rc;
    if (S_ISDIR(in->mode) || S_ISDIR(out.mode))
        return -EISDIR;
    return S_ISREG(in->mode) && S_ISREG(out.mode) ? 0 : -EINVAL;
}

/* Copies what is left of f's range; -EAGAIN when the snapshot went stale. */
static int copy_from_snapshot(struct core *c, const struct core_cred *cr, uint64_t ino_in,
                              uint64_t ino_out, struct cfr *f)
{
    MDB_txn *txn;
    int rc = meta_txn_read(c->ms, &txn);
    if (rc)
        return rc;
    while (!rc && f->src < f->end)
        rc = copy_segment(f, txn, ino_in, ino_out, cr);
    mdb_txn_abort(txn);
    return rc;
}

static int copy_length(struct core *c, uint64_t ino_in, uint64_t off_in, uint64_t ino_out,
                       uint64_t off_out, size_t len, uint64_t *n)
{
    MDB_txn *txn;
    struct meta_inode in;
    int rc = meta_txn_read(c->ms, &txn);
    if (rc)
        return rc;
    rc = check_files(txn, c, ino_in, ino_out, &in);
    mdb_txn_abort(txn);
    *n = !rc && off_in < in.size ? in.size - off_in : 0;
    *n = *n < len ? *n : len;
    if (!rc && ino_in == ino_out && off_in < off_out + *n && off_out < off_in + *n)
        rc = -EINVAL;
    return rc;
}

ssize_t core_copy_file_range(struct core *c, const struct core_cred *cr, uint64_t ino_in,
                             uint64_t off_in, uint64_t ino_out, uint64_t off_out, size_t len)
{
    uint64_t n;
    int rc = core_commit_ino(c, ino_in);
    if (!rc)
        rc = copy_length(c, ino_in, off_in, ino_out, off_out, len, &n);
    if (rc)
        return rc;
    struct cfr f = {c, off_in, off_out, off_in + n, malloc(CFR_EXTENTS * CMD_EXTENT_LEN), 0, 0};
    rc = f.exts ? -EAGAIN : -ENOMEM;
    for (int tries = 0; rc == -EAGAIN && tries < 5; tries++)
        rc = copy_from_snapshot(c, cr, ino_in, ino_out, &f);
    free(f.exts);
    if (rc == -EAGAIN) /* still missing after five fresh looks: lost, not stale */
        log_error("copy_file_range: inode %" PRIu64 " references a chunk no node has", ino_in);
    return rc == -EAGAIN ? -EIO : rc ? rc : (ssize_t)n;
}

int64_t core_lseek(struct core *c, uint64_t ino, int64_t off, int whence)
{
    if (off < 0)
        return -ENXIO;
    int rc = core_commit_ino(c, ino);
    MDB_txn *txn;
    struct meta_inode in;
    struct meta_extent e;
    if (!rc)
        rc = meta_txn_read(c->ms, &txn);
    if (rc)
        return rc;
    rc = meta_inode_get(c->ms, txn, ino, &in);
    int64_t res = rc;
    if (!rc && (uint64_t)off >= in.size)
        res = -ENXIO;
    else if (!rc && whence == SEEK_DATA) {
        rc = meta_map_next(c->ms, txn, ino, (uint64_t)off, &e);
        res = rc == -ENOENT ? -ENXIO
              : rc          ? rc
                            : (int64_t)(e.off > (uint64_t)off ? e.off : (uint64_t)off);
    } else if (!rc && whence == SEEK_HOLE) {
        uint64_t pos = (uint64_t)off;
        while ((rc = meta_map_find(c->ms, txn, ino, pos, &e)) == 0 && pos < in.size)
            pos = e.off + e.len;
        res = rc && rc != -ENOENT ? rc : (int64_t)(pos < in.size ? pos : in.size);
    } else if (!rc) {
        res = -EINVAL;
    }
    mdb_txn_abort(txn);
    return res;
}
