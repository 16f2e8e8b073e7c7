#include "fs/store/meta_copy.h"

#include <errno.h>

const char *const meta_copy_fs_dbs[META_DB_COUNT] = {
    [META_DB_META] = "meta",           [META_DB_INODES] = "inodes",
    [META_DB_SYMLINKS] = "symlinks",   [META_DB_DIRENTS] = "dirents",
    [META_DB_COOKIES] = "cookies",     [META_DB_CHUNKMAP] = "chunkmap",
    [META_DB_REFS] = "refs",           [META_DB_GC] = "gc",
    [META_DB_XATTRS] = "xattrs",       [META_DB_ORPHANS] = "orphans",
    [META_DB_CONFLICTS] = "conflicts",
};

/* Appends every record of src_dbi (already sorted by key) to dst_dbi. */
static int copy_records(MDB_txn *src, MDB_dbi src_dbi, MDB_txn *dst, MDB_dbi dst_dbi)
{
    MDB_cursor *rc_src, *rc_dst;
    int rc = mdb_cursor_open(src, src_dbi, &rc_src);
    if (rc)
        return meta_err(rc);
    rc = mdb_cursor_open(dst, dst_dbi, &rc_dst);
    if (rc) {
        mdb_cursor_close(rc_src);
        return meta_err(rc);
    }
    MDB_val k, v;
    for (rc = mdb_cursor_get(rc_src, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(rc_src, &k, &v, MDB_NEXT)) {
        rc = mdb_cursor_put(rc_dst, &k, &v, MDB_APPEND);
        if (rc)
            break;
    }
    mdb_cursor_close(rc_dst);
    mdb_cursor_close(rc_src);
    return rc == MDB_NOTFOUND ? 0 : meta_err(rc);
}

static int copy_one(MDB_txn *src, MDB_txn *dst, const char *name)
{
    MDB_dbi d, s;
    unsigned dflags, sflags;
    int rc = mdb_dbi_open(dst, name, MDB_CREATE, &d);
    if (!rc)
        rc = mdb_dbi_flags(dst, d, &dflags);
    if (!rc)
        rc = mdb_drop(dst, d, 0);
    if (rc)
        return meta_err(rc);
    rc = mdb_dbi_open(src, name, 0, &s);
    if (rc == MDB_NOTFOUND)
        return 0; /* absent in the source: stays empty */
    if (!rc)
        rc = mdb_dbi_flags(src, s, &sflags);
    if (rc)
        return meta_err(rc);
    if ((sflags | dflags) & MDB_DUPSORT || sflags != dflags)
        return -EINVAL;
    return copy_records(src, s, dst, d);
}

int meta_copy_dbs(MDB_txn *src, MDB_txn *dst, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!names[i]) /* NULL would name LMDB's main DB, which lists all the others */
            return -EINVAL;
        int rc = copy_one(src, dst, names[i]);
        if (rc)
            return rc;
    }
    return 0;
}
