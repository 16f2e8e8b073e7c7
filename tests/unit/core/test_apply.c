/* apply_cmd() on its own: every op's success and error cases, nlink,
 * rename cases, ownership rules, refcounts and the GC queue, determinism. */
#include "fs/core/apply.h"
#include "fs/core/core.h"
#include "fs/store/meta_dir.h"
#include "fs/store/meta_map.h"
#include "helpers.h"

#include "tests/unit/scratch.h"
#include <errno.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>

static char *dir;
static struct meta_store *ms;
static uint64_t clock_sec = 1000;

static void setup(void)
{
    dir = tmpdir_make("apply");
    ck_assert_ptr_nonnull(dir);
    ck_assert_int_eq(meta_store_open(dir, &ms), 0);
}

static void teardown(void)
{
    meta_store_close(ms);
    tmpdir_remove(dir);
}

static struct cmd base(uint8_t op, uint32_t uid, uint32_t gid)
{
    struct cmd c;
    memset(&c, 0, sizeof(c));
    c.op = op;
    c.time.sec = (int64_t)++clock_sec;
    c.cred.uid = uid;
    c.cred.gid = gid;
    return c;
}

static int run_on(struct meta_store *m, const struct cmd *c, struct apply_result *res)
{
    MDB_txn *txn;
    struct apply_result local;
    res = res ? res : &local;
    ck_assert_int_eq(meta_txn_write(m, &txn), 0);
    ck_assert_int_eq(apply_cmd(m, txn, c, res), 0);
    ck_assert_int_eq(mdb_txn_commit(txn), 0);
    return res->err;
}

static int run(const struct cmd *c, struct apply_result *res)
{
    return run_on(ms, c, res);
}

static void init_root(struct meta_store *m)
{
    struct cmd c = base(CMD_INIT, 0, 0);
    c.mode = 0755;
    ck_assert_int_eq(run_on(m, &c, NULL), 0);
}

static int create_as(uint8_t op, uint64_t parent, const char *name, uint32_t mode, uint32_t uid,
                     uint32_t gid, uint64_t *ino)
{
    struct cmd c = base(op, uid, gid);
    struct apply_result res;
    c.ino = parent;
    c.name = name;
    c.namelen = (uint32_t)strlen(name);
    c.mode = mode;
    if (op == CMD_SYMLINK) {
        c.data = (const uint8_t *)"target";
        c.datalen = 6;
    }
    int rc = run(&c, &res);
    if (!rc && ino)
        *ino = res.attr.ino;
    return rc;
}

static int create(uint8_t op, uint64_t parent, const char *name, uint64_t *ino)
{
    uint32_t mode = op == CMD_MKDIR ? 0755 : S_IFREG | 0644;
    return create_as(op, parent, name, mode, 0, 0, ino);
}

static int names(uint8_t op, uint64_t p1, const char *n1, uint64_t p2, const char *n2,
                 uint32_t flags)
{
    struct cmd c = base(op, 0, 0);
    c.ino = p1;
    c.name = n1;
    c.namelen = n1 ? (uint32_t)strlen(n1) : 0;
    c.ino2 = p2;
    c.name2 = n2;
    c.name2len = n2 ? (uint32_t)strlen(n2) : 0;
    c.flags = flags;
    return run(&c, NULL);
}

static struct meta_inode inode(uint64_t ino)
{
    MDB_txn *txn;
    struct meta_inode in;
    memset(&in, 0, sizeof(in));
    ck_assert_int_eq(meta_txn_read(ms, &txn), 0);
    int rc = meta_inode_get(ms, txn, ino, &in);
    mdb_txn_abort(txn);
    if (rc)
        in.nlink = 9999; /* absent */
    return in;
}

static bool exists(uint64_t ino)
{
    return inode(ino).nlink != 9999;
}

static int lookup(uint64_t parent, const char *name, uint64_t *child)
{
    MDB_txn *txn;
    struct meta_dirent e;
    ck_assert_int_eq(meta_txn_read(ms, &txn), 0);
    int rc = meta_dirent_get(ms, txn, parent, name, strlen(name), &e);
    mdb_txn_abort(txn);
    if (!rc && child)
        *child = e.child;
    return rc;
}

