/* Conflict copies at apply level (two origins in one store), the content
 * version in inode records (and old records), the command fields, and a
 * core-level check that one node's own writes never make a copy. */
#include "fs/core/apply.h"
#include "fs/core/core.h"
#include "fs/core/core_internal.h"
#include "fs/core/staging.h"
#include "fs/store/meta_conflict.h"
#include "fs/store/meta_dir.h"
#include "fs/store/meta_map.h"
#include "helpers.h"

#include "common/bytes.h"
#include "tests/unit/scratch.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define NODE_A 0x1111
#define NODE_B 0x2222
#define T0     1764173848 /* 2025-11-26 16:17:28 UTC */

static char *dir;
static struct meta_store *ms;
static int64_t clock_sec = T0;

static void setup(void)
{
    dir = tmpdir_make("conflict");
    ck_assert_ptr_nonnull(dir);
    ck_assert_int_eq(meta_store_open(dir, &ms), 0);
}

static void teardown(void)
{
    meta_store_close(ms);
    tmpdir_remove(dir);
}

static struct cmd base(uint8_t op, uint64_t origin)
{
    struct cmd c;
    memset(&c, 0, sizeof(c));
    c.op = op;
    c.origin = origin;
    c.time.sec = clock_sec++;
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
    struct cmd c = base(CMD_INIT, NODE_A);
    c.mode = 0755;
    ck_assert_int_eq(run_on(m, &c, NULL), 0);
}

static uint64_t create_on(struct meta_store *m, uint8_t op, uint64_t parent, const char *name)
{
    struct cmd c = base(op, NODE_A);
    struct apply_result res;
    c.ino = parent;
    c.name = name;
    c.namelen = (uint32_t)strlen(name);
    c.mode = op == CMD_MKDIR ? 0755 : S_IFREG | 0640;
    c.cred.uid = 1000;
    c.cred.gid = 100;
    ck_assert_int_eq(run_on(m, &c, &res), 0);
    return res.attr.ino;
}

static uint64_t create(uint8_t op, uint64_t parent, const char *name)
{
    return create_on(ms, op, parent, name);
}

/* A writer's content commit: [start, end) replaced by one extent of a
 * chunk filled with byte fill, from node origin (tag), having started
 * from version base_ver and seen the file as parent/name. */
struct write {
    uint64_t origin;
    const char *tag;
    uint64_t base_ver;
    uint64_t parent;
    const char *name;
    bool no_base;
};

static void hash_of(uint8_t fill, uint8_t out[SHA256_LEN])
{
    memset(out, fill, SHA256_LEN);
}

static int write_on(struct meta_store *m, uint64_t ino, const struct write *w, uint64_t start,
                    uint64_t end, uint8_t fill, struct apply_result *res)
{
    uint8_t range[CMD_RANGE_LEN], ext[CMD_EXTENT_LEN];
    struct cmd c = base(CMD_CONTENT, w->origin);
    struct meta_extent e = {.off = start, .coff = 0, .len = (uint32_t)(end - start)};
    hash_of(fill, e.hash);
    c.ino = ino;
    c.flags = CMD_CONTENT_MTIME | (w->no_base ? 0 : CMD_CONTENT_BASE);
    c.min_size = end;
    c.base_ver = w->base_ver;
    c.hint_parent = w->parent;
    c.hint_name = w->name;
    c.hint_namelen = w->name ? (uint32_t)strlen(w->name) : 0;
    if (w->tag)
        cmd_set_tag(&c, w->tag);
    cmd_range_put(range, 0, start, end);
    cmd_extent_put(ext, 0, &e);
    c.n_ranges = 1;
    c.ranges = range;
    c.n_ext = 1;
    c.extents = ext;
    return run_on(m, &c, res);
}

