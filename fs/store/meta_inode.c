#include "fs/store/meta_inode.h"

#include "common/bytes.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#define INODE_REC_VERSION 2
#define INODE_REC_V1_LEN  (1 + 4 * 4 + 8 * 5 + 3 * 12)
#define INODE_REC_LEN     (INODE_REC_V1_LEN + 8 + 8 + 1 + META_TAG_MAX)

static void put_time(uint8_t *p, const struct meta_time *t)
{
    put_u64(p, (uint64_t)t->sec);
    put_u32(p + 8, t->nsec);
}

static void get_time(const uint8_t *p, struct meta_time *t)
{
    t->sec = (int64_t)get_u64(p);
    t->nsec = get_u32(p + 8);
}

static void encode_inode(uint8_t *p, const struct meta_inode *in)
{
    *p++ = INODE_REC_VERSION;
    put_u32(p, in->mode);
    put_u32(p + 4, in->uid);
    put_u32(p + 8, in->gid);
    put_u32(p + 12, in->nlink);
    p += 16;
    put_u64(p, in->size);
    put_u64(p + 8, in->rdev);
    put_u64(p + 16, in->alloc);
    put_u64(p + 24, in->parent);
    put_u64(p + 32, in->next_cookie);
    p += 40;
    put_time(p, &in->atime);
    put_time(p + 12, &in->mtime);
    put_time(p + 24, &in->ctime);
    p += 36;
    put_u64(p, in->content_ver);
    put_u64(p + 8, in->content_origin);
    size_t tl = strnlen(in->content_tag, META_TAG_MAX);
    p[16] = (uint8_t)tl;
    memset(p + 17, 0, META_TAG_MAX);
    memcpy(p + 17, in->content_tag, tl);
}

/* The version 2 tail: content version, origin, tag. */
static int decode_content(const uint8_t *p, struct meta_inode *in)
{
    in->content_ver = get_u64(p);
    in->content_origin = get_u64(p + 8);
    uint8_t tl = p[16];
    if (tl > META_TAG_MAX || memchr(p + 17, '\0', tl))
        return -EPROTO;
    memcpy(in->content_tag, p + 17, tl);
    in->content_tag[tl] = '\0';
    return 0;
}

static int decode_inode(const uint8_t *p, size_t len, struct meta_inode *in)
{
    bool v1 = len == INODE_REC_V1_LEN && p[0] == 1;
    if (!v1 && (len != INODE_REC_LEN || p[0] != INODE_REC_VERSION))
        return -EPROTO;
    p++;
    in->mode = get_u32(p);
    in->uid = get_u32(p + 4);
    in->gid = get_u32(p + 8);
    in->nlink = get_u32(p + 12);
    p += 16;
    in->size = get_u64(p);
    in->rdev = get_u64(p + 8);
    in->alloc = get_u64(p + 16);
    in->parent = get_u64(p + 24);
    in->next_cookie = get_u64(p + 32);
    p += 40;
    get_time(p, &in->atime);
    get_time(p + 12, &in->mtime);
    get_time(p + 24, &in->ctime);
    in->content_ver = in->content_origin = 0;
    in->content_tag[0] = '\0';
    return v1 ? 0 : decode_content(p + 36, in);
}

int meta_inode_get(struct meta_store *ms, MDB_txn *txn, uint64_t ino, struct meta_inode *out)
{
    uint8_t kb[8];
    put_u64_be(kb, ino);
    MDB_val k = {8, kb}, d;
    int rc = mdb_get(txn, ms->dbi[META_DB_INODES], &k, &d);
    if (rc)
        return meta_err(rc);
    out->ino = ino;
    return decode_inode(d.mv_data, d.mv_size, out);
}

int meta_inode_put(struct meta_store *ms, MDB_txn *txn, const struct meta_inode *in)
{
    uint8_t kb[8], vb[INODE_REC_LEN];
    put_u64_be(kb, in->ino);
    encode_inode(vb, in);
    MDB_val k = {8, kb}, d = {sizeof(vb), vb};
    return meta_err(mdb_put(txn, ms->dbi[META_DB_INODES], &k, &d, 0));
}

int meta_inode_del(struct meta_store *ms, MDB_txn *txn, uint64_t ino)
{
    uint8_t kb[8];
    put_u64_be(kb, ino);
    MDB_val k = {8, kb};
    return meta_err(mdb_del(txn, ms->dbi[META_DB_INODES], &k, NULL));
}

int meta_symlink_get(struct meta_store *ms, MDB_txn *txn, uint64_t ino, char *buf, size_t cap,
                     size_t *full)
{
    uint8_t kb[8];
    put_u64_be(kb, ino);
    MDB_val k = {8, kb}, d;
    int rc = mdb_get(txn, ms->dbi[META_DB_SYMLINKS], &k, &d);
    if (rc)
        return meta_err(rc);
    size_t n = d.mv_size < cap ? d.mv_size : cap;
    memcpy(buf, d.mv_data, n);
    *full = d.mv_size;
    return (int)n;
}

