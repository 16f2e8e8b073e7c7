/*
 * fuse_ops_dir.c - directory listing: opendir, readdir, readdirplus.
 *
 * The offset the kernel passes back is the core's cookie of the last entry
 * it received, so a listing resumes exactly where the reply buffer filled
 * up, stable across concurrent creates and unlinks.
 */
#include "fs/fuse/fuse_fs.h"

#include <string.h>

struct dir_fill {
    fuse_req_t req;
    struct qfs_fuse *q;
    char *buf;
    size_t size, pos;
    bool plus;
};

static int is_dot_or_dotdot(const struct core_dirent *e)
{
    return (e->namelen == 1 && e->name[0] == '.') ||
           (e->namelen == 2 && e->name[0] == '.' && e->name[1] == '.');
}

/* core_dirent_fn: appends one entry; nonzero once the buffer is full. */
static int dir_add(void *ctx, const struct core_dirent *e, const struct stat *st)
{
    struct dir_fill *f = ctx;
    char name[256];
    size_t need;

    if (e->namelen >= sizeof(name))
        return 0; /* cannot happen (names are <= 255 bytes); skip rather than cut */
    memcpy(name, e->name, e->namelen);
    name[e->namelen] = '\0';
    if (f->plus) {
        struct fuse_entry_param ent;
        if (st && !is_dot_or_dotdot(e)) {
            qfs_fill_entry(f->q, st, &ent);
        } else {
            /* ino 0: the kernel makes no dentry for it (no lookup to count). */
            memset(&ent, 0, sizeof(ent));
            ent.attr.st_ino = e->ino;
            ent.attr.st_mode = e->type;
        }
        need = fuse_add_direntry_plus(f->req, f->buf + f->pos, f->size - f->pos, name, &ent,
                                      (off_t)e->cookie);
    } else {
        struct stat s = {.st_ino = e->ino, .st_mode = e->type};
        need = fuse_add_direntry(f->req, f->buf + f->pos, f->size - f->pos, name, &s,
                                 (off_t)e->cookie);
    }
    if (need > f->size - f->pos)
        return 1;
    f->pos += need;
    return 0;
}

static void dir_list(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, bool plus)
{
    struct qfs_fuse *q = qfs_of(req);
    struct dir_fill f = {.req = req, .q = q, .size = size, .plus = plus};

    f.buf = fuse_bufpool_get(&q->pool, size);
    if (!f.buf) {
        fuse_reply_err(req, ENOMEM);
        return;
    }
    int rc = core_readdir(q->core, ino, (uint64_t)off, plus, dir_add, &f);
    /* An error after some entries were added still returns those entries;
     * the next call resumes after them and reports the error then. */
    if (rc < 0 && f.pos == 0)
        fuse_reply_err(req, -rc);
    else
        fuse_reply_buf(req, f.buf, f.pos);
    fuse_bufpool_put(&q->pool, f.buf, size);
}

static void dir_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                        struct fuse_file_info *fi)
{
    (void)fi;
    dir_list(req, ino, size, off, false);
}

static void dir_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                            struct fuse_file_info *fi)
{
    (void)fi;
    dir_list(req, ino, size, off, true);
}

static void dir_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct stat st;

    mount_cluster_sync(qfs_of(req), ino); /* a listing shows what others did before it */
    int rc = core_getattr(qfs_of(req)->core, ino, &st);

    if (rc == 0 && !S_ISDIR(st.st_mode))
        rc = -ENOTDIR;
    if (rc < 0) {
        fuse_reply_err(req, -rc);
        return;
    }
    fi->fh = 0; /* a listing's position is its offset: no per-open state */
    fuse_reply_open(req, fi);
}

static void dir_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    (void)ino;
    (void)fi;
    fuse_reply_err(req, 0);
}

/* Every metadata operation is durable when it returns: nothing to sync. */
static void dir_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
    (void)ino;
    (void)datasync;
    (void)fi;
    fuse_reply_err(req, 0);
}

void fuse_ops_dir_register(struct fuse_lowlevel_ops *ops)
{
    ops->opendir = dir_opendir;
    ops->readdir = dir_readdir;
    ops->readdirplus = dir_readdirplus;
    ops->releasedir = dir_releasedir;
    ops->fsyncdir = dir_fsyncdir;
}
