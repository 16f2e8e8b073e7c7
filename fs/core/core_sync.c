/* core_sync.c - counting the chunk references this node cannot serve locally. */
#include "fs/core/core_sync.h"

#include "fs/core/core_internal.h"
#include "fs/store/meta_inode.h"
#include "fs/store/meta_map.h"

#include "common/bytes.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

struct ino_scan {
    struct chunk_store *cs;
    struct core_sync_ino *out;
    uint8_t last[SHA256_LEN]; /* consecutive views of one chunk are one reference */
    int last_state;           /* -1 none yet, 0 absent, 1 present */
};

static int count_extent(void *ctx, const struct meta_extent *e)
{
    struct ino_scan *s = ctx;
    s->out->bytes += e->len;
    if (s->last_state < 0 || memcmp(s->last, e->hash, SHA256_LEN) != 0) {
        int has = chunk_store_has(s->cs, e->hash);
        if (has < 0)
            return has;
        memcpy(s->last, e->hash, SHA256_LEN);
        s->last_state = has;
        s->out->chunks++;
        if (!has)
            s->out->missing_chunks++;
    }
    if (!s->last_state)
        s->out->missing_bytes += e->len;
    return 0;
}

/* Adds ino's map to *out (in txn). */
static int scan_ino(struct core *c, MDB_txn *txn, uint64_t ino, struct core_sync_ino *out)
{
    struct ino_scan s = {.cs = c->cs, .out = out, .last_state = -1};
    return meta_map_foreach(c->ms, txn, ino, 0, UINT64_MAX, count_extent, &s);
}

int core_sync_ino(struct core *c, uint64_t ino, struct core_sync_ino *out)
{
    MDB_txn *txn;
    struct meta_inode in;
    memset(out, 0, sizeof(*out));
    int rc = meta_txn_read(c->ms, &txn);
    if (rc)
        return rc;
    rc = meta_inode_get(c->ms, txn, ino, &in);
    if (!rc && S_ISREG(in.mode))
        rc = scan_ino(c, txn, ino, out);
    mdb_txn_abort(txn);
    return rc;
}

/* Every regular file's map: logical and missing bytes. */
static int scan_maps(struct core *c, MDB_txn *txn, struct core_sync_all *out)
{
    MDB_cursor *cur;
    MDB_val k, d;
    struct core_sync_ino sum = {0};
    int rc = meta_err(mdb_cursor_open(txn, c->ms->dbi[META_DB_INODES], &cur));
    if (rc)
        return rc;
    int mrc = mdb_cursor_get(cur, &k, &d, MDB_FIRST);
    while (mrc == 0 && !rc) {
        struct meta_inode in;
        if (k.mv_size != 8) {
            rc = -EPROTO;
            break;
        }
        uint64_t ino = get_u64_be(k.mv_data);
        rc = meta_inode_get(c->ms, txn, ino, &in);
        if (!rc && S_ISREG(in.mode) && in.alloc > 0)
            rc = scan_ino(c, txn, ino, &sum);
        mrc = mdb_cursor_get(cur, &k, &d, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    if (!rc && mrc != MDB_NOTFOUND)
        rc = meta_err(mrc);
    out->logical_bytes = sum.bytes;
    out->missing_bytes = sum.missing_bytes;
    return rc;
}

/* The reference-count table: distinct referenced and missing chunks. */
static int scan_refs(struct core *c, MDB_txn *txn, struct core_sync_all *out)
{
    MDB_cursor *cur;
    MDB_val k, d;
    int rc = meta_err(mdb_cursor_open(txn, c->ms->dbi[META_DB_REFS], &cur));
    if (rc)
        return rc;
    int mrc = mdb_cursor_get(cur, &k, &d, MDB_FIRST);
    while (mrc == 0 && !rc) {
        if (k.mv_size != SHA256_LEN) {
            rc = -EPROTO;
            break;
        }
        int has = chunk_store_has(c->cs, k.mv_data);
        if (has < 0)
            rc = has;
        out->referenced_chunks++;
        out->missing_chunks += has == 0;
        mrc = mdb_cursor_get(cur, &k, &d, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    if (!rc && mrc != MDB_NOTFOUND)
        rc = meta_err(mrc);
    return rc;
}

int core_sync_all(struct core *c, struct core_sync_all *out)
{
    MDB_txn *txn;
    struct chunk_store_stats cs;
    memset(out, 0, sizeof(*out));
    int rc = meta_txn_read(c->ms, &txn);
    if (rc)
        return rc;
    rc = scan_maps(c, txn, out);
    if (!rc)
        rc = scan_refs(c, txn, out);
    mdb_txn_abort(txn);
    if (!rc)
        rc = chunk_store_stats(c->cs, &cs);
    if (rc)
        return rc;
    out->stored_chunks = cs.chunks;
    out->stored_bytes = cs.bytes;
    out->file_bytes = cs.file_bytes;
    out->map_bytes = cs.map_bytes;
    return 0;
}
