/* apply_attr.c - setattr (chmod, chown, truncate, utimens), xattrs, atime. */
#include "fs/core/apply_internal.h"
#include "fs/core/core.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>

static bool may_write(const struct cmd_cred *cr, const struct meta_inode *in)
{
    if (cr->uid == 0)
        return true;
    if (cr->uid == in->uid)
        return in->mode & S_IWUSR;
    if (apply_in_group(cr, in->gid))
        return in->mode & S_IWGRP;
    return in->mode & S_IWOTH;
}

/* Only drops setuid/setgid: what the kernel sends, for any writer, when a
 * write or truncate must clear them (file_remove_privs); always allowed. */
static bool only_drops_privs(uint32_t old, uint32_t new)
{
    uint32_t privs = S_ISUID | S_ISGID;
    return (new & ~privs) == (old & 07777 & ~privs) && (new &privs & ~old) == 0;
}

static int set_mode(const struct cmd *c, struct meta_inode *in)
{
    uint32_t mode = c->mode & 07777;
    if (c->cred.uid != 0 && c->cred.uid != in->uid) {
        if (!only_drops_privs(in->mode, mode))
            return -EPERM;
        in->mode = (in->mode & S_IFMT) | mode;
        return 0;
    }
    if (c->cred.uid != 0 && !apply_in_group(&c->cred, in->gid))
        mode &= ~(uint32_t)S_ISGID;
    in->mode = (in->mode & S_IFMT) | mode;
    return 0;
}

static int set_owner(const struct cmd *c, struct meta_inode *in)
{
    bool root = c->cred.uid == 0;
    uint32_t uid = (c->flags & CORE_SET_UID) ? c->uid : in->uid;
    uint32_t gid = (c->flags & CORE_SET_GID) ? c->gid : in->gid;
    if (!root && uid != in->uid)
        return -EPERM;
    if (!root && gid != in->gid && (c->cred.uid != in->uid || !apply_in_group(&c->cred, gid)))
        return -EPERM;
    /* As notify_change(): chown clears setuid, and setgid when group-executable. */
    if (!S_ISDIR(in->mode)) {
        in->mode &= ~(uint32_t)S_ISUID;
        if (in->mode & S_IXGRP)
            in->mode &= ~(uint32_t)S_ISGID;
    }
    in->uid = uid;
    in->gid = gid;
    return 0;
}

static int set_times(const struct cmd *c, struct meta_inode *in)
{
    bool owner = c->cred.uid == 0 || c->cred.uid == in->uid;
    bool expl = (c->flags & CORE_SET_ATIME && !(c->flags & CORE_SET_ATIME_NOW)) ||
                (c->flags & CORE_SET_MTIME && !(c->flags & CORE_SET_MTIME_NOW));
    if (expl && !owner)
        return -EPERM;
    if (!owner && !may_write(&c->cred, in))
        return -EACCES;
    if (c->flags & CORE_SET_ATIME)
        in->atime = (c->flags & CORE_SET_ATIME_NOW) ? c->time : c->atime;
    if (c->flags & CORE_SET_MTIME)
        in->mtime = (c->flags & CORE_SET_MTIME_NOW) ? c->time : c->mtime;
    return 0;
}

static int set_size(struct apply_ctx *a, struct meta_inode *in)
{
    const struct cmd *c = a->c;
    if (S_ISDIR(in->mode))
        return -EISDIR;
    if (!S_ISREG(in->mode))
        return -EINVAL;
    if (c->size < in->size) {
        int64_t delta;
        int rc = meta_map_remove_range(a->ms, a->txn, in->ino, c->size, UINT64_MAX, &delta);
        if (rc)
            return rc;
        in->alloc = (uint64_t)((int64_t)in->alloc + delta);
    }
    if (c->size != in->size)
        apply_content_changed(a, in);
    in->size = c->size;
    if (c->cred.uid != 0) { /* as should_remove_suid(): a non-root truncate */
        in->mode &= ~(uint32_t)S_ISUID;
        if (in->mode & S_IXGRP)
            in->mode &= ~(uint32_t)S_ISGID;
    }
    if (!(c->flags & CORE_SET_MTIME))
        in->mtime = c->time;
    return 0;
}

int apply_setattr(struct apply_ctx *a)
{
    const struct cmd *c = a->c;
    struct meta_inode in;
    int rc = meta_inode_get(a->ms, a->txn, c->ino, &in);
    if (!rc && (c->flags & CORE_SET_SIZE))
        rc = set_size(a, &in);
    if (!rc && (c->flags & (CORE_SET_UID | CORE_SET_GID)))
        rc = set_owner(c, &in);
    if (!rc && (c->flags & CORE_SET_MODE))
        rc = set_mode(c, &in);
    if (!rc && (c->flags & (CORE_SET_ATIME | CORE_SET_MTIME)))
        rc = set_times(c, &in);
    if (rc)
        return rc;
    in.ctime = c->time;
    rc = meta_inode_put(a->ms, a->txn, &in);
    return rc ? rc : apply_result_attr(a, &in);
}

static int touch_ctime(struct apply_ctx *a, struct meta_inode *in)
{
    in->ctime = a->c->time;
    int rc = meta_inode_put(a->ms, a->txn, in);
    return rc ? rc : apply_result_attr(a, in);
}

int apply_setxattr(struct apply_ctx *a)
{
    const struct cmd *c = a->c;
    struct meta_inode in;
    const void *old;
    size_t oldlen;
    int rc = meta_inode_get(a->ms, a->txn, c->ino, &in);
    if (rc)
        return rc;
    if (c->flags & ~(uint32_t)(XATTR_CREATE | XATTR_REPLACE))
        return -EINVAL;
    rc = meta_xattr_get(a->ms, a->txn, c->ino, c->name, c->namelen, &old, &oldlen);
    if (rc && rc != -ENOENT)
        return rc;
    if (rc == 0 && (c->flags & XATTR_CREATE))
        return -EEXIST;
    if (rc == -ENOENT && (c->flags & XATTR_REPLACE))
        return -ENODATA;
    rc = meta_xattr_put(a->ms, a->txn, c->ino, c->name, c->namelen, c->data, c->datalen);
    return rc ? rc : touch_ctime(a, &in);
}

int apply_removexattr(struct apply_ctx *a)
{
    const struct cmd *c = a->c;
    struct meta_inode in;
    int rc = meta_inode_get(a->ms, a->txn, c->ino, &in);
    if (rc)
        return rc;
    rc = meta_xattr_del(a->ms, a->txn, c->ino, c->name, c->namelen);
    if (rc)
        return rc == -ENOENT ? -ENODATA : rc;
    return touch_ctime(a, &in);
}

int apply_atime(struct apply_ctx *a)
{
    struct meta_inode in;
    int rc = meta_inode_get(a->ms, a->txn, a->c->ino, &in);
    if (rc)
        return rc;
    in.atime = a->c->atime;
    rc = meta_inode_put(a->ms, a->txn, &in);
    return rc ? rc : apply_result_attr(a, &in);
}
