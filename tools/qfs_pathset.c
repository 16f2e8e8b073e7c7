/* qfs_pathset.c - the files `qfs status PATH...` and `qfs wait-sync PATH...` look at. */
#include "tools/qfs.h"

#include <dirent.h>
#include <errno.h>
#include <fts.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The conflict copies in one directory (the last one looked at). */
struct dircache {
    char *dir;
    size_t n, cap;
    char **copy, **orig;
};

static void dircache_clear(struct dircache *d)
{
    for (size_t i = 0; i < d->n; i++) {
        free(d->copy[i]);
        free(d->orig[i]);
    }
    d->n = 0;
    free(d->dir);
    d->dir = NULL;
}

static int dircache_add(struct dircache *d, const char *copy, const char *orig)
{
    if (d->n == d->cap) {
        size_t cap = d->cap ? 2 * d->cap : 16;
        char **c = realloc(d->copy, cap * sizeof(*c)),
             **o = c ? realloc(d->orig, cap * sizeof(*o)) : NULL;
        if (c)
            d->copy = c;
        if (!c || !o)
            return -ENOMEM;
        d->orig = o;
        d->cap = cap;
    }
    d->copy[d->n] = strdup(copy);
    d->orig[d->n] = strdup(orig);
    d->n++;
    return d->copy[d->n - 1] && d->orig[d->n - 1] ? 0 : -ENOMEM;
}

static int dircache_load(struct dircache *d, const char *dir)
{
    if (d->dir && strcmp(d->dir, dir) == 0)
        return 0;
    dircache_clear(d);
    d->dir = strdup(dir);
    DIR *dp = opendir(dir);
    if (!d->dir || !dp) {
        if (dp)
            closedir(dp);
        return d->dir ? 0 : -ENOMEM; /* unreadable: no copies known */
    }
    int rc = 0;
    for (struct dirent *e; !rc && (e = readdir(dp));) {
        char orig[NAME_MAX + 1];
        if (qfs_conflict_original(e->d_name, orig, sizeof(orig)))
            rc = dircache_add(d, e->d_name, orig);
    }
    closedir(dp);
    return rc;
}

/* Notes whether p is a conflict copy, and which copies it has. */
static int note_conflicts(struct dircache *d, struct qfs_path *p)
{
    char *tmp = strdup(p->path), orig[NAME_MAX + 1];
    if (!tmp)
        return -ENOMEM;
    const char *base = strrchr(p->path, '/') ? strrchr(p->path, '/') + 1 : p->path;
    if (qfs_conflict_original(base, orig, sizeof(orig)) && !(p->copy_of = strdup(orig)))
        return free(tmp), -ENOMEM;
    int rc = dircache_load(d, dirname(tmp));
    free(tmp);
    size_t len = 0;
    for (size_t i = 0; !rc && i < d->n; i++) {
        if (strcmp(d->orig[i], base) != 0)
            continue;
        size_t add = strlen(d->copy[i]) + 2;
        char *c = realloc(p->copies, len + add + 1);
        if (!c)
            return -ENOMEM;
        p->copies = c;
        len += (size_t)sprintf(c + len, "%s%s", len ? ", " : "", d->copy[i]);
    }
    return rc;
}

static int add_path(struct qfs_pathset *ps, const char *path, const struct stat *st)
{
    if (ps->n == ps->cap) {
        size_t cap = ps->cap ? 2 * ps->cap : 64;
        struct qfs_path *p = realloc(ps->p, cap * sizeof(*p));
        if (!p)
            return -ENOMEM;
        ps->p = p;
        ps->cap = cap;
    }
    struct qfs_path *p = &ps->p[ps->n];
    memset(p, 0, sizeof(*p));
    p->path = strdup(path);
    p->ino = st->st_ino;
    p->mode = st->st_mode;
    ps->n += p->path != NULL;
    return p->path ? 0 : -ENOMEM;
}

/* Files before directories, so a directory's own files are visited together. */
static int files_first(const FTSENT **a, const FTSENT **b)
{
    int da = (*a)->fts_info == FTS_D, db = (*b)->fts_info == FTS_D;
    return da != db ? da - db : strcmp((*a)->fts_name, (*b)->fts_name);
}

static int visit(struct qfs_pathset *ps, FTS *fts, FTSENT *e, bool recursive)
{
    if (e->fts_info == FTS_DP)
        return 0;
    if (e->fts_info == FTS_NS || e->fts_info == FTS_ERR || e->fts_info == FTS_DNR) {
        fprintf(stderr, "qfs: %s: %s\n", e->fts_path, strerror(e->fts_errno));
        return QFS_EXIT_USAGE;
    }
    if (e->fts_level == 0 && ps->n == 0)
        ps->dev = e->fts_statp->st_dev;
    if (e->fts_statp->st_dev != ps->dev) {
        fprintf(stderr, "qfs: %s is not in the same quorumfs mount as the first path\n",
                e->fts_path);
        return QFS_EXIT_USAGE;
    }
    if (e->fts_info == FTS_D && !recursive)
        fts_set(fts, e, FTS_SKIP); /* the directory itself, not what it holds */
    return add_path(ps, e->fts_path, e->fts_statp) ? QFS_EXIT_NOT_IN_SYNC : 0;
}

/* One root at a time: the paths come out in the order they were given. */
static int walk(struct qfs_pathset *ps, char *root, bool recursive)
{
    char *roots[2] = {root, NULL};
    FTS *fts = fts_open(roots, FTS_PHYSICAL | FTS_NOCHDIR | FTS_XDEV, files_first);
    int rc = fts ? 0 : QFS_EXIT_NOT_IN_SYNC;
    for (FTSENT *e; !rc && (e = fts_read(fts));)
        rc = visit(ps, fts, e, recursive);
    if (fts)
        fts_close(fts);
    return rc;
}

int qfs_pathset_collect(struct qfs_pathset *ps, char **paths, int n, bool recursive)
{
    int rc = 0;
    memset(ps, 0, sizeof(*ps));
    for (int i = 0; !rc && i < n; i++)
        rc = walk(ps, paths[i], recursive);
    struct dircache d = {0};
    for (size_t i = 0; !rc && i < ps->n; i++)
        if (S_ISREG(ps->p[i].mode) && note_conflicts(&d, &ps->p[i]) < 0)
            rc = QFS_EXIT_NOT_IN_SYNC;
    dircache_clear(&d);
    free(d.copy);
    free(d.orig);
    return rc;
}

void qfs_pathset_free(struct qfs_pathset *ps)
{
    for (size_t i = 0; i < ps->n; i++) {
        free(ps->p[i].path);
        free(ps->p[i].copy_of);
        free(ps->p[i].copies);
    }
    free(ps->p);
    memset(ps, 0, sizeof(*ps));
}
