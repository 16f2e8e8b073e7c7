/*
 * fuse_ops_ns.c - namespace handlers: lookup, attributes, creating and
 * removing names (everything but directory listing and file content).
 */
#include "fs/fuse/fuse_cred.h"
#include "fs/fuse/fuse_fs.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

static void ns_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    struct qfs_fuse *q = qfs_of(req);
    struct stat st;

    /* Names are linearizable: the kernel decides rmdir's ENOTDIR, unlink's
     * EISDIR, O_EXCL's EEXIST and every path walk from lookups, so a lookup
     * must see every change that returned before it began, here too (mkdir
     * on one node, then a create inside it on another). One read-index
     * round trip to the leader (none on the leader); without a quorum the
     * answer is this node's last state. */
    mount_cluster_catch_up(q);
    int rc = core_lookup(q->core, parent, name, &st);
    if (rc == -ENOENT) {
        /* A negative entry: a single-node mount caches the absence as long as
         * a name (every create goes through it and drops it); a cluster mount
         * not at all (another node may create the name). */
        struct fuse_entry_param e = {.ino = 0, .entry_timeout = q->negative_timeout};
        fuse_reply_entry(req, &e);
        return;
    }
    if (!rc && S_ISDIR(st.st_mode))
        mount_cluster_settle_dir(q, st.st_ino, fuse_req_ctx(req)->pid);
    qfs_reply_entry(req, rc, &st);
}

/* Inode numbers are stable and never reused: nothing to count. */
static void ns_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
    (void)ino;
    (void)nlookup;
    fuse_reply_none(req);
}

static void ns_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
    (void)count;
    (void)forgets;
    fuse_reply_none(req);
}

static void ns_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct stat st;
    int rc = core_getattr(qfs_of(req)->core, ino, &st);

    (void)fi;
    if (rc == -ENOENT && qfs_of(req)->cluster)
        rc = -ESTALE; /* gone on another node: the kernel looks the name up again */
    if (rc < 0)
        fuse_reply_err(req, -rc);
    else
        fuse_reply_attr(req, &st, qfs_of(req)->attr_timeout);
}

static int core_set_bits(int to_set)
{
    static const struct {
        int fuse, core;
    } map[] = {
        {FUSE_SET_ATTR_MODE, CORE_SET_MODE},
        {FUSE_SET_ATTR_UID, CORE_SET_UID},
        {FUSE_SET_ATTR_GID, CORE_SET_GID},
        {FUSE_SET_ATTR_SIZE, CORE_SET_SIZE},
        {FUSE_SET_ATTR_ATIME, CORE_SET_ATIME},
        {FUSE_SET_ATTR_MTIME, CORE_SET_MTIME},
        {FUSE_SET_ATTR_ATIME_NOW, CORE_SET_ATIME_NOW},
        {FUSE_SET_ATTR_MTIME_NOW, CORE_SET_MTIME_NOW},
        {FUSE_SET_ATTR_CTIME, CORE_SET_CTIME},
    };
    int out = 0;

    /* For UTIME_NOW the kernel sets both ATIME and ATIME_NOW, and both go
     * to the core: the time is set, to the command's (apply_attr.c), under
     * the write-access rule. (Until session 24 the ATIME bit was dropped
     * here, and `touch` of an existing file changed only its ctime.) */
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (to_set & map[i].fuse)
            out |= map[i].core;
    return out;
}

static void ns_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
                       struct fuse_file_info *fi)
{
    bool groups = to_set & (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID);
    struct fuse_cred c;
    struct stat st;

    (void)fi;
    fuse_cred_get(req, groups, &c);
    int rc = core_setattr(qfs_of(req)->core, &c.cr, ino, attr, core_set_bits(to_set), &st);
    fuse_cred_put(&c);
    if (rc < 0)
        fuse_reply_err(req, -rc);
    else
        fuse_reply_attr(req, &st, qfs_of(req)->attr_timeout);
}

static void ns_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
    struct fuse_cred c;
    struct stat st;

    fuse_cred_get(req, (mode & S_ISGID) != 0, &c);
    int rc = core_mknod(qfs_of(req)->core, &c.cr, parent, name, mode, rdev, &st);
    fuse_cred_put(&c);
    qfs_reply_entry(req, rc, &st);
}

static void ns_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
    struct fuse_cred c;
    struct stat st;

    fuse_cred_get(req, false, &c);
    int rc = core_mkdir(qfs_of(req)->core, &c.cr, parent, name, mode, &st);
    fuse_cred_put(&c);
    qfs_reply_entry(req, rc, &st);
}

static void ns_symlink(fuse_req_t req, const char *target, fuse_ino_t parent, const char *name)
{
    struct fuse_cred c;
    struct stat st;

    fuse_cred_get(req, false, &c);
    int rc = core_symlink(qfs_of(req)->core, &c.cr, parent, name, target, &st);
    fuse_cred_put(&c);
    qfs_reply_entry(req, rc, &st);
}

static void ns_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
    struct fuse_cred c;
    struct stat st;

    fuse_cred_get(req, false, &c);
    int rc = core_link(qfs_of(req)->core, &c.cr, ino, newparent, newname, &st);
    fuse_cred_put(&c);
    qfs_reply_entry(req, rc, &st);
}

static void ns_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    struct fuse_cred c;

    fuse_cred_get(req, false, &c);
    int rc = core_unlink(qfs_of(req)->core, &c.cr, parent, name);
    fuse_cred_put(&c);
    fuse_reply_err(req, -rc);
}

static void ns_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    struct fuse_cred c;

    fuse_cred_get(req, false, &c);
    int rc = core_rmdir(qfs_of(req)->core, &c.cr, parent, name);
    fuse_cred_put(&c);
    fuse_reply_err(req, -rc);
}

static void ns_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
                      const char *newname, unsigned int flags)
{
    struct fuse_cred c;

    fuse_cred_get(req, false, &c);
    int rc = core_rename(qfs_of(req)->core, &c.cr, parent, name, newparent, newname, flags);
    fuse_cred_put(&c);
    fuse_reply_err(req, -rc);
}

static void ns_readlink(fuse_req_t req, fuse_ino_t ino)
{
    char buf[PATH_MAX + 1];
    ssize_t n = core_readlink(qfs_of(req)->core, ino, buf, PATH_MAX);

    if (n < 0) {
        fuse_reply_err(req, (int)-n);
        return;
    }
    buf[n] = '\0';
    fuse_reply_readlink(req, buf);
}

static void ns_statfs(fuse_req_t req, fuse_ino_t ino)
{
    struct statvfs sv;
    int rc = core_statfs(qfs_of(req)->core, &sv);

    (void)ino;
    if (rc < 0)
        fuse_reply_err(req, -rc);
    else
        fuse_reply_statfs(req, &sv);
}

void fuse_ops_ns_register(struct fuse_lowlevel_ops *ops)
{
    ops->lookup = ns_lookup;
    ops->forget = ns_forget;
    ops->forget_multi = ns_forget_multi;
    ops->getattr = ns_getattr;
    ops->setattr = ns_setattr;
    ops->mknod = ns_mknod;
    ops->mkdir = ns_mkdir;
    ops->symlink = ns_symlink;
    ops->link = ns_link;
    ops->unlink = ns_unlink;
    ops->rmdir = ns_rmdir;
    ops->rename = ns_rename;
    ops->readlink = ns_readlink;
    ops->statfs = ns_statfs;
}