static int write_(uint64_t ino, const struct write *w, uint64_t start, uint64_t end, uint8_t fill)
{
    return write_on(ms, ino, w, start, end, fill, NULL);
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

/* ino of parent/name, 0 if absent. */
static uint64_t child(uint64_t parent, const char *name)
{
    MDB_txn *txn;
    struct meta_dirent e;
    ck_assert_int_eq(meta_txn_read(ms, &txn), 0);
    int rc = meta_dirent_get(ms, txn, parent, name, strlen(name), &e);
    mdb_txn_abort(txn);
    return rc ? 0 : e.child;
}

static uint64_t refs(uint8_t fill)
{
    MDB_txn *txn;
    uint64_t n;
    uint8_t h[SHA256_LEN];
    hash_of(fill, h);
    ck_assert_int_eq(meta_txn_read(ms, &txn), 0);
    ck_assert_int_eq(meta_ref_get(ms, txn, h, &n), 0);
    mdb_txn_abort(txn);
    return n;
}

/* The chunk map of ino as "off+len:fill@coff " items. */
struct map_str {
    char s[512];
};
static int map_item(void *ctx, const struct meta_extent *e)
{
    struct map_str *m = ctx;
    size_t n = strlen(m->s);
    snprintf(m->s + n, sizeof(m->s) - n, "%llu+%u:%02x@%u ", (unsigned long long)e->off, e->len,
             e->hash[0], e->coff);
    return 0;
}
static struct map_str map_of(uint64_t ino)
{
    struct map_str m = {""};
    MDB_txn *txn;
    ck_assert_int_eq(meta_txn_read(ms, &txn), 0);
    ck_assert_int_eq(meta_map_foreach(ms, txn, ino, 0, UINT64_MAX, map_item, &m), 0);
    mdb_txn_abort(txn);
    return m;
}

struct records {
    int n;
    struct meta_conflict last;
};
static int count_record(void *ctx, const struct meta_conflict *cf)
{
    struct records *r = ctx;
    r->n++;
    r->last = *cf;
    return 0;
}
static struct records records(void)
{
    struct records r = {0};
    MDB_txn *txn;
    ck_assert_int_eq(meta_txn_read(ms, &txn), 0);
    ck_assert_int_eq(meta_conflict_foreach(ms, txn, count_record, &r), 0);
    mdb_txn_abort(txn);
    return r;
}

/* The expected copy name for a commit at time t, from libc's gmtime_r. */
static void expect_name(char *out, size_t cap, const char *stem, int64_t t, const char *tag,
                        const char *ext)
{
    struct tm tm;
    time_t tt = (time_t)t;
    gmtime_r(&tt, &tm);
    snprintf(out, cap, "%s.conflict-%04d%02d%02d-%02d%02d%02d-%s%s", stem, tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, tag, ext);
}

static int names(uint8_t op, uint64_t p1, const char *n1, uint64_t p2, const char *n2)
{
    struct cmd c = base(op, NODE_A);
    c.ino = p1;
    c.name = n1;
    c.namelen = (uint32_t)strlen(n1);
    c.ino2 = p2;
    c.name2 = n2;
    c.name2len = n2 ? (uint32_t)strlen(n2) : 0;
    return run(&c, NULL);
}

START_TEST(concurrent_writers_make_copy)
{
    init_root(ms);
    uint64_t d = create(CMD_MKDIR, 1, "d");
    uint64_t f = create(CMD_MKNOD, d, "a.txt");
    ck_assert_uint_eq(inode(f).content_ver, 0);
    struct write wa = {NODE_A, "AAAAAAA", 0, d, "a.txt", false};
    struct write wb = {NODE_B, "BBBBBBB", 0, d, "a.txt", false};
    ck_assert_int_eq(write_(f, &wa, 0, 1000, 0xaa), 0); /* A saw version 0: no conflict */
    struct meta_inode o = inode(f);
    ck_assert_uint_eq(o.content_ver, 1);
    ck_assert_uint_eq(o.content_origin, NODE_A);
    ck_assert_str_eq(o.content_tag, "AAAAAAA");
    ck_assert_int_eq(records().n, 0);

    int64_t t = clock_sec; /* B also started from version 0 */
    ck_assert_int_eq(write_(f, &wb, 0, 100, 0xbb), 0);
    char want[256];
    expect_name(want, sizeof(want), "a", t, "AAAAAAA", ".txt");
    uint64_t cp = child(d, want);
    ck_assert_uint_ne(cp, 0);
    ck_assert_uint_ne(cp, f);
    ck_assert_uint_eq(child(d, "a.txt"), f);
    /* both versions intact: A's whole in the copy; B's as B saw its file
     * (100 bytes written into the empty version 0), nothing of A's past it */
    ck_assert_str_eq(map_of(cp).s, "0+1000:aa@0 ");
    ck_assert_str_eq(map_of(f).s, "0+100:bb@0 ");
    ck_assert_uint_eq(refs(0xaa), 1);
    ck_assert_uint_eq(refs(0xbb), 1);
    struct meta_inode c = inode(cp);
    o = inode(f);
    ck_assert_uint_eq(c.size, 1000);
    ck_assert_uint_eq(c.alloc, 1000);
    ck_assert_uint_eq(c.mode, S_IFREG | 0640);
    ck_assert_uint_eq(c.uid, 1000);
    ck_assert_uint_eq(c.gid, 100);
    ck_assert_uint_eq(c.nlink, 1);
    ck_assert_uint_eq(c.content_origin, NODE_A);
    ck_assert_str_eq(c.content_tag, "AAAAAAA");
    ck_assert_uint_eq(o.size, 100);
    ck_assert_uint_eq(o.content_ver, 2);
    ck_assert_uint_eq(o.content_origin, NODE_B);
    ck_assert_str_eq(o.content_tag, "BBBBBBB");
    struct records r = records();
    ck_assert_int_eq(r.n, 1);
    ck_assert_uint_eq(r.last.copy_ino, cp);
    ck_assert_uint_eq(r.last.orig_ino, f);
    ck_assert_uint_eq(r.last.parent, d);
    ck_assert_uint_eq(r.last.copy_origin, NODE_A);
    ck_assert_uint_eq(r.last.win_origin, NODE_B);
    ck_assert_str_eq(r.last.copy_tag, "AAAAAAA");
    ck_assert_str_eq(r.last.win_tag, "BBBBBBB");
    ck_assert_str_eq(r.last.name, want);
    ck_assert_int_eq(r.last.time.sec, t);

    /* B goes on from its own result: no conflict; A, still on version 1,
     * conflicts again and B's version is the one moved aside */
    wb.base_ver = 2;
    ck_assert_int_eq(write_(f, &wb, 100, 200, 0xbc), 0);
    ck_assert_int_eq(records().n, 1);
    wa.base_ver = 1;
    t = clock_sec;
    ck_assert_int_eq(write_(f, &wa, 0, 50, 0xab), 0);
    ck_assert_int_eq(records().n, 2);
    expect_name(want, sizeof(want), "a", t, "BBBBBBB", ".txt");
    uint64_t cp2 = child(d, want);
    ck_assert_uint_ne(cp2, 0);
    ck_assert_str_eq(map_of(cp2).s, "0+100:bb@0 100+100:bc@0 ");
    ck_assert_str_eq(map_of(f).s, "0+50:ab@0 "); /* A's file as it saw it: 50 bytes */

    /* unlinking a copy drops its record and its references */
    ck_assert_int_eq(names(CMD_UNLINK, d, want, 0, NULL), 0);
    ck_assert_int_eq(records().n, 1);
    ck_assert_uint_eq(refs(0xbc), 0);
    ck_assert_uint_eq(refs(0xaa), 1);
}
END_TEST

START_TEST(names_keep_the_extension)
{
    static const char *const cases[][3] = {
        {"Makefile", "Makefile", ""},
        {".bashrc", "", ".bashrc"}, /* as Syncthing: the extension is from the last dot */
        {"a.tar.gz", "a.tar", ".gz"},
        {"trailing.", "trailing", "."},
    };
    init_root(ms);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint64_t f = create(CMD_MKNOD, 1, cases[i][0]);
        struct write wa = {NODE_A, "AAAAAAA", 0, 1, cases[i][0], false};
        struct write wb = {NODE_B, "BBBBBBB", 0, 1, cases[i][0], false};
        ck_assert_int_eq(write_(f, &wa, 0, 10, 0xaa), 0);
        int64_t t = clock_sec;
        ck_assert_int_eq(write_(f, &wb, 0, 10, 0xbb), 0);
        char want[256];
        expect_name(want, sizeof(want), cases[i][1], t, "AAAAAAA", cases[i][2]);
        ck_assert_msg(child(1, want) != 0, "no %s", want);
    }
    ck_assert_int_eq(records().n, 4);
}
END_TEST

