/* core_ns.c - namespace operations: lookups run here, mutations are commands. */
#include "fs/core/core_internal.h"
#include "fs/store/meta_dir.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static int name_ok(const char *name, size_t *len)
{
    *len = strnlen(name, META_NAME_MAX + 1);
    if (*len == 0)
        return -ENOENT;
    return *len > META_NAME_MAX ? -ENAMETOOLONG : 0;
}

/* Staged writes date the file's mtime and ctime as their commit will
 * (staging.h, sfile.written). */
static void staged_times(struct meta_inode *in, struct timespec written)
{
    if (!written.tv_sec)
        return;
    in->mtime = in->ctime = (struct meta_time){written.tv_sec, (uint32_t)written.tv_nsec};
}

/* The staging lock is taken before the inode is read: a commit holds it
 * until its command is applied and its blocks cleared, so size is either
 * the committed one after the commit or the staged end before it. (Read the
 * other way round, a getattr racing a commit returned the old size with no
 * staged bytes left, and an O_APPEND writer on this node wrote over the
 * bytes just committed.) */
int core_getattr(struct core *c, uint64_t ino, struct stat *st)
{
    core_atime_settle(c, ino);
    struct sfile *sf = staging_ref(&c->stg, ino, false);
    if (sf)
        pthread_rwlock_rdlock(&sf->lock);
    MDB_txn *txn;
    struct meta_inode in;
    int rc = meta_txn_read(c->ms, &txn);
    if (!rc) {
        rc = meta_inode_get(c->ms, txn, ino, &in);
        mdb_txn_abort(txn);
    }
    if (!rc && sf && staging_end(sf) > in.size)
        in.size = staging_end(sf);
    if (!rc && sf)
        staged_times(&in, staging_written(sf));
    if (sf) {
        pthread_rwlock_unlock(&sf->lock);
        staging_unref(&c->stg, sf);
    }
    if (!rc)
        core_attr_to_stat(&in, st);
    return rc;
}

int core_attr_after(struct core *c, uint64_t ino, const struct apply_result *res, struct stat *st)
{
    int rc = core_getattr(c, ino, st);
    if (rc == -ENOENT && res->has_attr) {
        core_attr_to_stat(&res->attr, st);
        rc = 0;
    }
    return rc;
}

/* The entry and the inode it names, read from one snapshot: read in two, a
 * rename over the name or an unlink applied between them had freed the
 * inode, and a name that never ceased to exist was answered ENOENT. */
static int lookup_snapshot(struct core *c, uint64_t parent, const char *name, size_t len,
                           struct meta_dirent *e, struct meta_inode *in)
{
    MDB_txn *txn;
    struct meta_inode dir;
    int rc = meta_txn_read(c->ms, &txn);
    if (rc)
        return rc;
    rc = meta_inode_get(c->ms, txn, parent, &dir);
    if (!rc && !S_ISDIR(dir.mode))
        rc = -ENOTDIR;
    if (!rc)
        rc = meta_dirent_get(c->ms, txn, parent, name, len, e);
    if (!rc)
        rc = meta_inode_get(c->ms, txn, e->child, in);
    mdb_txn_abort(txn);
    return rc;
}

int core_lookup(struct core *c, uint64_t parent, const char *name, struct stat *st)
{
    size_t len;
    int rc = name_ok(name, &len);
    if (rc)
        return rc;
    struct meta_dirent e;
    struct meta_inode in;
    rc = lookup_snapshot(c, parent, name, len, &e, &in);
    if (rc)
        return rc;
    if (S_ISREG(e.type))
        staging_hint_set(&c->stg, e.child, parent, name, len);
    /* getattr adds this node's staged size. An inode freed since the
     * snapshot is answered as the snapshot had it: the lookup is ordered
     * there, and what the kernel does next with the inode fails ESTALE and
     * walks the path again. */
    rc = core_getattr(c, e.child, st);
    if (rc == -ENOENT) {
        core_attr_to_stat(&in, st);
        rc = 0;
    }
    return rc;
}

