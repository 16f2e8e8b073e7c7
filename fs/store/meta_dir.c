#include "fs/store/meta_dir.h"

#include "common/bytes.h"

#include <errno.h>
#include <string.h>

#define DIRENT_VAL_LEN 20 /* child u64, type u32, cookie u64 */
#define COOKIE_VAL_HDR 12 /* child u64, type u32, then the name */

static size_t name_key(uint8_t *kb, uint64_t parent, const char *name, size_t namelen)
{
    put_u64_be(kb, parent);
    memcpy(kb + 8, name, namelen);
    return 8 + namelen;
}

static void cookie_key(uint8_t *kb, uint64_t parent, uint64_t cookie)
{
    put_u64_be(kb, parent);
    put_u64_be(kb + 8, cookie);
}

int meta_dirent_get(struct meta_store *ms, MDB_txn *txn, uint64_t parent, const char *name,
                    size_t namelen, struct meta_dirent *out)
{
    uint8_t kb[8 + META_NAME_MAX];
    if (namelen == 0 || namelen > META_NAME_MAX)
        return -ENAMETOOLONG;
    MDB_val k = {name_key(kb, parent, name, namelen), kb}, d;
    int rc = mdb_get(txn, ms->dbi[META_DB_DIRENTS], &k, &d);
    if (rc)
        return meta_err(rc);
    return meta_dirent_decode(&d, out);
}

int meta_dirent_decode(const MDB_val *v, struct meta_dirent *out)
{
    if (v->mv_size != DIRENT_VAL_LEN)
        return -EPROTO;
    const uint8_t *p = v->mv_data;
    out->child = get_u64(p);
    out->type = get_u32(p + 8);
    out->cookie = get_u64(p + 12);
    return 0;
}

int meta_dirent_put(struct meta_store *ms, MDB_txn *txn, uint64_t parent, const char *name,
                    size_t namelen, const struct meta_dirent *e)
{
    uint8_t kb[8 + META_NAME_MAX], vb[DIRENT_VAL_LEN];
    uint8_t ck[16], cv[COOKIE_VAL_HDR + META_NAME_MAX];
    if (namelen == 0 || namelen > META_NAME_MAX)
        return -ENAMETOOLONG;
    put_u64(vb, e->child);
    put_u32(vb + 8, e->type);
    put_u64(vb + 12, e->cookie);
    MDB_val k = {name_key(kb, parent, name, namelen), kb}, d = {sizeof(vb), vb};
    int rc = mdb_put(txn, ms->dbi[META_DB_DIRENTS], &k, &d, 0);
    if (rc)
        return meta_err(rc);
    cookie_key(ck, parent, e->cookie);
    put_u64(cv, e->child);
    put_u32(cv + 8, e->type);
    memcpy(cv + COOKIE_VAL_HDR, name, namelen);
    MDB_val k2 = {16, ck}, d2 = {COOKIE_VAL_HDR + namelen, cv};
    return meta_err(mdb_put(txn, ms->dbi[META_DB_COOKIES], &k2, &d2, 0));
}

int meta_dirent_del(struct meta_store *ms, MDB_txn *txn, uint64_t parent, const char *name,
                    size_t namelen, uint64_t cookie)
{
    uint8_t kb[8 + META_NAME_MAX], ck[16];
    if (namelen == 0 || namelen > META_NAME_MAX)
        return -ENAMETOOLONG;
    MDB_val k = {name_key(kb, parent, name, namelen), kb};
    int rc = mdb_del(txn, ms->dbi[META_DB_DIRENTS], &k, NULL);
    if (rc)
        return meta_err(rc);
    cookie_key(ck, parent, cookie);
    MDB_val k2 = {16, ck};
    return meta_err(mdb_del(txn, ms->dbi[META_DB_COOKIES], &k2, NULL));
}

int meta_dir_empty(struct meta_store *ms, MDB_txn *txn, uint64_t dir)
{
    MDB_cursor *cur;
    uint8_t kb[16];
    cookie_key(kb, dir, 0);
    int rc = mdb_cursor_open(txn, ms->dbi[META_DB_COOKIES], &cur);
    if (rc)
        return meta_err(rc);
    MDB_val k = {16, kb}, d;
    rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE);
    int empty = rc == MDB_NOTFOUND || (rc == 0 && memcmp(k.mv_data, kb, 8) != 0);
    mdb_cursor_close(cur);
    if (rc && rc != MDB_NOTFOUND)
        return meta_err(rc);
    return empty;
}

int meta_dir_foreach(struct meta_store *ms, MDB_txn *txn, uint64_t dir, uint64_t after,
                     meta_dir_fn fn, void *ctx)
{
    MDB_cursor *cur;
    uint8_t kb[16];
    if (after == UINT64_MAX)
        return 0;
    cookie_key(kb, dir, after + 1);
    int rc = mdb_cursor_open(txn, ms->dbi[META_DB_COOKIES], &cur);
    if (rc)
        return meta_err(rc);
    MDB_val k = {16, kb}, d;
    int stop = 0;
    rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE);
    while (rc == 0 && k.mv_size == 16 && memcmp(k.mv_data, kb, 8) == 0) {
        if (d.mv_size <= COOKIE_VAL_HDR) {
            rc = EPROTO;
            break;
        }
        const uint8_t *p = d.mv_data;
        struct meta_dirent e = {get_u64(p), get_u32(p + 8), get_u64_be((uint8_t *)k.mv_data + 8)};
        stop = fn(ctx, (const char *)p + COOKIE_VAL_HDR, d.mv_size - COOKIE_VAL_HDR, &e);
        if (stop)
            break;
        rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    if (stop)
        return stop;
    return rc == MDB_NOTFOUND ? 0 : meta_err(rc);
}