START_TEST(taken_names_get_a_number)
{
    init_root(ms);
    uint64_t f = create(CMD_MKNOD, 1, "a.txt");
    struct write wa = {NODE_A, "AAAAAAA", 0, 1, "a.txt", false};
    struct write wb = {NODE_B, "BBBBBBB", 0, 1, "a.txt", false};
    ck_assert_int_eq(write_(f, &wa, 0, 10, 0xaa), 0);
    int64_t t = clock_sec + 2; /* after the two creates below */
    char taken[256], taken2[256], want[256];
    expect_name(taken, sizeof(taken), "a", t, "AAAAAAA", ".txt");
    expect_name(taken2, sizeof(taken2), "a", t, "AAAAAAA-2", ".txt");
    expect_name(want, sizeof(want), "a", t, "AAAAAAA-3", ".txt");
    create(CMD_MKNOD, 1, taken);
    create(CMD_MKDIR, 1, taken2);
    ck_assert_int_eq(write_(f, &wb, 0, 10, 0xbb), 0);
    uint64_t cp = child(1, want);
    ck_assert_uint_ne(cp, 0);
    ck_assert_str_eq(records().last.name, want);
    ck_assert_str_eq(map_of(cp).s, "0+10:aa@0 ");
}
END_TEST

/* Root entries, "." and ".." excluded. */
static int count_entry(void *ctx, const char *name, size_t len, const struct meta_dirent *e)
{
    (void)name, (void)len, (void)e;
    ++*(int *)ctx;
    return 0;
}
static int entries(uint64_t d)
{
    int n = 0;
    MDB_txn *txn;
    ck_assert_int_eq(meta_txn_read(ms, &txn), 0);
    ck_assert_int_eq(meta_dir_foreach(ms, txn, d, 0, count_entry, &n), 0);
    mdb_txn_abort(txn);
    return n;
}

START_TEST(no_conflict_without_concurrency)
{
    init_root(ms);
    uint64_t f = create(CMD_MKNOD, 1, "a");
    struct write wa = {NODE_A, "AAAAAAA", 0, 1, "a", false};
    struct write wb = {NODE_B, "BBBBBBB", 0, 1, "a", false};
    ck_assert_int_eq(write_(f, &wa, 0, 10, 0xaa), 0);
    ck_assert_int_eq(write_(f, &wa, 0, 10, 0xab), 0); /* same node, stale base */
    ck_assert_int_eq(write_(f, &wa, 10, 20, 0xac), 0);
    wb.base_ver = inode(f).content_ver; /* B saw the latest version */
    ck_assert_int_eq(write_(f, &wb, 0, 5, 0xbb), 0);
    wa.no_base = true; /* punch, fallocate, copy ranges: no base */
    ck_assert_int_eq(write_(f, &wa, 5, 10, 0xad), 0);
    ck_assert_int_eq(entries(1), 1);
    ck_assert_int_eq(records().n, 0);
    ck_assert_uint_eq(inode(f).content_ver, 5);
    ck_assert_str_eq(map_of(f).s, "0+5:bb@0 5+5:ad@0 10+10:ac@0 ");
}
END_TEST

START_TEST(stale_hint_falls_back_to_root)
{
    init_root(ms);
    uint64_t d = create(CMD_MKDIR, 1, "d");
    uint64_t f = create(CMD_MKNOD, d, "a.txt");
    struct write wa = {NODE_A, "AAAAAAA", 0, d, "a.txt", false};
    ck_assert_int_eq(write_(f, &wa, 0, 10, 0xaa), 0);
    ck_assert_int_eq(names(CMD_RENAME, d, "a.txt", d, "b.txt"), 0);
    /* B saw it as d/a.txt, renamed since: the copy goes to the root */
    struct write wb = {NODE_B, "BBBBBBB", 0, d, "a.txt", false};
    int64_t t = clock_sec;
    ck_assert_int_eq(write_(f, &wb, 0, 10, 0xbb), 0);
    char want[256];
    expect_name(want, sizeof(want), "a", t, "AAAAAAA", ".txt");
    ck_assert_uint_ne(child(1, want), 0);
    ck_assert_uint_eq(records().last.parent, 1);
    /* no usable hint: named after the inode; no tag: hex of the origin */
    struct write wc = {0x123456789, NULL, 0, d, "x/y", false};
    t = clock_sec;
    ck_assert_int_eq(write_(f, &wc, 0, 10, 0xcc), 0);
    char stem[64];
    snprintf(stem, sizeof(stem), "inode-%llu", (unsigned long long)f);
    expect_name(want, sizeof(want), stem, t, "BBBBBBB", "");
    ck_assert_uint_ne(child(1, want), 0);
    struct write wd = {NODE_B, "BBBBBBB", 0, 0, NULL, false};
    t = clock_sec;
    ck_assert_int_eq(write_(f, &wd, 0, 10, 0xdd), 0);
    expect_name(want, sizeof(want), stem, t, "3456789", "");
    ck_assert_uint_ne(child(1, want), 0);
    ck_assert_uint_eq(child(d, "b.txt"), f);
    ck_assert_int_eq(records().n, 3);
}
END_TEST

