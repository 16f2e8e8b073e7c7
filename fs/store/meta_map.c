#include "fs/store/meta_map.h"

#include "common/bytes.h"

#include <errno.h>
#include <string.h>

#define EXTENT_VAL_LEN (SHA256_LEN + 8)

static void map_key(uint8_t *kb, uint64_t ino, uint64_t off)
{
    put_u64_be(kb, ino);
    put_u64_be(kb + 8, off);
}

static int decode_extent(const MDB_val *k, const MDB_val *d, struct meta_extent *e)
{
    if (k->mv_size != 16 || d->mv_size != EXTENT_VAL_LEN)
        return -EPROTO;
    const uint8_t *p = d->mv_data;
    e->off = get_u64_be((const uint8_t *)k->mv_data + 8);
    memcpy(e->hash, p, SHA256_LEN);
    e->coff = get_u32(p + SHA256_LEN);
    e->len = get_u32(p + SHA256_LEN + 4);
    return e->len ? 0 : -EPROTO;
}

static int same_ino(const MDB_val *k, uint64_t ino)
{
    return k->mv_size == 16 && get_u64_be(k->mv_data) == ino;
}

/* First extent with end > off (and start < to), by one seek and one step back. */
static int first_overlap(struct meta_store *ms, MDB_txn *txn, uint64_t ino, uint64_t off,
                         uint64_t to, struct meta_extent *out)
{
    MDB_cursor *cur;
    uint8_t kb[16];
    map_key(kb, ino, off);
    int rc = mdb_cursor_open(txn, ms->dbi[META_DB_CHUNKMAP], &cur);
    if (rc)
        return meta_err(rc);
    MDB_val k = {16, kb}, d;
    int found = -ENOENT;
    rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE);
    int at = rc == 0 ? 0 : rc == MDB_NOTFOUND ? 1 : -1;
    if (at >= 0) {
        int prc = mdb_cursor_get(cur, &k, &d, at == 0 ? MDB_PREV : MDB_LAST);
        if (prc == 0 && same_ino(&k, ino)) {
            found = decode_extent(&k, &d, out);
            if (found == 0 && out->off + out->len <= off)
                found = -ENOENT;
        }
        if (found == -ENOENT && at == 0) {
            k.mv_size = 16;
            k.mv_data = kb;
            if (mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE) == 0 && same_ino(&k, ino)) {
                found = decode_extent(&k, &d, out);
                if (found == 0 && out->off >= to)
                    found = -ENOENT;
            }
        }
    } else {
        found = meta_err(rc);
    }
    mdb_cursor_close(cur);
    return found;
}

int meta_map_find(struct meta_store *ms, MDB_txn *txn, uint64_t ino, uint64_t off,
                  struct meta_extent *out)
{
    int rc = first_overlap(ms, txn, ino, off, off + 1, out);
    if (rc == 0 && out->off > off)
        return -ENOENT;
    return rc;
}

int meta_map_next(struct meta_store *ms, MDB_txn *txn, uint64_t ino, uint64_t off,
                  struct meta_extent *out)
{
    return first_overlap(ms, txn, ino, off, UINT64_MAX, out);
}