/* Creates and links: the regular file's new name is its name hint. */
static int submit_attr(struct core *c, struct cmd *cmd, struct stat *st)
{
    struct apply_result res;
    int rc = core_submit(c, cmd, &res);
    if (!rc && res.has_attr && S_ISREG(res.attr.mode)) {
        bool link = cmd->op == CMD_LINK;
        staging_hint_set(&c->stg, res.attr.ino, link ? cmd->ino2 : cmd->ino,
                         link ? cmd->name2 : cmd->name, link ? cmd->name2len : cmd->namelen);
    }
    if (!rc && st && res.has_attr)
        core_attr_to_stat(&res.attr, st);
    return rc;
}

static int create(struct core *c, const struct core_cred *cr, uint8_t op, uint64_t parent,
                  const char *name, mode_t mode, dev_t rdev, const char *target, struct stat *st)
{
    size_t len;
    int rc = name_ok(name, &len);
    if (rc)
        return rc;
    struct cmd cmd;
    core_cmd_init(c, &cmd, op, cr);
    cmd.ino = parent;
    cmd.name = name;
    cmd.namelen = (uint32_t)len;
    cmd.mode = (uint32_t)mode;
    cmd.rdev = (uint64_t)rdev;
    if (target) {
        size_t tl = strnlen(target, CMD_TARGET_MAX + 1);
        if (tl == 0 || tl > CMD_TARGET_MAX)
            return tl ? -ENAMETOOLONG : -ENOENT;
        cmd.data = (const uint8_t *)target;
        cmd.datalen = (uint32_t)tl;
    }
    return submit_attr(c, &cmd, st);
}

int core_mknod(struct core *c, const struct core_cred *cr, uint64_t parent, const char *name,
               mode_t mode, dev_t rdev, struct stat *st)
{
    if ((mode & S_IFMT) == 0)
        mode |= S_IFREG;
    return create(c, cr, CMD_MKNOD, parent, name, mode, rdev, NULL, st);
}

int core_mkdir(struct core *c, const struct core_cred *cr, uint64_t parent, const char *name,
               mode_t mode, struct stat *st)
{
    return create(c, cr, CMD_MKDIR, parent, name, mode, 0, NULL, st);
}

int core_symlink(struct core *c, const struct core_cred *cr, uint64_t parent, const char *name,
                 const char *target, struct stat *st)
{
    return create(c, cr, CMD_SYMLINK, parent, name, 0, 0, target, st);
}

int core_link(struct core *c, const struct core_cred *cr, uint64_t ino, uint64_t newparent,
              const char *newname, struct stat *st)
{
    size_t len;
    int rc = name_ok(newname, &len);
    if (rc)
        return rc;
    struct cmd cmd;
    core_cmd_init(c, &cmd, CMD_LINK, cr);
    cmd.ino = ino;
    cmd.ino2 = newparent;
    cmd.name2 = newname;
    cmd.name2len = (uint32_t)len;
    struct apply_result res;
    rc = core_submit(c, &cmd, &res);
    if (!rc && res.has_attr && S_ISREG(res.attr.mode))
        staging_hint_set(&c->stg, ino, newparent, newname, len);
    return rc || !st ? rc : core_attr_after(c, ino, &res, st);
}

static int entry_of(struct core *c, uint64_t parent, const char *name, size_t len,
                    struct meta_dirent *e)
{
    MDB_txn *txn;
    int rc = meta_txn_read(c->ms, &txn);
    if (rc)
        return rc;
    rc = meta_dirent_get(c->ms, txn, parent, name, len, e);
    mdb_txn_abort(txn);
    return rc;
}

/* CMD_KEEP_ORPHAN when the entry's inode is open here (its last link may go
 * while it is still read or written through an open file). */
static uint32_t keep_flag(struct core *c, uint64_t parent, const char *name, size_t len)
{
    struct meta_dirent e;
    int rc = entry_of(c, parent, name, len, &e);
    return rc == 0 && !staging_is_open(&c->stg, e.child) ? 0 : CMD_KEEP_ORPHAN;
}

