/* core_path.c - a directory's path from the root, for the few callers that
 * must name a directory to the kernel by path (the daemon keeps no paths). */
#include "fs/core/core_internal.h"
#include "fs/store/meta_dir.h"
#include "fs/store/meta_inode.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

struct find_name {
    uint64_t child;
    char *name; /* META_NAME_MAX + 1 bytes */
    size_t len;
};

static int match_child(void *ctx, const char *name, size_t namelen, const struct meta_dirent *e)
{
    struct find_name *f = ctx;
    if (e->child != f->child)
        return 0;
    memcpy(f->name, name, namelen);
    f->len = namelen;
    return 1;
}

/* Prepends "/" and dir's name in its parent to the path ending at buf + *at;
 * moves *parent one step up. A directory has one name, found by walking
 * the parent's entries (no reverse index: this is rare and may be slow). */
static int prepend_name(struct core *c, MDB_txn *txn, uint64_t dir, uint64_t *parent, char *buf,
                        size_t *at)
{
    struct meta_inode in;
    int rc = meta_inode_get(c->ms, txn, dir, &in);
    if (rc)
        return rc;
    if (!S_ISDIR(in.mode))
        return -ENOTDIR;
    char name[META_NAME_MAX + 1];
    struct find_name f = {dir, name, 0};
    rc = meta_dir_foreach(c->ms, txn, in.parent, 0, match_child, &f);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return -ENOENT; /* unlinked while its inode lives on */
    if (f.len + 1 > *at)
        return -ENAMETOOLONG;
    *at -= f.len;
    memcpy(buf + *at, name, f.len);
    buf[--*at] = '/';
    *parent = in.parent;
    return 0;
}

ssize_t core_dir_path(struct core *c, uint64_t dir, char *buf, size_t cap)
{
    if (cap < 2)
        return -ENAMETOOLONG;
    MDB_txn *txn;
    int rc = meta_txn_read(c->ms, &txn);
    if (rc)
        return rc;
    size_t at = cap - 1; /* built backwards; buf[cap - 1] is the NUL */
    buf[at] = '\0';
    /* Each step adds at least two bytes, so cap bounds the walk even if the
     * parent links ever formed a loop. */
    while (!rc && dir != CORE_ROOT_INO)
        rc = prepend_name(c, txn, dir, &dir, buf, &at);
    mdb_txn_abort(txn);
    if (rc)
        return rc;
    size_t len = cap - 1 - at;
    memmove(buf, buf + at, len + 1);
    return (ssize_t)len;
}