START_TEST(renamed_copy_is_resolved)
{
    init_root(ms);
    uint64_t f = create(CMD_MKNOD, 1, "a.txt");
    struct write wa = {NODE_A, "AAAAAAA", 0, 1, "a.txt", false};
    struct write wb = {NODE_B, "BBBBBBB", 0, 1, "a.txt", false};
    ck_assert_int_eq(write_(f, &wa, 0, 10, 0xaa), 0);
    ck_assert_int_eq(write_(f, &wb, 0, 10, 0xbb), 0);
    struct records r = records();
    ck_assert_int_eq(r.n, 1);
    /* the user keeps the other version: rename the copy over the file */
    ck_assert_int_eq(names(CMD_RENAME, 1, r.last.name, 1, "a.txt"), 0);
    ck_assert_int_eq(records().n, 0);
    ck_assert_uint_eq(child(1, "a.txt"), r.last.copy_ino);
    ck_assert_str_eq(map_of(r.last.copy_ino).s, "0+10:aa@0 ");
    ck_assert_uint_eq(refs(0xbb), 0);
    /* an orphan (unlinked while open) gets no copy */
    uint64_t g = create(CMD_MKNOD, 1, "g");
    ck_assert_int_eq(write_(g, &wa, 0, 10, 0xa1), 0);
    struct cmd u = base(CMD_UNLINK, NODE_A);
    u.ino = 1;
    u.name = "g";
    u.namelen = 1;
    u.flags = CMD_KEEP_ORPHAN;
    ck_assert_int_eq(run(&u, NULL), 0);
    ck_assert_int_eq(write_(g, &wb, 0, 10, 0xb1), 0);
    ck_assert_int_eq(records().n, 0);
    ck_assert_int_eq(entries(1), 1);
}
END_TEST

START_TEST(size_changes_bump_the_version)
{
    init_root(ms);
    uint64_t f = create(CMD_MKNOD, 1, "a");
    struct write wa = {NODE_A, "AAAAAAA", 0, 1, "a", false};
    ck_assert_int_eq(write_(f, &wa, 0, 100, 0xaa), 0);
    struct cmd t = base(CMD_SETATTR, NODE_B);
    t.ino = f;
    t.flags = CORE_SET_SIZE;
    t.size = 50;
    cmd_set_tag(&t, "ZZZZZZZ"); /* not encoded for SETATTR: apply must ignore it */
    ck_assert_int_eq(run(&t, NULL), 0);
    struct meta_inode in = inode(f);
    ck_assert_uint_eq(in.content_ver, 2);
    ck_assert_uint_eq(in.content_origin, NODE_B);
    ck_assert_str_eq(in.content_tag, ""); /* the command carried no tag */
    t.time.sec++;
    ck_assert_int_eq(run(&t, NULL), 0); /* same size: no change */
    t.flags = CORE_SET_MODE;
    t.mode = 0600;
    ck_assert_int_eq(run(&t, NULL), 0);
    ck_assert_uint_eq(inode(f).content_ver, 2);
    /* a content command that changes nothing keeps the version */
    struct cmd n = base(CMD_CONTENT, NODE_A);
    n.ino = f;
    n.min_size = 10;
    ck_assert_int_eq(run(&n, NULL), 0);
    ck_assert_uint_eq(inode(f).content_ver, 2);
    n.min_size = 4096; /* fallocate that grows */
    ck_assert_int_eq(run(&n, NULL), 0);
    ck_assert_uint_eq(inode(f).content_ver, 3);
    ck_assert_uint_eq(inode(f).content_origin, NODE_A);
}
END_TEST

START_TEST(old_inode_record_decodes)
{
    /* a version 1 record (93 bytes), as the previous build wrote it */
    uint8_t v1[93], kb[8];
    memset(v1, 0, sizeof(v1));
    v1[0] = 1;
    put_u32(v1 + 1, S_IFREG | 0644);
    put_u32(v1 + 5, 1000);
    put_u32(v1 + 9, 100);
    put_u32(v1 + 13, 1);
    put_u64(v1 + 17, 12345);
    put_u64(v1 + 33, 12288);
    put_u64(v1 + 69, 1700000000);
    put_u32(v1 + 77, 42);
    put_u64_be(kb, 77);
    MDB_txn *txn;
    MDB_val k = {8, kb}, d = {sizeof(v1), v1};
    ck_assert_int_eq(meta_txn_write(ms, &txn), 0);
    ck_assert_int_eq(mdb_put(txn, ms->dbi[META_DB_INODES], &k, &d, 0), 0);
    ck_assert_int_eq(mdb_txn_commit(txn), 0);
    struct meta_inode in = inode(77);
    ck_assert_uint_eq(in.mode, S_IFREG | 0644);
    ck_assert_uint_eq(in.uid, 1000);
    ck_assert_uint_eq(in.gid, 100);
    ck_assert_uint_eq(in.nlink, 1);
    ck_assert_uint_eq(in.size, 12345);
    ck_assert_uint_eq(in.alloc, 12288);
    ck_assert_int_eq(in.mtime.sec, 1700000000);
    ck_assert_uint_eq(in.mtime.nsec, 42);
    ck_assert_uint_eq(in.content_ver, 0);
    ck_assert_uint_eq(in.content_origin, 0);
    ck_assert_str_eq(in.content_tag, "");
    /* written back in the current version, read the same */
    in.content_ver = 9;
    in.content_origin = NODE_B;
    strcpy(in.content_tag, "BBBBBBB");
    ck_assert_int_eq(meta_txn_write(ms, &txn), 0);
    ck_assert_int_eq(meta_inode_put(ms, txn, &in), 0);
    ck_assert_int_eq(mdb_txn_commit(txn), 0);
    struct meta_inode back = inode(77);
    ck_assert_uint_eq(back.size, 12345);
    ck_assert_uint_eq(back.content_ver, 9);
    ck_assert_uint_eq(back.content_origin, NODE_B);
    ck_assert_str_eq(back.content_tag, "BBBBBBB");
    /* a short or unknown record is refused */
    d.mv_size = 92;
    ck_assert_int_eq(meta_txn_write(ms, &txn), 0);
    ck_assert_int_eq(mdb_put(txn, ms->dbi[META_DB_INODES], &k, &d, 0), 0);
    ck_assert_int_eq(meta_inode_get(ms, txn, 77, &in), -EPROTO);
    v1[0] = 3;
    d.mv_size = 93;
    ck_assert_int_eq(mdb_put(txn, ms->dbi[META_DB_INODES], &k, &d, 0), 0);
    ck_assert_int_eq(meta_inode_get(ms, txn, 77, &in), -EPROTO);
    mdb_txn_abort(txn);
}
END_TEST