START_TEST(create_ops)
{
    uint64_t f, d, s, n;
    init_root(ms);
    ck_assert_int_eq(create(CMD_MKNOD, 1, "f", &f), 0);
    ck_assert_int_eq(create(CMD_MKDIR, 1, "d", &d), 0);
    ck_assert_int_eq(create(CMD_SYMLINK, 1, "s", &s), 0);
    ck_assert_int_eq(create_as(CMD_MKNOD, 1, "fifo", S_IFIFO | 0600, 0, 0, &n), 0);
    ck_assert(f != d && d != s && s != n && f > 1);
    ck_assert_uint_eq(inode(1).nlink, 3); /* '.', '..', d's '..' */
    ck_assert_uint_eq(inode(d).nlink, 2);
    ck_assert(S_ISLNK(inode(s).mode));
    ck_assert_uint_eq(inode(s).size, 6);
    ck_assert(S_ISFIFO(inode(n).mode));
    ck_assert_int_eq(create(CMD_MKNOD, 1, "f", NULL), -EEXIST);
    ck_assert_int_eq(create(CMD_MKDIR, 1, "f", NULL), -EEXIST);
    ck_assert_int_eq(create(CMD_MKNOD, 999, "x", NULL), -ENOENT);
    ck_assert_int_eq(create(CMD_MKNOD, f, "x", NULL), -ENOTDIR);
    char longname[300];
    memset(longname, 'a', 256);
    longname[256] = 0;
    ck_assert_int_eq(create(CMD_MKNOD, 1, longname, NULL), -ENAMETOOLONG);
    longname[255] = 0;
    ck_assert_int_eq(create(CMD_MKNOD, 1, longname, NULL), 0);
    ck_assert_int_eq(create(CMD_MKNOD, 1, "a/b", NULL), -EINVAL);
    ck_assert_int_eq(create_as(CMD_MKNOD, 1, "dir?", S_IFDIR | 0755, 0, 0, NULL), -EINVAL);
    /* the mtime of the parent moved with each create */
    ck_assert_int_eq(inode(1).mtime.sec, (int64_t)clock_sec - 2);
}
END_TEST

START_TEST(links_and_removal)
{
    uint64_t f, d, g;
    init_root(ms);
    ck_assert_int_eq(create(CMD_MKNOD, 1, "f", &f), 0);
    ck_assert_int_eq(create(CMD_MKDIR, 1, "d", &d), 0);
    ck_assert_int_eq(names(CMD_LINK, f, NULL, d, "f2", 0), 0);
    ck_assert_int_eq(names(CMD_LINK, f, NULL, 1, "f3", 0), 0);
    ck_assert_uint_eq(inode(f).nlink, 3);
    ck_assert_int_eq(names(CMD_LINK, d, NULL, 1, "d2", 0), -EPERM);
    ck_assert_int_eq(names(CMD_LINK, f, NULL, 1, "d", 0), -EEXIST);
    ck_assert_int_eq(names(CMD_UNLINK, 1, "f", 0, NULL, 0), 0);
    ck_assert_uint_eq(inode(f).nlink, 2);
    ck_assert_int_eq(names(CMD_UNLINK, 1, "f", 0, NULL, 0), -ENOENT);
    ck_assert_int_eq(names(CMD_UNLINK, 1, "d", 0, NULL, 0), -EISDIR);
    ck_assert_int_eq(names(CMD_RMDIR, 1, "f3", 0, NULL, 0), -ENOTDIR);
    ck_assert_int_eq(names(CMD_RMDIR, 1, "d", 0, NULL, 0), -ENOTEMPTY);
    ck_assert_int_eq(names(CMD_UNLINK, d, "f2", 0, NULL, 0), 0);
    ck_assert_int_eq(names(CMD_UNLINK, 1, "f3", 0, NULL, CMD_KEEP_ORPHAN), 0);
    ck_assert(exists(f)); /* an orphan: kept for its open files */
    ck_assert_uint_eq(inode(f).nlink, 0);
    struct cmd reap = base(CMD_REAP, 0, 0);
    reap.ino = f;
    ck_assert_int_eq(run(&reap, NULL), 0);
    ck_assert(!exists(f));
    ck_assert_int_eq(create(CMD_MKDIR, d, "sub", &g), 0);
    ck_assert_uint_eq(inode(d).nlink, 3);
    ck_assert_int_eq(names(CMD_RMDIR, d, "sub", 0, NULL, 0), 0);
    ck_assert_uint_eq(inode(d).nlink, 2);
    ck_assert(!exists(g));
    ck_assert_int_eq(names(CMD_RMDIR, 1, "d", 0, NULL, 0), 0);
    ck_assert_uint_eq(inode(1).nlink, 2);
}
END_TEST