int meta_map_foreach(struct meta_store *ms, MDB_txn *txn, uint64_t ino, uint64_t from, uint64_t to,
                     meta_map_fn fn, void *ctx)
{
    struct meta_extent e;
    int rc = first_overlap(ms, txn, ino, from, to, &e);
    if (rc)
        return rc == -ENOENT ? 0 : rc;
    MDB_cursor *cur;
    uint8_t kb[16];
    map_key(kb, ino, e.off);
    rc = mdb_cursor_open(txn, ms->dbi[META_DB_CHUNKMAP], &cur);
    if (rc)
        return meta_err(rc);
    MDB_val k = {16, kb}, d;
    rc = mdb_cursor_get(cur, &k, &d, MDB_SET_KEY);
    while (rc == 0 && same_ino(&k, ino)) {
        rc = decode_extent(&k, &d, &e);
        if (rc || e.off >= to)
            break;
        rc = fn(ctx, &e);
        if (rc)
            break;
        rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    if (rc == MDB_NOTFOUND)
        return 0;
    return rc > 0 ? meta_err(rc) : rc;
}

static int map_put(struct meta_store *ms, MDB_txn *txn, uint64_t ino, const struct meta_extent *e)
{
    uint8_t kb[16], vb[EXTENT_VAL_LEN];
    map_key(kb, ino, e->off);
    memcpy(vb, e->hash, SHA256_LEN);
    put_u32(vb + SHA256_LEN, e->coff);
    put_u32(vb + SHA256_LEN + 4, e->len);
    MDB_val k = {16, kb}, d = {sizeof(vb), vb};
    return meta_err(mdb_put(txn, ms->dbi[META_DB_CHUNKMAP], &k, &d, 0));
}

int meta_map_insert(struct meta_store *ms, MDB_txn *txn, uint64_t ino, const struct meta_extent *e)
{
    int rc = map_put(ms, txn, ino, e);
    return rc ? rc : meta_ref_adjust(ms, txn, e->hash, 1);
}

/* Replaces extent e by its parts outside [start, end). */
static int trim_extent(struct meta_store *ms, MDB_txn *txn, uint64_t ino,
                       const struct meta_extent *e, uint64_t start, uint64_t end, int64_t *delta)
{
    uint8_t kb[16];
    map_key(kb, ino, e->off);
    MDB_val k = {16, kb};
    int rc = meta_err(mdb_del(txn, ms->dbi[META_DB_CHUNKMAP], &k, NULL));
    if (!rc)
        rc = meta_ref_adjust(ms, txn, e->hash, -1);
    *delta -= e->len;
    uint64_t e_end = e->off + e->len;
    if (!rc && e->off < start) {
        struct meta_extent h = *e;
        h.len = (uint32_t)(start - e->off);
        rc = meta_map_insert(ms, txn, ino, &h);
        *delta += h.len;
    }
    if (!rc && e_end > end) {
        struct meta_extent t = *e;
        t.off = end;
        t.coff = e->coff + (uint32_t)(end - e->off);
        t.len = (uint32_t)(e_end - end);
        rc = meta_map_insert(ms, txn, ino, &t);
        *delta += t.len;
    }
    return rc;
}

int meta_map_remove_range(struct meta_store *ms, MDB_txn *txn, uint64_t ino, uint64_t start,
                          uint64_t end, int64_t *alloc_delta)
{
    uint64_t pos = start;
    *alloc_delta = 0;
    while (pos < end) {
        struct meta_extent e;
        int rc = first_overlap(ms, txn, ino, pos, end, &e);
        if (rc == -ENOENT)
            return 0;
        if (rc)
            return rc;
        rc = trim_extent(ms, txn, ino, &e, start, end, alloc_delta);
        if (rc)
            return rc;
        pos = e.off + e.len;
    }
    return 0;
}

int meta_ref_get(struct meta_store *ms, MDB_txn *txn, const uint8_t hash[SHA256_LEN],
                 uint64_t *count)
{
    return meta_get_u64(txn, ms->dbi[META_DB_REFS], hash, SHA256_LEN, count);
}

int meta_ref_adjust(struct meta_store *ms, MDB_txn *txn, const uint8_t hash[SHA256_LEN], int delta)
{
    uint64_t n;
    int rc = meta_ref_get(ms, txn, hash, &n);
    if (rc)
        return rc;
    if (delta < 0 && n < (uint64_t)-delta)
        return -EPROTO; /* a map that holds a reference its count does not know */
    uint64_t was = n;
    n += (uint64_t)(int64_t)delta;
    MDB_val k = {SHA256_LEN, (void *)hash};
    if (was == 0 && n > 0) {
        rc = meta_gc_remove(ms, txn, hash); /* referenced again before collection */
        if (rc)
            return rc;
    }
    if (n == 0) {
        rc = meta_err(mdb_del(txn, ms->dbi[META_DB_REFS], &k, NULL));
        return rc ? rc : meta_gc_add(ms, txn, hash);
    }
    uint8_t vb[8];
    put_u64(vb, n);
    MDB_val d = {8, vb};
    return meta_err(mdb_put(txn, ms->dbi[META_DB_REFS], &k, &d, 0));
}

int meta_gc_list(struct meta_store *ms, MDB_txn *txn, uint8_t (*out)[SHA256_LEN], int max)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, ms->dbi[META_DB_GC], &cur);
    if (rc)
        return meta_err(rc);
    MDB_val k, d;
    int n = 0;
    rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST);
    while (rc == 0 && n < max) {
        if (k.mv_size == SHA256_LEN)
            memcpy(out[n++], k.mv_data, SHA256_LEN);
        rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    if (rc && rc != MDB_NOTFOUND)
        return meta_err(rc);
    return n;
}

int meta_gc_add(struct meta_store *ms, MDB_txn *txn, const uint8_t hash[SHA256_LEN])
{
    MDB_val k = {SHA256_LEN, (void *)hash}, e = {0, NULL};
    return meta_err(mdb_put(txn, ms->dbi[META_DB_GC], &k, &e, 0));
}

int meta_gc_remove(struct meta_store *ms, MDB_txn *txn, const uint8_t hash[SHA256_LEN])
{
    MDB_val k = {SHA256_LEN, (void *)hash};
    int rc = mdb_del(txn, ms->dbi[META_DB_GC], &k, NULL);
    return rc == MDB_NOTFOUND ? 0 : meta_err(rc);
}
