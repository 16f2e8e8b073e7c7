#include "fs/store/meta_conflict.h"

#include "common/bytes.h"

#include <errno.h>
#include <string.h>

#define CONFLICT_REC_VERSION 1
#define CONFLICT_TAG_LEN     (1 + META_TAG_MAX)
#define CONFLICT_FIXED       (1 + 8 * 4 + 12 + 2 * CONFLICT_TAG_LEN + 1)

static void put_tag(uint8_t *p, const char *tag)
{
    size_t n = strnlen(tag, META_TAG_MAX);
    p[0] = (uint8_t)n;
    memset(p + 1, 0, META_TAG_MAX);
    memcpy(p + 1, tag, n);
}

static int get_tag(const uint8_t *p, char *tag)
{
    if (p[0] > META_TAG_MAX || memchr(p + 1, '\0', p[0]))
        return -EPROTO;
    memcpy(tag, p + 1, p[0]);
    tag[p[0]] = '\0';
    return 0;
}

static size_t encode(uint8_t *p, const struct meta_conflict *cf)
{
    p[0] = CONFLICT_REC_VERSION;
    put_u64(p + 1, cf->orig_ino);
    put_u64(p + 9, cf->parent);
    put_u64(p + 17, cf->copy_origin);
    put_u64(p + 25, cf->win_origin);
    put_u64(p + 33, (uint64_t)cf->time.sec);
    put_u32(p + 41, cf->time.nsec);
    put_tag(p + 45, cf->copy_tag);
    put_tag(p + 45 + CONFLICT_TAG_LEN, cf->win_tag);
    p[CONFLICT_FIXED - 1] = (uint8_t)cf->namelen;
    memcpy(p + CONFLICT_FIXED, cf->name, cf->namelen);
    return CONFLICT_FIXED + cf->namelen;
}

static int decode(const uint8_t *p, size_t len, struct meta_conflict *cf)
{
    if (len < CONFLICT_FIXED || p[0] != CONFLICT_REC_VERSION ||
        len != (size_t)CONFLICT_FIXED + p[CONFLICT_FIXED - 1])
        return -EPROTO;
    cf->orig_ino = get_u64(p + 1);
    cf->parent = get_u64(p + 9);
    cf->copy_origin = get_u64(p + 17);
    cf->win_origin = get_u64(p + 25);
    cf->time.sec = (int64_t)get_u64(p + 33);
    cf->time.nsec = get_u32(p + 41);
    cf->namelen = p[CONFLICT_FIXED - 1];
    memcpy(cf->name, p + CONFLICT_FIXED, cf->namelen);
    cf->name[cf->namelen] = '\0';
    int rc = get_tag(p + 45, cf->copy_tag);
    return rc ? rc : get_tag(p + 45 + CONFLICT_TAG_LEN, cf->win_tag);
}

int meta_conflict_put(struct meta_store *ms, MDB_txn *txn, const struct meta_conflict *cf)
{
    uint8_t kb[8], vb[CONFLICT_FIXED + META_NAME_MAX];
    if (cf->namelen == 0 || cf->namelen > META_NAME_MAX)
        return -EINVAL;
    put_u64_be(kb, cf->copy_ino);
    MDB_val k = {8, kb}, d = {encode(vb, cf), vb};
    return meta_err(mdb_put(txn, ms->dbi[META_DB_CONFLICTS], &k, &d, 0));
}

int meta_conflict_del(struct meta_store *ms, MDB_txn *txn, uint64_t copy_ino)
{
    uint8_t kb[8];
    put_u64_be(kb, copy_ino);
    MDB_val k = {8, kb};
    int rc = mdb_del(txn, ms->dbi[META_DB_CONFLICTS], &k, NULL);
    return rc == MDB_NOTFOUND ? 0 : meta_err(rc);
}

int meta_conflict_get(struct meta_store *ms, MDB_txn *txn, uint64_t copy_ino,
                      struct meta_conflict *out)
{
    uint8_t kb[8];
    put_u64_be(kb, copy_ino);
    MDB_val k = {8, kb}, d;
    int rc = mdb_get(txn, ms->dbi[META_DB_CONFLICTS], &k, &d);
    if (rc)
        return meta_err(rc);
    out->copy_ino = copy_ino;
    return decode(d.mv_data, d.mv_size, out);
}

int meta_conflict_foreach(struct meta_store *ms, MDB_txn *txn, meta_conflict_fn fn, void *ctx)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, ms->dbi[META_DB_CONFLICTS], &cur);
    if (rc)
        return meta_err(rc);
    MDB_val k, d;
    struct meta_conflict cf;
    int ret = 0;
    rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST);
    while (rc == 0 && ret == 0) {
        cf.copy_ino = k.mv_size == 8 ? get_u64_be(k.mv_data) : 0;
        ret = k.mv_size == 8 ? decode(d.mv_data, d.mv_size, &cf) : -EPROTO;
        if (!ret)
            ret = fn(ctx, &cf);
        if (!ret)
            rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    if (ret)
        return ret;
    return rc == MDB_NOTFOUND ? 0 : meta_err(rc);
}