static void set_format(uint64_t v)
{
    MDB_txn *txn;
    ck_assert_int_eq(meta_txn_write(ms, &txn), 0);
    ck_assert_int_eq(meta_counter_put(ms, txn, "version", v), 0);
    ck_assert_int_eq(mdb_txn_commit(txn), 0);
    meta_store_close(ms);
    ms = NULL;
}

START_TEST(old_store_is_upgraded)
{
    uint64_t v;
    MDB_txn *txn;
    set_format(1);
    ck_assert_int_eq(meta_store_open(dir, &ms), 0);
    ck_assert_int_eq(meta_txn_read(ms, &txn), 0);
    ck_assert_int_eq(meta_counter_get(ms, txn, "version", &v), 0);
    mdb_txn_abort(txn);
    ck_assert_uint_eq(v, META_FORMAT_VERSION);
    set_format(META_FORMAT_VERSION + 1);
    ck_assert_int_eq(meta_store_open(dir, &ms), -EPROTO);
    ck_assert_ptr_null(ms);
    /* teardown needs a store */
    char *again = tmpdir_make("conflict2");
    ck_assert_int_eq(meta_store_open(again, &ms), 0);
    tmpdir_remove(dir);
    dir = again;
}
END_TEST

START_TEST(codec_carries_base_hint_tag)
{
    uint8_t ranges[CMD_RANGE_LEN], buf[1024];
    struct cmd a, b;
    memset(&a, 0, sizeof(a));
    a.op = CMD_CONTENT;
    a.ino = 9;
    a.flags = CMD_CONTENT_BASE;
    a.min_size = 77;
    a.base_ver = 1234567;
    a.hint_parent = 5;
    a.hint_name = "doc.txt";
    a.hint_namelen = 7;
    cmd_set_tag(&a, "ABCDEFGHIJ");
    ck_assert_str_eq(a.tag, "ABCDEFG");
    cmd_range_put(ranges, 0, 0, 77);
    a.n_ranges = 1;
    a.ranges = ranges;
    int n = cmd_encode(&a, buf, sizeof(buf));
    ck_assert_int_gt(n, 0);
    ck_assert_uint_eq(buf[0], CMD_VERSION);
    ck_assert_int_eq(cmd_decode(buf, (size_t)n, &b), 0);
    ck_assert_uint_eq(b.base_ver, 1234567);
    ck_assert_uint_eq(b.hint_parent, 5);
    ck_assert_uint_eq(b.hint_namelen, 7);
    ck_assert_mem_eq(b.hint_name, "doc.txt", 7);
    ck_assert_str_eq(b.tag, "ABCDEFG");
    ck_assert_uint_eq(b.flags, CMD_CONTENT_BASE);
    cmd_release(&b);
    /* a tag that could not be part of a file name is refused */
    uint8_t *tag = memmem(buf, (size_t)n, "ABCDEFG", 7);
    ck_assert_ptr_nonnull(tag);
    tag[3] = '/';
    ck_assert_int_eq(cmd_decode(buf, (size_t)n, &b), -EINVAL);
    cmd_set_tag(&a, "a/b");
    ck_assert_str_eq(a.tag, CMD_TAG_DEFAULT);
    cmd_set_tag(&a, NULL);
    ck_assert_str_eq(a.tag, CMD_TAG_DEFAULT);
    /* version 1: no base, hint or tag (24 bytes after min_size); without
     * extents the rest is the same in every version */
    a.hint_namelen = 0;
    a.tag[0] = '\0';
    n = cmd_encode(&a, buf, sizeof(buf));
    size_t at = 42 + 8 + 4 + 8; /* header without groups, ino, flags, min_size */
    ck_assert_uint_eq(get_u64(buf + at - 8), 77);
    memmove(buf + at, buf + at + 24, (size_t)n - at - 24);
    buf[0] = 1;
    ck_assert_int_eq(cmd_decode(buf, (size_t)n - 24, &b), 0);
    ck_assert_uint_eq(b.base_ver, 0);
    ck_assert_uint_eq(b.hint_namelen, 0);
    ck_assert_str_eq(b.tag, "");
    ck_assert_uint_eq(b.n_ranges, 1);
    ck_assert_uint_eq(b.min_size, 77);
    cmd_release(&b);
    buf[0] = CMD_VERSION + 1;
    ck_assert_int_eq(cmd_decode(buf, (size_t)n - 24, &b), -EPROTO);
}
END_TEST