START_TEST(rename_cases)
{
    uint64_t a, b, d, e, sub, x;
    init_root(ms);
    ck_assert_int_eq(create(CMD_MKNOD, 1, "a", &a), 0);
    ck_assert_int_eq(create(CMD_MKNOD, 1, "b", &b), 0);
    ck_assert_int_eq(create(CMD_MKDIR, 1, "d", &d), 0);
    ck_assert_int_eq(create(CMD_MKDIR, 1, "e", &e), 0);
    ck_assert_int_eq(create(CMD_MKDIR, d, "sub", &sub), 0);
    /* missing source, NOREPLACE, over a file (the victim is freed) */
    ck_assert_int_eq(names(CMD_RENAME, 1, "zz", 1, "y", 0), -ENOENT);
    ck_assert_int_eq(names(CMD_RENAME, 1, "a", 1, "b", RENAME_NOREPLACE), -EEXIST);
    ck_assert_int_eq(names(CMD_RENAME, 1, "a", 1, "b", 0), 0);
    ck_assert(!exists(b));
    ck_assert_int_eq(lookup(1, "b", &x), 0);
    ck_assert_uint_eq(x, a);
    ck_assert_int_eq(lookup(1, "a", NULL), -ENOENT);
    /* directory rules */
    ck_assert_int_eq(names(CMD_RENAME, 1, "d", 1, "b", 0), -ENOTDIR);
    ck_assert_int_eq(names(CMD_RENAME, 1, "b", 1, "d", 0), -EISDIR);
    ck_assert_int_eq(names(CMD_RENAME, 1, "e", 1, "d", 0), -ENOTEMPTY);
    ck_assert_int_eq(names(CMD_RENAME, 1, "d", sub, "x", 0), -EINVAL);
    ck_assert_int_eq(names(CMD_RENAME, 1, "d", d, "x", 0), -EINVAL);
    /* over an empty directory, moving across parents: nlink of both */
    ck_assert_int_eq(names(CMD_RENAME, d, "sub", 1, "e", 0), 0);
    ck_assert(!exists(e));
    ck_assert_uint_eq(inode(d).nlink, 2);
    ck_assert_uint_eq(inode(1).nlink, 4); /* d, e(=sub) */
    ck_assert_uint_eq(inode(sub).parent, 1);
    /* exchange a file and a directory across parents */
    ck_assert_int_eq(names(CMD_RENAME, 1, "b", d, "nothing", RENAME_EXCHANGE), -ENOENT);
    ck_assert_int_eq(create(CMD_MKNOD, d, "f", &x), 0);
    ck_assert_int_eq(names(CMD_RENAME, 1, "e", d, "f", RENAME_EXCHANGE), 0);
    uint64_t got;
    ck_assert_int_eq(lookup(d, "f", &got), 0);
    ck_assert_uint_eq(got, sub);
    ck_assert_int_eq(lookup(1, "e", &got), 0);
    ck_assert_uint_eq(got, x);
    ck_assert_uint_eq(inode(d).nlink, 3);
    ck_assert_uint_eq(inode(1).nlink, 3);
    ck_assert_uint_eq(inode(sub).parent, d);
    ck_assert_int_eq(names(CMD_RENAME, 1, "e", 1, "e", 0), 0); /* same entry: nothing */
    ck_assert_int_eq(names(CMD_RENAME, 1, "b", 1, "c", RENAME_EXCHANGE | RENAME_NOREPLACE),
                     -EINVAL);
}
END_TEST