int meta_symlink_put(struct meta_store *ms, MDB_txn *txn, uint64_t ino, const char *t, size_t len)
{
    uint8_t kb[8];
    put_u64_be(kb, ino);
    MDB_val k = {8, kb}, d = {len, (void *)t};
    return meta_err(mdb_put(txn, ms->dbi[META_DB_SYMLINKS], &k, &d, 0));
}

int meta_symlink_del(struct meta_store *ms, MDB_txn *txn, uint64_t ino)
{
    uint8_t kb[8];
    put_u64_be(kb, ino);
    MDB_val k = {8, kb};
    int rc = mdb_del(txn, ms->dbi[META_DB_SYMLINKS], &k, NULL);
    return rc == MDB_NOTFOUND ? 0 : meta_err(rc);
}

static size_t xattr_key(uint8_t *kb, uint64_t ino, const char *name, size_t namelen)
{
    put_u64_be(kb, ino);
    memcpy(kb + 8, name, namelen);
    return 8 + namelen;
}

int meta_xattr_get(struct meta_store *ms, MDB_txn *txn, uint64_t ino, const char *name,
                   size_t namelen, const void **val, size_t *len)
{
    uint8_t kb[8 + META_XATTR_NAME_MAX];
    if (namelen == 0 || namelen > META_XATTR_NAME_MAX)
        return -ERANGE;
    MDB_val k = {xattr_key(kb, ino, name, namelen), kb}, d;
    int rc = mdb_get(txn, ms->dbi[META_DB_XATTRS], &k, &d);
    if (rc)
        return meta_err(rc);
    *val = d.mv_data;
    *len = d.mv_size;
    return 0;
}

int meta_xattr_put(struct meta_store *ms, MDB_txn *txn, uint64_t ino, const char *name,
                   size_t namelen, const void *val, size_t len)
{
    uint8_t kb[8 + META_XATTR_NAME_MAX];
    if (namelen == 0 || namelen > META_XATTR_NAME_MAX)
        return -ERANGE;
    if (len > META_XATTR_SIZE_MAX)
        return -E2BIG;
    MDB_val k = {xattr_key(kb, ino, name, namelen), kb}, d = {len, (void *)val};
    return meta_err(mdb_put(txn, ms->dbi[META_DB_XATTRS], &k, &d, 0));
}

int meta_xattr_del(struct meta_store *ms, MDB_txn *txn, uint64_t ino, const char *name,
                   size_t namelen)
{
    uint8_t kb[8 + META_XATTR_NAME_MAX];
    if (namelen == 0 || namelen > META_XATTR_NAME_MAX)
        return -ERANGE;
    MDB_val k = {xattr_key(kb, ino, name, namelen), kb};
    return meta_err(mdb_del(txn, ms->dbi[META_DB_XATTRS], &k, NULL));
}

/* Visits ino's xattr keys; del != 0 deletes each instead of calling fn. */
static int xattr_walk(struct meta_store *ms, MDB_txn *txn, uint64_t ino, meta_xattr_fn fn,
                      void *ctx, int del)
{
    MDB_cursor *cur;
    uint8_t kb[8];
    put_u64_be(kb, ino);
    int rc = mdb_cursor_open(txn, ms->dbi[META_DB_XATTRS], &cur);
    if (rc)
        return meta_err(rc);
    MDB_val k = {8, kb}, d;
    rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE);
    while (rc == 0 && k.mv_size > 8 && memcmp(k.mv_data, kb, 8) == 0) {
        if (del)
            rc = mdb_cursor_del(cur, 0);
        else if (fn(ctx, (const char *)k.mv_data + 8, k.mv_size - 8))
            break;
        if (rc == 0)
            rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : meta_err(rc);
}

int meta_xattr_foreach(struct meta_store *ms, MDB_txn *txn, uint64_t ino, meta_xattr_fn fn,
                       void *ctx)
{
    return xattr_walk(ms, txn, ino, fn, ctx, 0);
}

int meta_xattr_del_all(struct meta_store *ms, MDB_txn *txn, uint64_t ino)
{
    return xattr_walk(ms, txn, ino, NULL, NULL, 1);
}

int meta_orphan_put(struct meta_store *ms, MDB_txn *txn, uint64_t ino)
{
    uint8_t kb[8];
    put_u64_be(kb, ino);
    MDB_val k = {8, kb}, d = {0, NULL};
    return meta_err(mdb_put(txn, ms->dbi[META_DB_ORPHANS], &k, &d, 0));
}

int meta_orphan_del(struct meta_store *ms, MDB_txn *txn, uint64_t ino)
{
    uint8_t kb[8];
    put_u64_be(kb, ino);
    MDB_val k = {8, kb};
    int rc = mdb_del(txn, ms->dbi[META_DB_ORPHANS], &k, NULL);
    return rc == MDB_NOTFOUND ? 0 : meta_err(rc);
}

int meta_orphan_list(struct meta_store *ms, MDB_txn *txn, uint64_t *out, int max)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, ms->dbi[META_DB_ORPHANS], &cur);
    if (rc)
        return meta_err(rc);
    MDB_val k, d;
    int n = 0;
    rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST);
    while (rc == 0 && n < max) {
        if (k.mv_size == 8)
            out[n++] = get_u64_be(k.mv_data);
        rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    if (rc && rc != MDB_NOTFOUND)
        return meta_err(rc);
    return n;
}
