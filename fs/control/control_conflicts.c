/* control_conflicts.c - conflict copies for `qfs conflicts` and `qfs status`. */
#include "fs/control/control_conflicts.h"

#include "fs/core/core.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define NEWEST_MAX 16

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

/* A listed conflict, copied out of the callback (its strings do not outlive it). */
struct record {
    uint64_t parent, orig_ino, copy_origin, win_origin;
    char name[256], copy_tag[16], win_tag[16];
    int64_t sec;
};

struct collect {
    struct core *c;
    struct ctl_buf *out;
    size_t max, count;
    struct record newest[NEWEST_MAX]; /* max > 0: newest first */
    size_t kept;
};

static void copy_record(struct record *r, const struct core_conflict *cf)
{
    r->parent = cf->parent;
    r->orig_ino = cf->orig_ino;
    r->copy_origin = cf->copy_origin;
    r->win_origin = cf->win_origin;
    r->sec = cf->sec;
    snprintf(r->name, sizeof(r->name), "%s", cf->name ? cf->name : "");
    snprintf(r->copy_tag, sizeof(r->copy_tag), "%s", cf->copy_tag ? cf->copy_tag : "");
    snprintf(r->win_tag, sizeof(r->win_tag), "%s", cf->win_tag ? cf->win_tag : "");
}

/* The node as conflict names show it: its tag, else its origin number in hex. */
static void put_node(struct ctl_buf *b, const char *key, const char *tag, uint64_t origin)
{
    char hex[24];
    snprintf(hex, sizeof(hex), "%llX", (unsigned long long)origin);
    ctl_put(b, key, *tag ? tag : hex);
}

static void put_one(struct collect *k, size_t i, const struct record *r)
{
    char key[64], dir[4096], path[4096 + 512];
    struct find orig = {.want = r->orig_ino};
    if (control_dir_path(k->c, r->parent, dir, sizeof(dir)) < 0)
        snprintf(dir, sizeof(dir), "?"); /* its directory went away meanwhile */
    const char *sep = strcmp(dir, "/") == 0 ? "" : "/";
    snprintf(key, sizeof(key), "conflict.%zu.copy", i);
    snprintf(path, sizeof(path), "%s%s%s", dir, sep, r->name);
    ctl_put(k->out, key, path);
    /* the original is looked for beside its copy; renamed elsewhere, it shows as '?' */
    if (core_readdir(k->c, r->parent, 2, false, take_name, &orig) < 0 || !orig.got)
        snprintf(orig.name, sizeof(orig.name), "?");
    snprintf(key, sizeof(key), "conflict.%zu.original", i);
    snprintf(path, sizeof(path), "%s%s%s", dir, sep, orig.name);
    ctl_put(k->out, key, path);
    snprintf(key, sizeof(key), "conflict.%zu.writer", i);
    put_node(k->out, key, r->win_tag, r->win_origin);
    snprintf(key, sizeof(key), "conflict.%zu.other", i);
    put_node(k->out, key, r->copy_tag, r->copy_origin);
    snprintf(key, sizeof(key), "conflict.%zu.time", i);
    ctl_put_i64(k->out, key, r->sec);
}

/* Keeps the newest k->max in k->newest, newest first (insertion: max is small). */
static void keep_newest(struct collect *k, const struct core_conflict *cf)
{
    size_t i = k->kept < k->max ? k->kept++ : k->max;
    if (i == k->max && cf->sec <= k->newest[k->max - 1].sec)
        return;
    if (i == k->max)
        i = k->max - 1;
    while (i > 0 && k->newest[i - 1].sec < cf->sec) {
        k->newest[i] = k->newest[i - 1];
        i--;
    }
    copy_record(&k->newest[i], cf);
}

static int collect_one(void *ctx, const struct core_conflict *cf)
{
    struct collect *k = ctx;
    if (k->max) {
        keep_newest(k, cf);
    } else {
        struct record r;
        copy_record(&r, cf);
        put_one(k, k->count, &r);
    }
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