/* The directories a rename moved, for other nodes' walkers (dir_moves.h):
 * within one directory as well as across. */
static struct apply_result rename_res(uint64_t p1, const char *n1, uint64_t p2, const char *n2,
                                      uint32_t flags)
{
    struct cmd c = base(CMD_RENAME, 0, 0);
    struct apply_result res;
    c.ino = p1;
    c.name = n1;
    c.namelen = (uint32_t)strlen(n1);
    c.ino2 = p2;
    c.name2 = n2;
    c.name2len = (uint32_t)strlen(n2);
    c.flags = flags;
    ck_assert_int_eq(run(&c, &res), 0);
    return res;
}

START_TEST(rename_reports_moved_dirs)
{
    uint64_t d, e, f;
    init_root(ms);
    ck_assert_int_eq(create(CMD_MKDIR, 1, "d", &d), 0);
    ck_assert_int_eq(create(CMD_MKDIR, 1, "e", &e), 0);
    ck_assert_int_eq(create(CMD_MKNOD, 1, "f", &f), 0);
    struct apply_result r = rename_res(1, "d", 1, "d2", 0); /* within the root */
    ck_assert_uint_eq(r.moved_dirs[0], d);
    ck_assert_uint_eq(r.moved_dirs[1], 0);
    r = rename_res(1, "d2", e, "d3", 0); /* to another parent */
    ck_assert_uint_eq(r.moved_dirs[0], d);
    r = rename_res(1, "f", 1, "f2", 0); /* a file: nothing to walk */
    ck_assert_uint_eq(r.moved_dirs[0], 0);
    r = rename_res(1, "f2", 1, "e", RENAME_EXCHANGE); /* within the root */
    ck_assert_uint_eq(r.moved_dirs[0], 0);
    ck_assert_uint_eq(r.moved_dirs[1], e);
}
END_TEST

START_TEST(rename_keeps_cookie_in_dir)
{
    MDB_txn *txn;
    struct meta_dirent e1, e2;
    init_root(ms);
    ck_assert_int_eq(create(CMD_MKNOD, 1, "a", NULL), 0);
    ck_assert_int_eq(meta_txn_read(ms, &txn), 0);
    ck_assert_int_eq(meta_dirent_get(ms, txn, 1, "a", 1, &e1), 0);
    mdb_txn_abort(txn);
    ck_assert_int_eq(names(CMD_RENAME, 1, "a", 1, "zz", 0), 0);
    ck_assert_int_eq(meta_txn_read(ms, &txn), 0);
    ck_assert_int_eq(meta_dirent_get(ms, txn, 1, "zz", 2, &e2), 0);
    mdb_txn_abort(txn);
    ck_assert_uint_eq(e1.cookie, e2.cookie);
}
END_TEST

