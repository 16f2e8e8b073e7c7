/*
 * fuse_ops_xattr.c - extended attributes: set, get, list, remove.
 *
 * POSIX ACLs are not supported (FUSE_CAP_POSIX_ACL is off, the kernel checks
 * mode bits): without that capability the kernel would pass
 * system.posix_acl_* through as plain attributes, so `cp -a` would "set" an
 * ACL that changes nothing instead of falling back to chmod. They are
 * refused (EOPNOTSUPP) and read as absent.
 *
 * Setting a name outside the namespaces Linux filesystems keep (user.,
 * trusted., security.) is refused with EOPNOTSUPP, as ext4 and XFS refuse
 * it: FUSE passes any name through, and a "bogus.x" stored here would be an
 * attribute no other filesystem can hold. Reads and removals still reach
 * the store (ENODATA when absent), so names an older build let in stay
 * readable and removable. The kernel itself checks who may use trusted.*
 * and on which files user.* is allowed.
 */
#include "fs/fuse/fuse_cred.h"
#include "fs/fuse/fuse_fs.h"

#include <string.h>

static bool is_posix_acl(const char *name)
{
    return strncmp(name, "system.posix_acl_", 17) == 0;
}

static bool is_stored_namespace(const char *name)
{
    static const char *const prefixes[] = {"user.", "trusted.", "security."};
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
        if (strncmp(name, prefixes[i], strlen(prefixes[i])) == 0)
            return true;
    return false;
}

static void xa_set(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value, size_t size,
                   int flags)
{
    struct fuse_cred c;

    if (!is_stored_namespace(name)) {
        fuse_reply_err(req, EOPNOTSUPP);
        return;
    }
    fuse_cred_get(req, false, &c);
    int rc = core_setxattr(qfs_of(req)->core, &c.cr, ino, name, value, size, flags);
    fuse_cred_put(&c);
    fuse_reply_err(req, -rc);
}

/* size 0 asks for the value's length; otherwise the value itself. */
static void xa_reply(fuse_req_t req, ssize_t n, const void *buf, size_t size)
{
    if (n < 0)
        fuse_reply_err(req, (int)-n);
    else if (size == 0)
        fuse_reply_xattr(req, (size_t)n);
    else
        fuse_reply_buf(req, buf, (size_t)n);
}

static void xa_get(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
    struct qfs_fuse *q = qfs_of(req);
    void *buf = size ? fuse_bufpool_get(&q->pool, size) : NULL;

    if (is_posix_acl(name)) {
        fuse_bufpool_put(&q->pool, buf, size);
        fuse_reply_err(req, ENODATA);
        return;
    }
    if (size && !buf) {
        fuse_reply_err(req, ENOMEM);
        return;
    }
    xa_reply(req, core_getxattr(q->core, ino, name, buf, size), buf, size);
    fuse_bufpool_put(&q->pool, buf, size);
}

static void xa_list(fuse_req_t req, fuse_ino_t ino, size_t size)
{
    struct qfs_fuse *q = qfs_of(req);
    char *buf = size ? fuse_bufpool_get(&q->pool, size) : NULL;

    if (size && !buf) {
        fuse_reply_err(req, ENOMEM);
        return;
    }
    xa_reply(req, core_listxattr(q->core, ino, buf, size), buf, size);
    fuse_bufpool_put(&q->pool, buf, size);
}

static void xa_remove(fuse_req_t req, fuse_ino_t ino, const char *name)
{
    struct fuse_cred c;

    fuse_cred_get(req, false, &c);
    int rc = core_removexattr(qfs_of(req)->core, &c.cr, ino, name);
    fuse_cred_put(&c);
    fuse_reply_err(req, -rc);
}

void fuse_ops_xattr_register(struct fuse_lowlevel_ops *ops)
{
    ops->setxattr = xa_set;
    ops->getxattr = xa_get;
    ops->listxattr = xa_list;
    ops->removexattr = xa_remove;
}