/* After a rename here: a regular file that moved is now seen at its new name. */
static void rename_hints(struct core *c, const struct cmd *cmd, const struct meta_dirent *src,
                         const struct meta_dirent *dst)
{
    if (src->child && S_ISREG(src->type))
        staging_hint_set(&c->stg, src->child, cmd->ino2, cmd->name2, cmd->name2len);
    if ((cmd->flags & RENAME_EXCHANGE) && dst->child && S_ISREG(dst->type))
        staging_hint_set(&c->stg, dst->child, cmd->ino, cmd->name, cmd->namelen);
}

static int remove_name(struct core *c, const struct core_cred *cr, uint8_t op, uint64_t parent,
                       const char *name)
{
    size_t len;
    int rc = name_ok(name, &len);
    if (rc)
        return rc;
    struct cmd cmd;
    struct apply_result res;
    core_cmd_init(c, &cmd, op, cr);
    cmd.ino = parent;
    cmd.name = name;
    cmd.namelen = (uint32_t)len;
    cmd.flags = keep_flag(c, parent, name, len);
    return core_submit(c, &cmd, &res);
}

int core_unlink(struct core *c, const struct core_cred *cr, uint64_t parent, const char *name)
{
    return remove_name(c, cr, CMD_UNLINK, parent, name);
}

int core_rmdir(struct core *c, const struct core_cred *cr, uint64_t parent, const char *name)
{
    return remove_name(c, cr, CMD_RMDIR, parent, name);
}

int core_rename(struct core *c, const struct core_cred *cr, uint64_t parent, const char *name,
                uint64_t newparent, const char *newname, unsigned int flags)
{
    size_t len, len2;
    int rc = name_ok(name, &len);
    if (!rc)
        rc = name_ok(newname, &len2);
    if (rc)
        return rc;
    if (flags & CMD_KEEP_ORPHAN)
        return -EINVAL;
    struct cmd cmd;
    struct apply_result res;
    core_cmd_init(c, &cmd, CMD_RENAME, cr);
    cmd.ino = parent;
    cmd.name = name;
    cmd.namelen = (uint32_t)len;
    cmd.ino2 = newparent;
    cmd.name2 = newname;
    cmd.name2len = (uint32_t)len2;
    cmd.flags = flags | keep_flag(c, newparent, newname, len2);
    struct meta_dirent src = {0}, dst = {0};
    if (entry_of(c, parent, name, len, &src))
        src.child = 0;
    if ((flags & RENAME_EXCHANGE) && entry_of(c, newparent, newname, len2, &dst))
        dst.child = 0;
    rc = core_submit(c, &cmd, &res);
    if (!rc)
        rename_hints(c, &cmd, &src, &dst);
    return rc;
}

ssize_t core_readlink(struct core *c, uint64_t ino, char *buf, size_t cap)
{
    MDB_txn *txn;
    size_t full;
    int rc = meta_txn_read(c->ms, &txn);
    if (rc)
        return rc;
    rc = meta_symlink_get(c->ms, txn, ino, buf, cap, &full);
    if (rc == -ENOENT) {
        struct meta_inode in;
        rc = meta_inode_get(c->ms, txn, ino, &in) ? -ENOENT : -EINVAL;
    }
    mdb_txn_abort(txn);
    return rc;
}

int core_statfs(struct core *c, struct statvfs *st)
{
    /* Space is the data directory's file system's: both stores live there. */
    memset(st, 0, sizeof(*st));
    if (statvfs(c->cfg.data_dir, st))
        return -errno;
    /* What a writer can use: chunk puts leave the reserves free (df then
     * shows the disk full when writes fail ENOSPC, as ext4's root reserve) */
    uint64_t reserved = st->f_frsize ? chunk_store_reserved_bytes(c->cs) / st->f_frsize : 0;
    st->f_bavail = st->f_bavail > reserved ? st->f_bavail - reserved : 0;
    st->f_namemax = META_NAME_MAX;
    return 0;
}