START_TEST(ownership_rules)
{
    uint64_t sg, f, sub, g;
    init_root(ms);
    ck_assert_int_eq(create_as(CMD_MKDIR, 1, "sg", 02775, 0, 50, &sg), 0);
    ck_assert(inode(sg).mode & S_ISGID);
    ck_assert_int_eq(create_as(CMD_MKNOD, sg, "f", S_IFREG | 0644, 1000, 100, &f), 0);
    ck_assert_uint_eq(inode(f).gid, 50);
    ck_assert_uint_eq(inode(f).uid, 1000);
    ck_assert_int_eq(create_as(CMD_MKDIR, sg, "sub", 0755, 1000, 100, &sub), 0);
    ck_assert_uint_eq(inode(sub).gid, 50);
    ck_assert(inode(sub).mode & S_ISGID);
    /* a non-member creating a setgid file does not get setgid */
    ck_assert_int_eq(create_as(CMD_MKNOD, sg, "g", S_IFREG | 02755, 1000, 100, &g), 0);
    ck_assert(!(inode(g).mode & S_ISGID));

    struct cmd c = base(CMD_SETATTR, 2000, 2000);
    c.ino = f;
    c.flags = CORE_SET_MODE;
    c.mode = 0600;
    ck_assert_int_eq(run(&c, NULL), -EPERM); /* chmod by another user */
    c.cred.uid = 1000;
    c.cred.gid = 100;
    c.mode = 06755;
    ck_assert_int_eq(run(&c, NULL), 0);
    ck_assert_uint_eq(inode(f).mode & 07777, 04755); /* not in group 50: sgid dropped */
    struct cmd drop = c; /* the kernel's kill-priv on a write by anyone: allowed */
    drop.cred.uid = 2000;
    drop.mode = 0755;
    ck_assert_int_eq(run(&drop, NULL), 0);
    ck_assert_uint_eq(inode(f).mode & 07777, 0755);
    drop.mode = 04755; /* but not adding them back */
    ck_assert_int_eq(run(&drop, NULL), -EPERM);
    ck_assert_int_eq(run(&c, NULL), 0);
    c.flags = CORE_SET_UID;
    c.uid = 0;
    ck_assert_int_eq(run(&c, NULL), -EPERM); /* give away */
    c.flags = CORE_SET_GID;
    c.gid = 7;
    ck_assert_int_eq(run(&c, NULL), -EPERM); /* not a member of 7 */
    c.cred.ngroups = 1;
    c.cred.groups[0] = 7;
    ck_assert_int_eq(run(&c, NULL), 0);
    ck_assert_uint_eq(inode(f).gid, 7);
    ck_assert(!(inode(f).mode & S_ISUID)); /* chown clears setuid */
    /* utimens: explicit times need the owner; NOW needs write access */
    c = base(CMD_SETATTR, 2000, 2000);
    c.ino = f;
    c.flags = CORE_SET_MTIME;
    c.mtime.sec = 5;
    ck_assert_int_eq(run(&c, NULL), -EPERM);
    c.flags = CORE_SET_MTIME | CORE_SET_MTIME_NOW;
    ck_assert_int_eq(run(&c, NULL), -EACCES);
    c.cred.uid = 1000;
    c.flags = CORE_SET_MTIME;
    ck_assert_int_eq(run(&c, NULL), 0);
    ck_assert_int_eq(inode(f).mtime.sec, 5);
}
END_TEST

START_TEST(xattr_rules)
{
    uint64_t f;
    init_root(ms);
    ck_assert_int_eq(create(CMD_MKNOD, 1, "f", &f), 0);
    struct cmd c = base(CMD_SETXATTR, 0, 0);
    c.ino = f;
    c.name = "user.k";
    c.namelen = 6;
    c.data = (const uint8_t *)"v1";
    c.datalen = 2;
    c.flags = XATTR_REPLACE;
    ck_assert_int_eq(run(&c, NULL), -ENODATA);
    c.flags = XATTR_CREATE;
    ck_assert_int_eq(run(&c, NULL), 0);
    ck_assert_int_eq(run(&c, NULL), -EEXIST);
    c.flags = 0;
    ck_assert_int_eq(run(&c, NULL), 0);
    c.op = CMD_REMOVEXATTR;
    ck_assert_int_eq(run(&c, NULL), 0);
    ck_assert_int_eq(run(&c, NULL), -ENODATA);
    c.ino = 12345;
    ck_assert_int_eq(run(&c, NULL), -ENOENT);
}
END_TEST

static int content(uint64_t ino, uint64_t start, uint64_t end, const struct meta_extent *ext,
                   uint32_t n, uint64_t min_size)
{
    uint8_t range[CMD_RANGE_LEN], raw[8 * CMD_EXTENT_LEN];
    struct cmd c = base(CMD_CONTENT, 0, 0);
    c.ino = ino;
    c.flags = CMD_CONTENT_MTIME;
    c.min_size = min_size;
    cmd_range_put(range, 0, start, end);
    c.n_ranges = start < end;
    c.ranges = range;
    for (uint32_t i = 0; i < n; i++)
        cmd_extent_put(raw, i, &ext[i]);
    c.n_ext = n;
    c.extents = raw;
    return run(&c, NULL);
}