START_TEST(long_names_are_shortened)
{
    char name[256];
    memset(name, 'x', 251);
    memcpy(name + 251, ".txt", 5); /* 255 bytes */
    init_root(ms);
    uint64_t f = create(CMD_MKNOD, 1, name);
    struct write wa = {NODE_A, "AAAAAAA", 0, 1, name, false};
    struct write wb = {NODE_B, "BBBBBBB", 0, 1, name, false};
    ck_assert_int_eq(write_(f, &wa, 0, 10, 0xaa), 0);
    ck_assert_int_eq(write_(f, &wb, 0, 10, 0xbb), 0);
    struct records r = records();
    ck_assert_int_eq(r.n, 1);
    ck_assert_uint_eq(r.last.namelen, 255);
    ck_assert_uint_eq(strlen(r.last.name), 255);
    ck_assert_str_eq(r.last.name + 255 - 12, "-AAAAAAA.txt");
    ck_assert_mem_eq(r.last.name, "xxxxxxxx", 8);
    ck_assert_uint_eq(child(1, r.last.name), r.last.copy_ino);
    /* a multi-byte character is never cut in half */
    char utf[256];
    memset(utf, 'y', 200);
    for (int i = 200; i < 250; i += 2)
        memcpy(utf + i, "\xc3\xa9", 2);
    utf[250] = '\0';
    uint64_t g = create(CMD_MKNOD, 1, utf);
    wa.name = wb.name = utf;
    ck_assert_int_eq(write_(g, &wa, 0, 10, 0xaa), 0);
    ck_assert_int_eq(write_(g, &wb, 0, 10, 0xbb), 0);
    r = records();
    ck_assert_int_eq(r.n, 2);
    const char *cut = strstr(r.last.name, ".conflict-");
    ck_assert_ptr_nonnull(cut);
    ck_assert_int_eq((cut - r.last.name) % 2, 0); /* 200 'y' then whole é pairs */
}
END_TEST

/* What a conflict left in store m: every record, the copy's chunk map and
 * its directory entry, as text. */
struct summary {
    struct meta_store *m;
    char s[8192];
};
static int summarize(void *ctx, const struct meta_conflict *cf)
{
    struct summary *sum = ctx;
    struct map_str map = {""};
    MDB_txn *txn;
    struct meta_dirent e;
    ck_assert_int_eq(meta_txn_read(sum->m, &txn), 0);
    ck_assert_int_eq(meta_map_foreach(sum->m, txn, cf->copy_ino, 0, UINT64_MAX, map_item, &map), 0);
    ck_assert_int_eq(meta_dirent_get(sum->m, txn, cf->parent, cf->name, cf->namelen, &e), 0);
    mdb_txn_abort(txn);
    ck_assert_uint_eq(e.child, cf->copy_ino);
    size_t n = strlen(sum->s);
    snprintf(sum->s + n, sizeof(sum->s) - n, "%llu<%llu %s %s/%s %s\n",
             (unsigned long long)cf->copy_ino, (unsigned long long)cf->orig_ino, cf->name,
             cf->copy_tag, cf->win_tag, map.s);
    return 0;
}
static void summary(struct meta_store *m, struct summary *sum)
{
    MDB_txn *txn;
    sum->m = m;
    sum->s[0] = '\0';
    ck_assert_int_eq(meta_txn_read(m, &txn), 0);
    ck_assert_int_eq(meta_conflict_foreach(m, txn, summarize, sum), 0);
    mdb_txn_abort(txn);
}

/* The same commands on two stores: the same copies, byte for byte. */
static void scenario(struct meta_store *m)
{
    clock_sec = T0;
    init_root(m);
    uint64_t d = create_on(m, CMD_MKDIR, 1, "d");
    uint64_t f = create_on(m, CMD_MKNOD, d, "a.txt");
    struct write wa = {NODE_A, "AAAAAAA", 0, d, "a.txt", false};
    struct write wb = {NODE_B, "BBBBBBB", 0, d, "a.txt", false};
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(write_on(m, f, &wa, 0, 100, (uint8_t)(0x10 + i), NULL), 0);
        ck_assert_int_eq(write_on(m, f, &wb, 50, 150, (uint8_t)(0x20 + i), NULL), 0);
    }
}

START_TEST(deterministic)
{
    char *dir2 = tmpdir_make("conflict-b");
    struct meta_store *ms2;
    ck_assert_int_eq(meta_store_open(dir2, &ms2), 0);
    scenario(ms);
    scenario(ms2);
    static struct summary s1, s2;
    summary(ms, &s1);
    summary(ms2, &s2);
    ck_assert_str_eq(s1.s, s2.s);
    ck_assert_int_eq(records().n, 9); /* every commit after the first */
    meta_store_close(ms2);
    tmpdir_remove(dir2);
}
END_TEST

/* ---- core level ---- */

static struct core *core;
static const struct core_cred root_cred = {0, 0, 0, 0, NULL};

static void core_setup(void)
{
    dir = tmpdir_make("conflict-core");
    ck_assert_ptr_nonnull(dir);
    struct core_config cfg = {.data_dir = dir, .staging_limit = 256 * 1024, .node_tag = "NODEAAA"};
    ck_assert_int_eq(core_open(&cfg, &core), 0);
}

static void core_teardown(void)
{
    core_close(core);
    tmpdir_remove(dir);
}

static int count_conflict(void *ctx, const struct core_conflict *cf)
{
    (void)cf;
    ++*(int *)ctx;
    return 0;
}

static int named_conflict(void *ctx, const struct core_dirent *e, const struct stat *st)
{
    (void)st;
    if (memmem(e->name, e->namelen, ".conflict-", 10))
        ++*(int *)ctx;
    return 0;
}

static int core_copies(void)
{
    int listed = 0, named = 0;
    ck_assert_int_eq(core_conflicts_list(core, count_conflict, &listed), 0);
    ck_assert_int_eq(core_readdir(core, CORE_ROOT_INO, 0, false, named_conflict, &named), 0);
    ck_assert_int_eq(listed, named);
    return listed;
}

static uint64_t core_file(const char *name)
{
    struct stat st;
    ck_assert_int_eq(core_mknod(core, &root_cred, CORE_ROOT_INO, name, S_IFREG | 0644, 0, &st), 0);
    ck_assert_int_eq(core_file_open(core, st.st_ino, O_RDWR), 0);
    return st.st_ino;
}

static void expect_bytes(uint64_t ino, uint64_t off, const uint8_t *want, size_t len)
{
    uint8_t *got = malloc(len);
    ck_assert_int_eq(core_read(core, ino, off, got, len), (ssize_t)len);
    ck_assert_int_eq(memcmp(got, want, len), 0);
    free(got);
}

