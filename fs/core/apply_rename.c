/* apply_rename.c - rename, RENAME_NOREPLACE and RENAME_EXCHANGE. */
#include "fs/core/apply_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

/* One side of a rename: parent directory, entry, and the inode it names. */
struct side {
    struct meta_inode dir, in;
    struct meta_dirent e;
    const char *name;
    uint32_t len;
    bool exists;
};

static int load_side(struct apply_ctx *a, uint64_t parent, const char *name, uint32_t len,
                     struct side *s)
{
    s->name = name;
    s->len = len;
    s->exists = false;
    if (len == 0 || len > META_NAME_MAX)
        return len ? -ENAMETOOLONG : -EINVAL;
    if (memchr(name, '/', len) || (len == 1 && name[0] == '.') ||
        (len == 2 && name[0] == '.' && name[1] == '.'))
        return -EINVAL;
    int rc = apply_get_dir(a, parent, &s->dir);
    if (rc)
        return rc;
    rc = meta_dirent_get(a->ms, a->txn, parent, name, len, &s->e);
    if (rc == -ENOENT)
        return 0;
    if (!rc)
        rc = meta_inode_get(a->ms, a->txn, s->e.child, &s->in);
    s->exists = rc == 0;
    return rc;
}

/* -EINVAL if dir is anc or lies below it (walks '..' up to the root). */
static int check_not_below(struct apply_ctx *a, uint64_t dir, uint64_t anc)
{
    for (int depth = 0; depth < 1 << 20; depth++) {
        if (dir == anc)
            return -EINVAL;
        if (dir == 1)
            return 0;
        struct meta_inode in;
        int rc = meta_inode_get(a->ms, a->txn, dir, &in);
        if (rc)
            return rc;
        dir = in.parent;
    }
    return -ELOOP;
}

/* The moved inode's own record: ctime, and '..' for a directory. */
static int moved(struct apply_ctx *a, struct meta_inode *in, uint64_t newparent)
{
    in->ctime = a->c->time;
    if (S_ISDIR(in->mode))
        in->parent = newparent;
    int rc = apply_conflict_forget(a, in->ino);
    return rc ? rc : meta_inode_put(a->ms, a->txn, in);
}

static int touch_dirs(struct apply_ctx *a, struct side *s, struct side *d, int nlink_delta)
{
    s->dir.mtime = s->dir.ctime = a->c->time;
    if (s->dir.ino == d->dir.ino) {
        return meta_inode_put(a->ms, a->txn, &s->dir);
    }
    d->dir.mtime = d->dir.ctime = a->c->time;
    s->dir.nlink -= nlink_delta;
    d->dir.nlink += nlink_delta;
    int rc = meta_inode_put(a->ms, a->txn, &s->dir);
    return rc ? rc : meta_inode_put(a->ms, a->txn, &d->dir);
}

static int do_exchange(struct apply_ctx *a, struct side *s, struct side *d)
{
    if (!d->exists)
        return -ENOENT;
    int rc = 0;
    if (S_ISDIR(s->in.mode))
        rc = check_not_below(a, d->dir.ino, s->in.ino);
    if (!rc && S_ISDIR(d->in.mode))
        rc = check_not_below(a, s->dir.ino, d->in.ino);
    if (rc)
        return rc;
    struct meta_dirent se = {d->in.ino, d->in.mode & S_IFMT, s->e.cookie};
    struct meta_dirent de = {s->in.ino, s->in.mode & S_IFMT, d->e.cookie};
    rc = meta_dirent_put(a->ms, a->txn, s->dir.ino, s->name, s->len, &se);
    if (!rc)
        rc = meta_dirent_put(a->ms, a->txn, d->dir.ino, d->name, d->len, &de);
    if (!rc && s->in.ino != d->in.ino) {
        rc = moved(a, &s->in, d->dir.ino);
        if (!rc)
            rc = moved(a, &d->in, s->dir.ino);
    }
    a->res->moved_dirs[0] = S_ISDIR(s->in.mode) ? s->in.ino : 0;
    a->res->moved_dirs[1] = S_ISDIR(d->in.mode) ? d->in.ino : 0;
    int delta = (int)S_ISDIR(s->in.mode) - (int)S_ISDIR(d->in.mode);
    return rc ? rc : touch_dirs(a, s, d, delta);
}

/* The existing target of a plain rename: type rules, then its removal. */
static int replace_target(struct apply_ctx *a, struct side *s, struct side *d)
{
    if (S_ISDIR(s->in.mode) && !S_ISDIR(d->in.mode))
        return -ENOTDIR;
    if (!S_ISDIR(s->in.mode) && S_ISDIR(d->in.mode))
        return -EISDIR;
    if (S_ISDIR(d->in.mode)) {
        int rc = meta_dir_empty(a->ms, a->txn, d->in.ino);
        if (rc <= 0)
            return rc < 0 ? rc : -ENOTEMPTY;
        d->dir.nlink--;
    }
    int rc = meta_dirent_del(a->ms, a->txn, d->dir.ino, d->name, d->len, d->e.cookie);
    if (!rc)
        rc = apply_conflict_forget(a, d->in.ino);
    return rc ? rc : apply_drop_link(a, &d->in, a->c->flags & CMD_KEEP_ORPHAN);
}

static int do_move(struct apply_ctx *a, struct side *s, struct side *d)
{
    int rc = 0;
    if (S_ISDIR(s->in.mode))
        rc = check_not_below(a, d->dir.ino, s->in.ino);
    if (!rc && d->exists)
        rc = replace_target(a, s, d);
    if (rc)
        return rc;
    if (s->dir.ino == d->dir.ino)
        s->dir = d->dir; /* one record: keep the nlink change made above */
    /* Within one directory the entry keeps its cookie (its place in readdir). */
    uint64_t cookie = s->dir.ino == d->dir.ino ? s->e.cookie : d->dir.next_cookie++;
    struct meta_dirent ne = {s->in.ino, s->in.mode & S_IFMT, cookie};
    rc = meta_dirent_del(a->ms, a->txn, s->dir.ino, s->name, s->len, s->e.cookie);
    if (!rc)
        rc = meta_dirent_put(a->ms, a->txn, d->dir.ino, d->name, d->len, &ne);
    if (!rc)
        rc = moved(a, &s->in, d->dir.ino);
    if (s->dir.ino == d->dir.ino)
        s->dir = d->dir;
    if (S_ISDIR(s->in.mode))
        a->res->moved_dirs[0] = s->in.ino;
    return rc ? rc : touch_dirs(a, s, d, S_ISDIR(s->in.mode) ? 1 : 0);
}

int apply_rename(struct apply_ctx *a)
{
    const struct cmd *c = a->c;
    unsigned int how = c->flags & (RENAME_NOREPLACE | RENAME_EXCHANGE);
    if ((c->flags & ~(CMD_KEEP_ORPHAN | RENAME_NOREPLACE | RENAME_EXCHANGE)) ||
        how == (RENAME_NOREPLACE | RENAME_EXCHANGE))
        return -EINVAL;
    struct side s, d;
    int rc = load_side(a, c->ino, c->name, c->namelen, &s);
    if (!rc && !s.exists)
        rc = -ENOENT;
    if (!rc)
        rc = load_side(a, c->ino2, c->name2, c->name2len, &d);
    if (rc)
        return rc;
    if (how == RENAME_EXCHANGE)
        return do_exchange(a, &s, &d);
    if (d.exists && how == RENAME_NOREPLACE)
        return -EEXIST;
    if (d.exists && d.in.ino == s.in.ino)
        return 0; /* two links to one inode: POSIX says do nothing */
    return do_move(a, &s, &d);
}
