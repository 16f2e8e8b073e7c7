/*
 * apply_conflict.c - two nodes committed content to one file concurrently:
 * the earlier version survives as a conflict copy.
 *
 * Deterministic like all of apply: the copy's place and name come from the
 * command (time, name hint) and the store, never from a clock or the node.
 * Name: NAME.conflict-YYYYMMDD-HHMMSS-TAG[-N][.EXT] (docs/commands.md), in
 * the directory where the writer last saw the file, else in the root.
 */
#include "fs/core/apply_internal.h"
#include "fs/store/meta_conflict.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define ROOT_INO     1
#define COPY_TRIES   100 /* numeric suffixes tried before the inode number */
#define EXTENT_BATCH 256

bool apply_is_conflict(const struct cmd *c, const struct meta_inode *in)
{
    /* An orphan has no name to keep and nothing to sit next to. */
    return (c->flags & CMD_CONTENT_BASE) && in->nlink > 0 && in->content_origin != c->origin &&
           in->content_ver != c->base_ver;
}

/* days since 1970-01-01 -> civil date (proleptic Gregorian). */
static void civil(int64_t days, int64_t *y, unsigned *m, unsigned *d)
{
    days += 719468;
    int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    unsigned doe = (unsigned)(days - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* "YYYYMMDD-HHMMSS" (UTC) of t, clamped to years 1970..9999. */
static void stamp(int64_t t, char out[32])
{
    const int64_t max = 253402300799; /* 9999-12-31 23:59:59 */
    t = t < 0 ? 0 : t > max ? max : t;
    int64_t y;
    unsigned m, d, s = (unsigned)(t % 86400);
    civil(t / 86400, &y, &m, &d);
    snprintf(out, 32, "%04u%02u%02u-%02u%02u%02u", (unsigned)y, m, d, s / 3600, s / 60 % 60,
             s % 60);
}

/* Cuts len down to at most max without splitting a UTF-8 sequence. */
static uint32_t utf8_cut(const char *s, uint32_t len, uint32_t max)
{
    if (len <= max)
        return len;
    while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
        max--;
    return max;
}

/* Writes NAME.conflict-STAMP-TAG[SUFFIX][.EXT] into out (META_NAME_MAX + 1),
 * shortening NAME to fit (EXT too if it alone does not). EXT is the last
 * '.' and what follows, as Syncthing (Go's filepath.Ext) takes it. Returns
 * the length. */
static uint32_t copy_name(char *out, const char *name, uint32_t len, const char *st,
                          const char *tag, const char *suffix)
{
    uint32_t stem = len;
    while (stem > 0 && name[stem - 1] != '.')
        stem--;
    stem = stem ? stem - 1 : len; /* at the last '.', or no extension */
    const char *ext = name + stem;
    char mid[64];
    uint32_t midlen = (uint32_t)snprintf(mid, sizeof(mid), ".conflict-%s-%s%s", st, tag, suffix);
    uint32_t room = META_NAME_MAX - midlen;
    uint32_t extlen = utf8_cut(ext, len - stem, room);
    stem = utf8_cut(name, stem, room - extlen);
    memcpy(out, name, stem);
    memcpy(out + stem, mid, midlen);
    memcpy(out + stem + midlen, ext, extlen);
    out[stem + midlen + extlen] = '\0';
    return stem + midlen + extlen;
}

static bool name_usable(const char *name, uint32_t len)
{
    return len > 0 && len <= META_NAME_MAX && !memchr(name, '/', len) && !memchr(name, '\0', len) &&
           !(len == 1 && name[0] == '.') && !(len == 2 && name[0] == '.' && name[1] == '.');
}

struct place {
    uint64_t parent;
    char base[META_NAME_MAX + 1];
    uint32_t baselen;
};

/* The hinted directory if (hint_parent, hint_name) still names the file;
 * otherwise the root (the file was renamed or the hint is stale), under the
 * hinted name, or "inode-N" when there is no usable hint. */
static int copy_place(struct apply_ctx *a, struct place *p)
{
    const struct cmd *c = a->c;
    p->parent = ROOT_INO;
    if (!name_usable(c->hint_name, c->hint_namelen)) {
        p->baselen =
            (uint32_t)snprintf(p->base, sizeof(p->base), "inode-%llu", (unsigned long long)c->ino);
        return 0;
    }
    memcpy(p->base, c->hint_name, c->hint_namelen);
    p->baselen = c->hint_namelen;
    struct meta_dirent e;
    int rc = meta_dirent_get(a->ms, a->txn, c->hint_parent, c->hint_name, c->hint_namelen, &e);
    if (rc == 0 && e.child == c->ino)
        p->parent = c->hint_parent;
    return rc == -ENOENT ? 0 : rc;
}

/* The node that made in's version: its tag, or 7 hex digits of its origin
 * when the command that made it carried no tag. */
static void version_tag(const struct meta_inode *in, char out[16])
{
    if (in->content_tag[0])
        snprintf(out, 16, "%s", in->content_tag);
    else
        snprintf(out, 16, "%07llX", (unsigned long long)(in->content_origin & 0xfffffff));
}

/* An empty regular file parent/name made by apply_create (name rules,
 * cookie, directory times, inode number); -EEXIST if the name is taken. */
static int link_new(struct apply_ctx *a, uint64_t parent, const char *name, uint32_t len,
                    struct meta_inode *out)
{
    struct cmd mk;
    struct apply_result r;
    memset(&mk, 0, sizeof(mk));
    memset(&r, 0, sizeof(r));
    mk.op = CMD_MKNOD;
    mk.origin = a->c->origin;
    mk.time = a->c->time;
    mk.ino = parent;
    mk.name = name;
    mk.namelen = len;
    mk.mode = S_IFREG | 0600; /* the real mode, owner and times are set after */
    struct apply_ctx sub = {a->ms, a->txn, &mk, &r};
    int rc = apply_create(&sub);
    if (!rc)
        *out = r.attr;
    return rc;
}

/* Links the copy under the first free name: plain, then -2 .. -COPY_TRIES,
 * then the copy's inode number (never reused). */
static int link_copy(struct apply_ctx *a, const struct meta_inode *in, const struct place *p,
                     struct meta_inode *cp, struct meta_conflict *cf)
{
    char st[32], tag[16], suffix[32] = "";
    stamp(a->c->time.sec, st);
    version_tag(in, tag);
    int rc = -EEXIST;
    for (int n = 1; rc == -EEXIST && n <= COPY_TRIES + 1; n++) {
        uint64_t next = 0;
        if (n > 1 && n <= COPY_TRIES)
            snprintf(suffix, sizeof(suffix), "-%d", n);
        else if (n > COPY_TRIES && (rc = meta_counter_get(a->ms, a->txn, "next_ino", &next)))
            return rc;
        else if (n > COPY_TRIES)
            snprintf(suffix, sizeof(suffix), "-i%llu", (unsigned long long)next);
        cf->namelen = copy_name(cf->name, p->base, p->baselen, st, tag, suffix);
        rc = link_new(a, p->parent, cf->name, cf->namelen, cp);
    }
    return rc;
}

struct ext_batch {
    struct meta_extent e[EXTENT_BATCH];
    int n;
};

static int collect(void *ctx, const struct meta_extent *e)
{
    struct ext_batch *b = ctx;
    b->e[b->n++] = *e;
    return b->n == EXTENT_BATCH ? -EAGAIN : 0;
}

/* Every extent of from also in to: the chunks are shared (one more
 * reference each), nothing is copied. Batched so that no insert runs while
 * a cursor walks the same DB. */
static int share_extents(struct apply_ctx *a, uint64_t from, uint64_t to)
{
    struct ext_batch b;
    uint64_t pos = 0;
    for (;;) {
        b.n = 0;
        int walk = meta_map_foreach(a->ms, a->txn, from, pos, UINT64_MAX, collect, &b);
        if (walk && walk != -EAGAIN)
            return walk;
        for (int i = 0; i < b.n; i++) {
            int rc = meta_map_insert(a->ms, a->txn, to, &b.e[i]);
            if (rc)
                return rc;
        }
        if (walk != -EAGAIN)
            return 0;
        pos = b.e[b.n - 1].off + b.e[b.n - 1].len;
    }
}

int apply_conflict_copy(struct apply_ctx *a, const struct meta_inode *in)
{
    const struct cmd *c = a->c;
    struct place p;
    struct meta_inode cp;
    struct meta_conflict cf;
    memset(&cf, 0, sizeof(cf));
    int rc = copy_place(a, &p);
    if (!rc)
        rc = link_copy(a, in, &p, &cp, &cf);
    if (!rc)
        rc = share_extents(a, in->ino, cp.ino);
    if (rc)
        return rc;
    cp.mode = in->mode;
    cp.uid = in->uid;
    cp.gid = in->gid;
    cp.size = in->size;
    cp.alloc = in->alloc;
    cp.atime = in->atime;
    cp.mtime = in->mtime;
    cp.content_ver = in->content_ver;
    cp.content_origin = in->content_origin;
    memcpy(cp.content_tag, in->content_tag, sizeof(cp.content_tag));
    rc = meta_inode_put(a->ms, a->txn, &cp);
    if (rc)
        return rc;
    cf.copy_ino = cp.ino;
    cf.orig_ino = in->ino;
    cf.parent = p.parent;
    cf.copy_origin = in->content_origin;
    cf.win_origin = c->origin;
    memcpy(cf.copy_tag, in->content_tag, sizeof(cf.copy_tag));
    memcpy(cf.win_tag, c->tag, sizeof(cf.win_tag));
    cf.time = c->time;
    a->res->copy_parent = p.parent;
    return meta_conflict_put(a->ms, a->txn, &cf);
}

int apply_conflict_forget(struct apply_ctx *a, uint64_t ino)
{
    return meta_conflict_del(a->ms, a->txn, ino);
}