/* One node's own workload: several handles, early commits (small staging
 * bound), truncate, rename, rewrite, punch, copy ranges. Never a copy. */
START_TEST(one_node_never_makes_copies)
{
    size_t len = sanitized() ? 512 * 1024 : 2 * 1024 * 1024;
    uint8_t *buf = malloc(len);
    fill_random(buf, len, 7);
    uint64_t a = core_file("a.bin"), b = core_file("b.txt");
    ck_assert_int_eq(core_file_open(core, a, O_RDWR), 0); /* a second handle */
    for (size_t off = 0; off < len; off += 65536) {
        ck_assert_int_eq(core_write(core, &root_cred, a, off, buf + off, 65536), 65536);
        ck_assert_int_eq(core_write(core, &root_cred, b, off / 4, buf + off, 1000), 1000);
    }
    ck_assert_int_eq(core_flush(core, a), 0);
    struct stat st = {.st_size = (off_t)(len / 2)}, out;
    ck_assert_int_eq(core_setattr(core, &root_cred, a, &st, CORE_SET_SIZE, &out), 0);
    ck_assert_int_eq(core_write(core, &root_cred, a, 100, "rewrite", 7), 7);
    ck_assert_int_eq(
        core_rename(core, &root_cred, CORE_ROOT_INO, "a.bin", CORE_ROOT_INO, "c.bin", 0), 0);
    ck_assert_int_eq(core_write(core, &root_cred, a, len / 2, buf, 4096), 4096);
    ck_assert_int_eq(core_fsync(core, a, false), 0);
    ck_assert_int_eq(
        core_fallocate(core, &root_cred, a, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 8192, 4096),
        0);
    ck_assert_int_eq(core_copy_file_range(core, &root_cred, a, 0, b, 0, len / 4),
                     (ssize_t)(len / 4));
    ck_assert_int_eq(core_file_release(core, a), 0);
    ck_assert_int_eq(core_file_release(core, a), 0);
    ck_assert_int_eq(core_file_release(core, b), 0);
    expect_bytes(a, 100, (const uint8_t *)"rewrite", 7);
    expect_bytes(a, len / 2, buf, 4096);
    expect_bytes(b, 100, (const uint8_t *)"rewrite", 7);
    ck_assert_int_eq(core_copies(), 0);
    free(buf);
}
END_TEST

struct found {
    struct core_conflict cf;
    char name[256], copy_tag[8], win_tag[8];
    int n;
};
static int find_conflict(void *ctx, const struct core_conflict *cf)
{
    struct found *f = ctx;
    f->cf = *cf;
    snprintf(f->name, sizeof(f->name), "%s", cf->name);
    snprintf(f->copy_tag, sizeof(f->copy_tag), "%s", cf->copy_tag);
    snprintf(f->win_tag, sizeof(f->win_tag), "%s", cf->win_tag);
    f->cf.name = f->name; /* the callback's strings live only during the call */
    f->cf.copy_tag = f->copy_tag;
    f->cf.win_tag = f->win_tag;
    f->n++;
    return 0;
}

/* Another node removes the file while this node has bytes staged (the
 * unlink is forged here with another origin and no KEEP_ORPHAN: that node
 * did not know the file was open here). The commit fails, once: the staged
 * bytes are dropped, since no retry could succeed, and the close() after a
 * failed fsync does not pay for the push and the proposal again. */
START_TEST(commit_to_removed_file_fails_once)
{
    uint64_t f = core_file("gone.txt");
    ck_assert_int_eq(core_write(core, &root_cred, f, 0, "data", 4), 4);
    struct cmd u;
    struct apply_result res;
    core_cmd_init(core, &u, CMD_UNLINK, NULL);
    u.origin = 0xbeef;
    u.ino = CORE_ROOT_INO;
    u.name = "gone.txt";
    u.namelen = 8;
    ck_assert_int_eq(core_submit(core, &u, &res), 0);
    ck_assert_int_lt(core_fsync(core, f, false), 0);
    ck_assert_int_eq(core_flush(core, f), 0); /* nothing staged any more */
}
END_TEST

/* Another node's commit lands while this node has bytes staged (the commit
 * is forged here with another origin): this node's commit finds it and the
 * remote version survives as a copy next to the file, under the name this
 * node last gave the file. */