static uint64_t refs(const uint8_t *hash)
{
    MDB_txn *txn;
    uint64_t n;
    ck_assert_int_eq(meta_txn_read(ms, &txn), 0);
    ck_assert_int_eq(meta_ref_get(ms, txn, hash, &n), 0);
    mdb_txn_abort(txn);
    return n;
}

static int gc_queued(void)
{
    MDB_txn *txn;
    uint8_t h[16][SHA256_LEN];
    ck_assert_int_eq(meta_txn_read(ms, &txn), 0);
    int n = meta_gc_list(ms, txn, h, 16);
    mdb_txn_abort(txn);
    return n;
}

START_TEST(refcounts_and_gc_queue)
{
    uint64_t f, g;
    init_root(ms);
    ck_assert_int_eq(create(CMD_MKNOD, 1, "f", &f), 0);
    ck_assert_int_eq(create(CMD_MKNOD, 1, "g", &g), 0);
    struct meta_extent e[2] = {{.off = 0, .coff = 0, .len = 1000}, {.off = 1000, .len = 500}};
    memset(e[0].hash, 0xaa, SHA256_LEN);
    memset(e[1].hash, 0xbb, SHA256_LEN);
    ck_assert_int_eq(content(f, 0, 1500, e, 2, 1500), 0);
    ck_assert_int_eq(content(g, 0, 1000, e, 1, 1000), 0);
    ck_assert_uint_eq(refs(e[0].hash), 2);
    ck_assert_uint_eq(inode(f).size, 1500);
    ck_assert_uint_eq(inode(f).alloc, 1500);
    /* bad commands change nothing */
    ck_assert_int_eq(content(f, 0, 10, e, 2, 0), -EINVAL);    /* extent outside the range */
    ck_assert_int_eq(content(1, 0, 10, NULL, 0, 0), -EISDIR); /* a directory */
    /* punch the middle of the first extent: two views of one chunk */
    ck_assert_int_eq(content(f, 100, 200, NULL, 0, 0), 0);
    ck_assert_uint_eq(refs(e[0].hash), 3);
    ck_assert_uint_eq(inode(f).alloc, 1400);
    /* truncate to 150: the head view is trimmed, the rest dropped */
    struct cmd t = base(CMD_SETATTR, 0, 0);
    t.ino = f;
    t.flags = CORE_SET_SIZE;
    t.size = 150;
    ck_assert_int_eq(run(&t, NULL), 0);
    ck_assert_uint_eq(refs(e[0].hash), 2);
    ck_assert_uint_eq(refs(e[1].hash), 0);
    ck_assert_int_eq(gc_queued(), 1);
    ck_assert_uint_eq(inode(f).alloc, 100);
    ck_assert_int_eq(names(CMD_UNLINK, 1, "f", 0, NULL, 0), 0);
    ck_assert_int_eq(names(CMD_UNLINK, 1, "g", 0, NULL, 0), 0);
    ck_assert_uint_eq(refs(e[0].hash), 0);
    ck_assert_int_eq(gc_queued(), 2);
    /* referenced again before collection: leaves the queue */
    uint64_t h;
    ck_assert_int_eq(create(CMD_MKNOD, 1, "h", &h), 0);
    ck_assert_int_eq(content(h, 0, 1000, e, 1, 1000), 0);
    ck_assert_int_eq(gc_queued(), 1);
}
END_TEST

/* Digest of every key and value of every DB. */
static void digest(struct meta_store *m, uint8_t out[SHA256_LEN])
{
    MDB_txn *txn;
    size_t cap = 1 << 20, len = 0;
    uint8_t *all = malloc(cap);
    ck_assert_int_eq(meta_txn_read(m, &txn), 0);
    for (int d = 0; d < META_DB_COUNT; d++) {
        MDB_cursor *cur;
        MDB_val k, v;
        ck_assert_int_eq(mdb_cursor_open(txn, m->dbi[d], &cur), 0);
        while (mdb_cursor_get(cur, &k, &v, MDB_NEXT) == 0) {
            ck_assert(len + k.mv_size + v.mv_size <= cap);
            memcpy(all + len, k.mv_data, k.mv_size);
            len += k.mv_size;
            memcpy(all + len, v.mv_data, v.mv_size);
            len += v.mv_size;
        }
        mdb_cursor_close(cur);
    }
    mdb_txn_abort(txn);
    sha256(all, len, out);
    free(all);
}

