/* core_attr.c - setattr, readdir and xattrs. */
#include "fs/core/core_internal.h"
#include "fs/store/meta_dir.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

static void build_setattr(struct core *c, const struct core_cred *cr, uint64_t ino,
                          const struct stat *in, int to_set, struct cmd *cmd)
{
    core_cmd_init(c, cmd, CMD_SETATTR, cr);
    cmd->ino = ino;
    cmd->flags = (uint32_t)to_set;
    cmd->mode = in->st_mode;
    cmd->uid = in->st_uid;
    cmd->gid = in->st_gid;
    cmd->size = (uint64_t)in->st_size;
    cmd->atime.sec = in->st_atim.tv_sec;
    cmd->atime.nsec = (uint32_t)in->st_atim.tv_nsec;
    cmd->mtime.sec = in->st_mtim.tv_sec;
    cmd->mtime.nsec = (uint32_t)in->st_mtim.tv_nsec;
}

/* Staged bytes are committed first and the inode stays locked until the
 * setattr is applied: a truncate or utimens after a write must win over it. */
int core_setattr(struct core *c, const struct core_cred *cr, uint64_t ino, const struct stat *in,
                 int to_set, struct stat *st)
{
    if ((to_set & CORE_SET_SIZE) && in->st_size < 0)
        return -EINVAL;
    if ((unsigned long)in->st_atim.tv_nsec >= 1000000000ul ||
        (unsigned long)in->st_mtim.tv_nsec >= 1000000000ul)
        return -EINVAL;
    struct cmd cmd;
    struct apply_result res;
    core_atime_settle(c, ino); /* an older read's atime must not land after this */
    build_setattr(c, cr, ino, in, to_set, &cmd);
    int rc = core_submit_after_commit(c, ino, &cmd, &res);
    return rc ? rc : core_attr_after(c, ino, &res, st);
}

struct rd_ctx {
    struct core *c;
    MDB_txn *txn;
    bool plus;
    core_dirent_fn fn;
    void *ctx;
};

/* Does this node stage bytes of ino, or hold it open? */
static bool staging_here(struct core *c, uint64_t ino)
{
    struct sfile *sf = staging_ref(&c->stg, ino, false);
    if (sf)
        staging_unref(&c->stg, sf);
    return sf != NULL;
}

static int emit(struct rd_ctx *r, const char *name, size_t len, uint64_t ino, uint32_t type,
                uint64_t cookie)
{
    struct core_dirent e = {name, len, ino, type, cookie};
    struct stat st, *stp = NULL;
    /* No attributes for an inode whose atime update is still queued: the
     * kernel would cache the old atime (atime_queue.h). A file this node
     * stages bytes of gets getattr's answer (staged size and times): the
     * kernel takes a listing's attributes as the file's, and with the
     * committed size it cut the writer's file short, for reads too, until
     * its attributes expired (an hour on one node). */
    if (r->plus && !atime_queue_pending(&r->c->atimes, ino)) {
        struct meta_inode in;
        if (S_ISREG(type) && staging_here(r->c, ino)) {
            if (core_getattr(r->c, ino, &st) == 0)
                stp = &st;
        } else if (meta_inode_get(r->c->ms, r->txn, ino, &in) == 0) {
            core_attr_to_stat(&in, &st);
            stp = &st;
        }
    }
    return r->fn(r->ctx, &e, stp);
}

static int emit_entry(void *ctx, const char *name, size_t len, const struct meta_dirent *e)
{
    return emit(ctx, name, len, e->child, e->type, e->cookie);
}