START_TEST(remote_commit_during_staging)
{
    struct stat st;
    uint8_t local[5000], remote[5000];
    memset(local, 'L', sizeof(local));
    memset(remote, 'R', sizeof(remote));
    uint64_t f = core_file("doc.txt");
    ck_assert_int_eq(core_mkdir(core, &root_cred, CORE_ROOT_INO, "sub", 0755, &st), 0);
    uint64_t sub = st.st_ino;
    ck_assert_int_eq(core_write(core, &root_cred, f, 0, local, sizeof(local)), 5000);
    ck_assert_int_eq(core_flush(core, f), 0);
    ck_assert_int_eq(core_write(core, &root_cred, f, 0, "edit", 4), 4); /* staging starts */
    ck_assert_int_eq(core_rename(core, &root_cred, CORE_ROOT_INO, "doc.txt", sub, "doc2.txt", 0),
                     0);

    struct chunk_ref ref = {.data = remote, .len = sizeof(remote)};
    ck_assert_int_eq(sha256(remote, sizeof(remote), ref.hash), 0);
    ck_assert_int_eq(chunk_store_put_batch(core->cs, &ref, 1), 0);
    uint8_t range[CMD_RANGE_LEN], ext[CMD_EXTENT_LEN];
    struct meta_extent e = {.off = 0, .coff = 0, .len = sizeof(remote)};
    memcpy(e.hash, ref.hash, SHA256_LEN);
    cmd_range_put(range, 0, 0, sizeof(remote));
    cmd_extent_put(ext, 0, &e);
    struct cmd cmd;
    struct apply_result res;
    core_cmd_init(core, &cmd, CMD_CONTENT, NULL);
    cmd.origin = 0xbeef;
    cmd_set_tag(&cmd, "REMOTE1");
    cmd.ino = f;
    cmd.flags = CMD_CONTENT_MTIME | CMD_CONTENT_BASE;
    cmd.base_ver = 1; /* the remote node had seen this node's first commit */
    cmd.min_size = sizeof(remote);
    cmd.n_ranges = cmd.n_ext = 1;
    cmd.ranges = range;
    cmd.extents = ext;
    ck_assert_int_eq(core_submit(core, &cmd, &res), 0);
    ck_assert_int_eq(core_copies(), 0); /* sequential: no copy */

    ck_assert_int_eq(core_flush(core, f), 0);
    struct found fd = {.n = 0};
    ck_assert_int_eq(core_conflicts_list(core, find_conflict, &fd), 0);
    ck_assert_int_eq(fd.n, 1);
    ck_assert_uint_eq(fd.cf.parent, sub);
    ck_assert_uint_eq(fd.cf.orig_ino, f);
    ck_assert_uint_eq(fd.cf.copy_origin, 0xbeef);
    ck_assert_str_eq(fd.cf.copy_tag, "REMOTE1");
    ck_assert_str_eq(fd.cf.win_tag, "NODEAAA");
    ck_assert_int_eq(strncmp(fd.name, "doc2.conflict-", 14), 0);
    ck_assert_str_eq(fd.name + strlen(fd.name) - 12, "-REMOTE1.txt");
    ck_assert_int_eq(core_lookup(core, sub, fd.name, &st), 0);
    ck_assert_uint_eq(st.st_ino, fd.cf.copy_ino);
    ck_assert_int_eq(st.st_size, 5000);
    expect_bytes(fd.cf.copy_ino, 0, remote, sizeof(remote));
    expect_bytes(f, 0, (const uint8_t *)"edit", 4);
    expect_bytes(f, 4, remote + 4, sizeof(remote) - 4);

    /* this node goes on from its own commit: no further copy */
    ck_assert_int_eq(core_write(core, &root_cred, f, 10, "more", 4), 4);
    ck_assert_int_eq(core_flush(core, f), 0);
    fd.n = 0;
    ck_assert_int_eq(core_conflicts_list(core, find_conflict, &fd), 0);
    ck_assert_int_eq(fd.n, 1);
    ck_assert_int_eq(core_unlink(core, &root_cred, sub, fd.name), 0);
    fd.n = 0;
    ck_assert_int_eq(core_conflicts_list(core, find_conflict, &fd), 0);
    ck_assert_int_eq(fd.n, 0);
    ck_assert_int_eq(core_file_release(core, f), 0);
}
END_TEST

/* The writer side's bookkeeping: base version and name hint per file. */
START_TEST(staging_keeps_base_and_hint)
{
    struct staging stg;
    struct cmd c;
    ck_assert_int_eq(staging_init(&stg, 1 << 20), 0);
    staging_hint_set(&stg, 5, 1, "old.txt", 7);
    staging_hint_set(&stg, 5, 2, "doc.txt", 7); /* the newest sighting wins */
    struct sfile *sf = staging_open(&stg, 5);
    ck_assert_ptr_nonnull(sf);
    staging_keep_hint(&stg, sf);
    staging_hint_set(&stg, 5 + STG_HINTS, 3, "other", 5); /* reuses the slot */
    pthread_rwlock_wrlock(&sf->lock);
    memset(&c, 0, sizeof(c));
    staging_fill_cmd(&stg, sf, &c);
    ck_assert_uint_eq(c.flags & CMD_CONTENT_BASE, 0); /* nothing staged: no base */
    ck_assert_uint_eq(c.hint_parent, 2);
    ck_assert_uint_eq(c.hint_namelen, 7);
    ck_assert_mem_eq(c.hint_name, "doc.txt", 7);
    staging_base(&stg, sf, 41);
    staging_hint_set(&stg, 5, 4, "renamed.txt", 11); /* renamed here meanwhile */
    memset(&c, 0, sizeof(c));
    staging_fill_cmd(&stg, sf, &c);
    ck_assert_uint_eq(c.flags & CMD_CONTENT_BASE, CMD_CONTENT_BASE);
    ck_assert_uint_eq(c.base_ver, 41);
    ck_assert_uint_eq(c.hint_parent, 4);
    ck_assert_mem_eq(c.hint_name, "renamed.txt", 11);
    staging_clear(&stg, sf); /* committed: the next write takes a new base */
    ck_assert(!sf->base_valid);
    pthread_rwlock_unlock(&sf->lock);
    ck_assert_uint_eq(staging_close(&stg, sf), 0);
    staging_destroy(&stg);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("conflict");
    TCase *tc = tcase_create("apply");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, concurrent_writers_make_copy);
    tcase_add_test(tc, names_keep_the_extension);
    tcase_add_test(tc, taken_names_get_a_number);
    tcase_add_test(tc, no_conflict_without_concurrency);
    tcase_add_test(tc, stale_hint_falls_back_to_root);
    tcase_add_test(tc, renamed_copy_is_resolved);
    tcase_add_test(tc, size_changes_bump_the_version);
    tcase_add_test(tc, old_inode_record_decodes);
    tcase_add_test(tc, old_store_is_upgraded);
    tcase_add_test(tc, codec_carries_base_hint_tag);
    tcase_add_test(tc, long_names_are_shortened);
    tcase_add_test(tc, deterministic);
    tcase_add_test(tc, staging_keeps_base_and_hint);
    suite_add_tcase(s, tc);
    TCase *tcc = tcase_create("core");
    tcase_add_checked_fixture(tcc, core_setup, core_teardown);
    tcase_set_timeout(tcc, 120);
    tcase_add_test(tcc, one_node_never_makes_copies);
    tcase_add_test(tcc, remote_commit_during_staging);
    tcase_add_test(tcc, commit_to_removed_file_fails_once);
    suite_add_tcase(s, tcc);
    return scratch_run(s);
}