START_TEST(deterministic)
{
    char *dir2 = tmpdir_make("apply2");
    struct meta_store *ms2;
    ck_assert_int_eq(meta_store_open(dir2, &ms2), 0);
    struct meta_store *stores[2] = {ms, ms2};
    for (int s = 0; s < 2; s++) {
        clock_sec = 5000;
        ms = stores[s];
        init_root(ms);
        uint64_t d;
        ck_assert_int_eq(create(CMD_MKDIR, 1, "d", &d), 0);
        for (int i = 0; i < 50; i++) {
            char n[16];
            snprintf(n, sizeof(n), "f%d", i);
            ck_assert_int_eq(create(CMD_MKNOD, d, n, NULL), 0);
            if (i % 3 == 0)
                ck_assert_int_eq(names(CMD_RENAME, d, n, 1, n, 0), 0);
            if (i % 5 == 0)
                ck_assert_int_eq(names(CMD_UNLINK, i % 3 ? d : 1, n, 0, NULL, 0), 0);
        }
    }
    ms = stores[0];
    uint8_t a[SHA256_LEN], b[SHA256_LEN];
    digest(ms, a);
    digest(ms2, b);
    ck_assert_mem_eq(a, b, SHA256_LEN);
    meta_store_close(ms2);
    tmpdir_remove(dir2);
}
END_TEST

START_TEST(batch_with_failures_matches_one_by_one)
{
    /* a batch where some commands fail: every result, and the store, must be
     * exactly those of applying them one at a time */
    init_root(ms);
    static const char *n[] = {"a", "b", "a", "c", "b", "d"};
    struct cmd cmds[6];
    struct apply_result res[6];
    struct apply_item items[6];
    for (int i = 0; i < 6; i++) {
        cmds[i] = base(i == 4 ? CMD_UNLINK : CMD_MKNOD, 0, 0);
        cmds[i].ino = 1;
        cmds[i].name = n[i];
        cmds[i].namelen = 1;
        cmds[i].mode = S_IFREG | 0600;
        items[i] = (struct apply_item){&cmds[i], &res[i]};
    }
    cmds[5].ino = 4242; /* no such parent */
    uint64_t applied = 7;
    ck_assert_int_eq(apply_batch(ms, items, 6, &applied), 0);
    ck_assert_uint_eq(applied, 13);
    int want[] = {0, 0, -EEXIST, 0, 0, -ENOENT};
    for (int i = 0; i < 6; i++)
        ck_assert_int_eq(res[i].err, want[i]);
    ck_assert_int_eq(lookup(1, "a", NULL), 0);
    ck_assert_int_eq(lookup(1, "b", NULL), -ENOENT);
    ck_assert_int_eq(lookup(1, "c", NULL), 0);
    ck_assert_uint_eq(res[3].attr.ino, res[1].attr.ino + 1); /* numbers as one by one */
}
END_TEST

int main(void)
{
    Suite *s = suite_create("apply");
    TCase *tc = tcase_create("apply");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, create_ops);
    tcase_add_test(tc, links_and_removal);
    tcase_add_test(tc, rename_cases);
    tcase_add_test(tc, rename_reports_moved_dirs);
    tcase_add_test(tc, rename_keeps_cookie_in_dir);
    tcase_add_test(tc, ownership_rules);
    tcase_add_test(tc, xattr_rules);
    tcase_add_test(tc, refcounts_and_gc_queue);
    tcase_add_test(tc, deterministic);
    tcase_add_test(tc, batch_with_failures_matches_one_by_one);
    suite_add_tcase(s, tc);
    return scratch_run(s);
}
