/* control_conflicts.c - conflict copies for `qfs conflicts` and `qfs status`. */
#include "fs/control/control_conflicts.h"

#include "fs/core/core.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define NEWEST_MAX 16

/* Stand-in until fs/core has the real list (see the header): no conflicts. */
__attribute__((weak)) int core_conflicts_list(struct core *c, core_conflict_fn fn, void *ctx)
{
    (void)c;
    (void)fn;
    (void)ctx;
    return 0;
}

struct find {
    uint64_t want; /* readdir of a parent: the child looked for */
    uint64_t got;  /* its name's length once found; readdir of a dir: ".." */
    char name[256];
};

static int take_dotdot(void *ctx, const struct core_dirent *e, const struct stat *st)
{
    struct find *f = ctx;
    (void)st;
    if (e->namelen == 2 && memcmp(e->name, "..", 2) == 0) {
        f->got = e->ino;
        return 1;
    }
    return 0;
}

static int take_name(void *ctx, const struct core_dirent *e, const struct stat *st)
{
    struct find *f = ctx;
    (void)st;
    if (e->ino != f->want || e->namelen >= sizeof(f->name))
        return 0;
    memcpy(f->name, e->name, e->namelen);
    f->name[e->namelen] = '\0';
    f->got = e->namelen;
    return 1;
}

/* Prepends "/name" to the path being built backwards in buf[*pos..cap). */
static int prepend(char *buf, size_t *pos, const char *name, size_t len)
{
    if (len + 1 > *pos)
        return -ENAMETOOLONG;
    *pos -= len;
    memcpy(buf + *pos, name, len);
    buf[--*pos] = '/';
    return 0;
}

int control_dir_path(struct core *c, uint64_t ino, char *buf, size_t cap)
{
    size_t pos = cap - 1;
    if (cap < 2)
        return -ENAMETOOLONG;
    buf[pos] = '\0';
    for (int depth = 0; ino != CORE_ROOT_INO; depth++) {
        struct find up = {0}, me = {.want = ino};
        int rc = depth > 2048 ? -ELOOP : core_readdir(c, ino, 0, false, take_dotdot, &up);
        if (!rc && (up.got == 0 || up.got == ino))
            rc = -ENOENT; /* removed meanwhile */
        if (!rc)
            rc = core_readdir(c, up.got, 2, false, take_name, &me); /* after '..' */
        if (!rc && me.got == 0)
            rc = -ENOENT;
        if (!rc)
            rc = prepend(buf, &pos, me.name, me.got);
        if (rc)
            return rc;
        ino = up.got;
    }
    if (pos == cap - 1)
        buf[--pos] = '/';
    memmove(buf, buf + pos, cap - pos);
    return 0;
}

struct collect {
    struct core *c;
    struct ctl_buf *out;
    size_t max, count;
    struct core_conflict newest[NEWEST_MAX]; /* max > 0: newest first */
    size_t kept;
};

static void put_one(struct collect *k, size_t i, const struct core_conflict *cf)
{
    char key[64], dir[4096], path[4096 + 512];
    if (control_dir_path(k->c, cf->parent, dir, sizeof(dir)) < 0)
        snprintf(dir, sizeof(dir), "?"); /* its directory went away meanwhile */
    const char *sep = strcmp(dir, "/") == 0 ? "" : "/";
    snprintf(key, sizeof(key), "conflict.%zu.copy", i);
    snprintf(path, sizeof(path), "%s%s%s", dir, sep, cf->copy);
    ctl_put(k->out, key, path);
    snprintf(key, sizeof(key), "conflict.%zu.original", i);
    snprintf(path, sizeof(path), "%s%s%s", dir, sep, cf->original);
    ctl_put(k->out, key, path);
    snprintf(key, sizeof(key), "conflict.%zu.writer", i);
    ctl_put(k->out, key, cf->writer);
    snprintf(key, sizeof(key), "conflict.%zu.other", i);
    ctl_put(k->out, key, cf->other);
    snprintf(key, sizeof(key), "conflict.%zu.time", i);
    ctl_put_i64(k->out, key, cf->time);
}

/* Keeps the newest k->max in k->newest, newest first (insertion: max is small). */
static void keep_newest(struct collect *k, const struct core_conflict *cf)
{
    size_t i = k->kept < k->max ? k->kept++ : k->max;
    if (i == k->max && cf->time <= k->newest[k->max - 1].time)
        return;
    if (i == k->max)
        i = k->max - 1;
    while (i > 0 && k->newest[i - 1].time < cf->time) {
        k->newest[i] = k->newest[i - 1];
        i--;
    }
    k->newest[i] = *cf;
}

static int collect_one(void *ctx, const struct core_conflict *cf)
{
    struct collect *k = ctx;
    if (k->max)
        keep_newest(k, cf);
    else
        put_one(k, k->count, cf);
    k->count++;
    return k->out->overflow ? -ENOBUFS : 0;
}

int control_conflicts_put(struct core *c, struct ctl_buf *out, size_t max)
{
    struct collect k = {.c = c, .out = out, .max = max < NEWEST_MAX ? max : NEWEST_MAX};
    int rc = core_conflicts_list(c, collect_one, &k);
    if (rc)
        return rc;
    for (size_t i = 0; i < k.kept; i++)
        put_one(&k, i, &k.newest[i]);
    ctl_put_u64(out, "conflicts.count", k.count);
    return out->overflow ? -ENOBUFS : 0;
}