int core_readdir(struct core *c, uint64_t ino, uint64_t cookie, bool plus, core_dirent_fn fn,
                 void *ctx)
{
    MDB_txn *txn;
    struct meta_inode dir;
    int rc = meta_txn_read(c->ms, &txn);
    if (rc)
        return rc;
    struct rd_ctx r = {c, txn, plus, fn, ctx};
    rc = meta_inode_get(c->ms, txn, ino, &dir);
    if (rc == -ENOENT) { /* removed while open: lists nothing, as Linux does */
        mdb_txn_abort(txn);
        return 0;
    }
    if (!rc && !S_ISDIR(dir.mode))
        rc = -ENOTDIR;
    int stop = 0;
    if (!rc && cookie < 1)
        stop = emit(&r, ".", 1, ino, S_IFDIR, 1);
    if (!rc && !stop && cookie < 2)
        stop = emit(&r, "..", 2, dir.parent ? dir.parent : ino, S_IFDIR, 2);
    if (!rc && !stop)
        rc = meta_dir_foreach(c->ms, txn, ino, cookie < 2 ? 2 : cookie, emit_entry, &r);
    mdb_txn_abort(txn);
    return rc < 0 ? rc : 0;
}

static int xname(const char *name, size_t *len)
{
    *len = strnlen(name, META_XATTR_NAME_MAX + 1);
    return *len == 0 || *len > META_XATTR_NAME_MAX ? -ERANGE : 0;
}

int core_setxattr(struct core *c, const struct core_cred *cr, uint64_t ino, const char *name,
                  const void *value, size_t size, int flags)
{
    size_t len;
    int rc = xname(name, &len);
    if (rc)
        return rc;
    if (size > META_XATTR_SIZE_MAX)
        return -E2BIG;
    struct cmd cmd;
    struct apply_result res;
    core_cmd_init(c, &cmd, CMD_SETXATTR, cr);
    cmd.ino = ino;
    cmd.name = name;
    cmd.namelen = (uint32_t)len;
    cmd.data = value;
    cmd.datalen = (uint32_t)size;
    cmd.flags = (uint32_t)flags;
    return core_submit(c, &cmd, &res);
}

int core_removexattr(struct core *c, const struct core_cred *cr, uint64_t ino, const char *name)
{
    size_t len;
    int rc = xname(name, &len);
    if (rc)
        return rc;
    struct cmd cmd;
    struct apply_result res;
    core_cmd_init(c, &cmd, CMD_REMOVEXATTR, cr);
    cmd.ino = ino;
    cmd.name = name;
    cmd.namelen = (uint32_t)len;
    return core_submit(c, &cmd, &res);
}

ssize_t core_getxattr(struct core *c, uint64_t ino, const char *name, void *buf, size_t cap)
{
    size_t len, vlen;
    const void *val;
    MDB_txn *txn;
    struct meta_inode in;
    int rc = xname(name, &len);
    if (rc)
        return rc == -ERANGE ? -ENODATA : rc;
    rc = meta_txn_read(c->ms, &txn);
    if (rc)
        return rc;
    rc = meta_inode_get(c->ms, txn, ino, &in);
    if (!rc) {
        rc = meta_xattr_get(c->ms, txn, ino, name, len, &val, &vlen);
        rc = rc == -ENOENT ? -ENODATA : rc;
    }
    if (!rc && cap && vlen > cap)
        rc = -ERANGE;
    if (!rc && cap)
        memcpy(buf, val, vlen);
    mdb_txn_abort(txn);
    return rc ? rc : (ssize_t)vlen;
}

struct list_ctx {
    char *buf;
    size_t cap, len;
};

static int add_name(void *ctx, const char *name, size_t len)
{
    struct list_ctx *l = ctx;
    if (l->cap && l->len + len + 1 <= l->cap) {
        memcpy(l->buf + l->len, name, len);
        l->buf[l->len + len] = '\0';
    }
    l->len += len + 1;
    return 0;
}

ssize_t core_listxattr(struct core *c, uint64_t ino, char *buf, size_t cap)
{
    MDB_txn *txn;
    struct meta_inode in;
    struct list_ctx l = {buf, cap, 0};
    int rc = meta_txn_read(c->ms, &txn);
    if (rc)
        return rc;
    rc = meta_inode_get(c->ms, txn, ino, &in);
    if (!rc)
        rc = meta_xattr_foreach(c->ms, txn, ino, add_name, &l);
    mdb_txn_abort(txn);
    if (rc)
        return rc;
    return cap && l.len > cap ? -ERANGE : (ssize_t)l.len;
}
