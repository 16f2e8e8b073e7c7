/* fuse_entry.c - entry replies shared by the handler files (see fuse_fs.h). */
#include "fs/fuse/fuse_fs.h"

#include <string.h>

void qfs_fill_entry(const struct qfs_fuse *q, const struct stat *st, struct fuse_entry_param *e)
{
    memset(e, 0, sizeof(*e));
    e->ino = st->st_ino;
    e->generation = 1; /* inode numbers are never reused */
    e->attr = *st;
    e->attr_timeout = q->attr_timeout;
    e->entry_timeout = q->entry_timeout;
}

void qfs_reply_entry(fuse_req_t req, int rc, const struct stat *st)
{
    struct fuse_entry_param e;

    if (rc < 0) {
        fuse_reply_err(req, -rc);
        return;
    }
    qfs_fill_entry(qfs_of(req), st, &e);
    fuse_reply_entry(req, &e);
}
