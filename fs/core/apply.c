#include "fs/core/apply_internal.h"

#include "common/log.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

bool apply_in_group(const struct cmd_cred *cr, uint32_t gid)
{
    if (cr->gid == gid)
        return true;
    for (uint32_t i = 0; i < cr->ngroups && i < CMD_MAX_GROUPS; i++)
        if (cr->groups[i] == gid)
            return true;
    return false;
}

int apply_get_dir(struct apply_ctx *a, uint64_t ino, struct meta_inode *dir)
{
    int rc = meta_inode_get(a->ms, a->txn, ino, dir);
    if (rc)
        return rc;
    return S_ISDIR(dir->mode) ? 0 : -ENOTDIR;
}

int apply_result_attr(struct apply_ctx *a, const struct meta_inode *in)
{
    a->res->has_attr = true;
    a->res->attr = *in;
    return 0;
}

int apply_free_inode(struct apply_ctx *a, uint64_t ino)
{
    int64_t delta;
    int rc = meta_map_remove_range(a->ms, a->txn, ino, 0, UINT64_MAX, &delta);
    if (!rc)
        rc = meta_xattr_del_all(a->ms, a->txn, ino);
    if (!rc)
        rc = meta_symlink_del(a->ms, a->txn, ino);
    if (!rc)
        rc = meta_orphan_del(a->ms, a->txn, ino);
    if (!rc)
        rc = meta_inode_del(a->ms, a->txn, ino);
    return rc;
}

int apply_drop_link(struct apply_ctx *a, struct meta_inode *in, bool keep)
{
    bool dir = S_ISDIR(in->mode);
    in->nlink = dir || in->nlink <= 1 ? 0 : in->nlink - 1;
    in->ctime = a->c->time;
    a->res->unlinked_ino = in->ino;
    if (in->nlink > 0)
        return meta_inode_put(a->ms, a->txn, in);
    if (!keep)
        return apply_free_inode(a, in->ino);
    int rc = meta_orphan_put(a->ms, a->txn, in->ino);
    return rc ? rc : meta_inode_put(a->ms, a->txn, in);
}

int apply_reap(struct apply_ctx *a)
{
    struct meta_inode in;
    int rc = meta_inode_get(a->ms, a->txn, a->c->ino, &in);
    if (rc)
        return rc;
    if (in.nlink > 0)
        return -EBUSY;
    return apply_free_inode(a, in.ino);
}

static int dispatch(struct apply_ctx *a)
{
    switch (a->c->op) {
    case CMD_INIT:
        return apply_init(a);
    case CMD_MKNOD:
    case CMD_MKDIR:
    case CMD_SYMLINK:
        return apply_create(a);
    case CMD_LINK:
        return apply_link(a);
    case CMD_UNLINK:
    case CMD_RMDIR:
        return apply_remove(a);
    case CMD_RENAME:
        return apply_rename(a);
    case CMD_SETATTR:
        return apply_setattr(a);
    case CMD_SETXATTR:
        return apply_setxattr(a);
    case CMD_REMOVEXATTR:
        return apply_removexattr(a);
    case CMD_CONTENT:
        return apply_content(a);
    case CMD_ATIME:
        return apply_atime(a);
    case CMD_REAP:
        return apply_reap(a);
    default:
        return -EPROTO;
    }
}

int apply_cmd(struct meta_store *ms, MDB_txn *txn, const struct cmd *c, struct apply_result *res)
{
    MDB_txn *child;
    memset(res, 0, sizeof(*res));
    int rc = meta_err(mdb_txn_begin(meta_store_env(ms), txn, 0, &child));
    if (rc)
        return rc;
    struct apply_ctx a = {ms, child, c, res};
    res->err = dispatch(&a);
    if (res->err) {
        res->has_attr = false;
        res->moved_dirs[0] = res->moved_dirs[1] = 0;
        mdb_txn_abort(child);
        return 0;
    }
    return meta_err(mdb_txn_commit(child));
}

/* Applies the batch in txn. nested: each command in its own nested
 * transaction (a failed one leaves no trace). Without nesting a command that
 * fails after writing would leave a half-done change, so the first failure
 * returns 1 and the caller redoes the whole batch nested: same results, as
 * apply is deterministic. Failures are rare; nested transactions cost LMDB
 * a 2 MiB dirty list each. */
static int apply_all(struct meta_store *ms, MDB_txn *txn, const struct apply_item *items, int n,
                     bool nested)
{
    for (int i = 0; i < n; i++) {
        if (!items[i].cmd)
            continue; /* a no-op slot or a duplicate: only the index moves */
        if (nested) {
            int rc = apply_cmd(ms, txn, items[i].cmd, items[i].res);
            if (rc)
                return rc;
            continue;
        }
        struct apply_ctx a = {ms, txn, items[i].cmd, items[i].res};
        memset(a.res, 0, sizeof(*a.res));
        a.res->err = dispatch(&a);
        if (a.res->err)
            return 1;
    }
    return 0;
}

static int try_batch(struct meta_store *ms, const struct apply_item *items, int n, uint64_t applied,
                     const struct apply_extra *extra, bool nested)
{
    MDB_txn *txn;
    int rc = extra && extra->txn_flags
                 ? meta_err(mdb_txn_begin(meta_store_env(ms), NULL, extra->txn_flags, &txn))
                 : meta_txn_write(ms, &txn);
    if (rc)
        return rc;
    rc = apply_all(ms, txn, items, n, nested);
    if (!rc && extra)
        rc = extra->write(extra->ctx, txn);
    if (!rc)
        rc = meta_counter_put(ms, txn, "applied", applied + (uint64_t)n);
    if (rc) {
        mdb_txn_abort(txn);
        return rc;
    }
    return meta_commit(ms, txn);
}

int apply_batch_extra(struct meta_store *ms, const struct apply_item *items, int n,
                      uint64_t *applied, const struct apply_extra *extra)
{
    int rc = try_batch(ms, items, n, *applied, extra, false);
    if (rc == 1)
        rc = try_batch(ms, items, n, *applied, extra, true);
    if (rc)
        return rc; /* the caller reports it (the cluster's apply thread logs it) */
    *applied += (uint64_t)n;
    return 0;
}

int apply_batch(struct meta_store *ms, const struct apply_item *items, int n, uint64_t *applied)
{
    return apply_batch_extra(ms, items, n, applied, NULL);
}
