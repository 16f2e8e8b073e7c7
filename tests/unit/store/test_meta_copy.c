/* Unit tests of meta_copy: named DBs of one environment replace those of
 * another in one transaction, and nothing else changes. */
#include "fs/store/meta_copy.h"
#include "fs/store/meta_store.h"

#include "tests/unit/scratch.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char root[64];

static void setup(void)
{
    ck_assert_int_eq(scratch_mkdir(root, sizeof(root), "mcopy"), 0);
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    ck_assert_int_eq(system(cmd), 0);
}

static struct meta_store *open_store(const char *name)
{
    char dir[128];
    snprintf(dir, sizeof(dir), "%s/%s", root, name);
    struct meta_store *ms;
    ck_assert_int_eq(meta_store_open(dir, &ms), 0);
    return ms;
}

static void put(MDB_txn *t, const char *db, const char *k, const char *v)
{
    MDB_dbi d;
    ck_assert_int_eq(mdb_dbi_open(t, db, MDB_CREATE, &d), 0);
    MDB_val kv = {strlen(k), (void *)k}, vv = {strlen(v), (void *)v};
    ck_assert_int_eq(mdb_put(t, d, &kv, &vv, 0), 0);
}

/* The value of k in db as a string ("" when absent). */
static const char *get(MDB_txn *t, const char *db, const char *k)
{
    static char out[64];
    MDB_dbi d;
    out[0] = 0;
    if (mdb_dbi_open(t, db, 0, &d))
        return out;
    MDB_val kv = {strlen(k), (void *)k}, vv;
    if (mdb_get(t, d, &kv, &vv) == 0)
        snprintf(out, sizeof(out), "%.*s", (int)vv.mv_size, (char *)vv.mv_data);
    return out;
}

static size_t count(MDB_txn *t, const char *db)
{
    MDB_dbi d;
    MDB_stat st;
    ck_assert_int_eq(mdb_dbi_open(t, db, 0, &d), 0);
    ck_assert_int_eq(mdb_stat(t, d, &st), 0);
    return st.ms_entries;
}

START_TEST(test_names_match_meta_store)
{
    struct meta_store *ms = open_store("a");
    MDB_txn *t;
    ck_assert_int_eq(meta_txn_read(ms, &t), 0);
    for (int i = 0; i < META_DB_COUNT; i++) {
        MDB_dbi d;
        ck_assert_ptr_nonnull(meta_copy_fs_dbs[i]); /* a DB added to enum meta_db */
        ck_assert_int_eq(mdb_dbi_open(t, meta_copy_fs_dbs[i], 0, &d), 0);
        ck_assert_uint_eq(d, ms->dbi[i]); /* the same handle: the same name */
    }
    mdb_txn_abort(t);
    meta_store_close(ms);
}
END_TEST

/* src: a fresh store with records; dst: other records, plus a DB not named. */
static void fill(struct meta_store *src, struct meta_store *dst)
{
    MDB_txn *t;
    ck_assert_int_eq(meta_txn_write(src, &t), 0);
    put(t, "inodes", "k1", "new1");
    put(t, "inodes", "k3", "new3");
    put(t, "dirents", "d", "newd");
    ck_assert_int_eq(mdb_txn_commit(t), 0);
    ck_assert_int_eq(meta_txn_write(dst, &t), 0);
    put(t, "inodes", "k1", "old1");
    put(t, "inodes", "k2", "old2");
    put(t, "xattrs", "x", "oldx");
    put(t, "paxos_log", "slot", "mine");
    ck_assert_int_eq(mdb_txn_commit(t), 0);
}

START_TEST(test_copy_replaces_named_only)
{
    struct meta_store *src = open_store("src"), *dst = open_store("dst");
    fill(src, dst);
    MDB_txn *s, *d;
    ck_assert_int_eq(meta_txn_read(src, &s), 0);
    ck_assert_int_eq(meta_txn_write(dst, &d), 0);
    ck_assert_int_eq(meta_copy_dbs(s, d, meta_copy_fs_dbs, META_DB_COUNT), 0);
    ck_assert_int_eq(mdb_txn_commit(d), 0);
    mdb_txn_abort(s);
    ck_assert_int_eq(meta_txn_read(dst, &d), 0);
    ck_assert_str_eq(get(d, "inodes", "k1"), "new1");
    ck_assert_str_eq(get(d, "inodes", "k2"), ""); /* only in the old state: gone */
    ck_assert_str_eq(get(d, "inodes", "k3"), "new3");
    ck_assert_uint_eq(count(d, "inodes"), 2);
    ck_assert_str_eq(get(d, "dirents", "d"), "newd");
    ck_assert_uint_eq(count(d, "xattrs"), 0);              /* empty in the source */
    ck_assert_str_eq(get(d, "paxos_log", "slot"), "mine"); /* not named: untouched */
    mdb_txn_abort(d);
    meta_store_close(src);
    meta_store_close(dst);
}
END_TEST

/* The snapshot path: a compacted copy opened as a read-only file env. */
START_TEST(test_copy_from_compacted_file)
{
    struct meta_store *src = open_store("src"), *dst = open_store("dst");
    fill(src, dst);
    char path[128];
    snprintf(path, sizeof(path), "%s/copy.mdb", root);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(mdb_env_copyfd2(meta_store_env(src), fd, MDB_CP_COMPACT), 0);
    off_t size = lseek(fd, 0, SEEK_END);
    close(fd);
    MDB_env *env;
    ck_assert_int_eq(mdb_env_create(&env), 0);
    ck_assert_int_eq(mdb_env_set_maxdbs(env, META_DB_COUNT + 4), 0);
    ck_assert_int_eq(mdb_env_set_mapsize(env, (size_t)size), 0);
    ck_assert_int_eq(mdb_env_open(env, path, MDB_RDONLY | MDB_NOSUBDIR | MDB_NOLOCK, 0600), 0);
    MDB_txn *s, *d;
    ck_assert_int_eq(mdb_txn_begin(env, NULL, MDB_RDONLY, &s), 0);
    ck_assert_int_eq(meta_txn_write(dst, &d), 0);
    ck_assert_int_eq(meta_copy_dbs(s, d, meta_copy_fs_dbs, META_DB_COUNT), 0);
    ck_assert_int_eq(mdb_txn_commit(d), 0);
    mdb_txn_abort(s);
    mdb_env_close(env);
    ck_assert_int_eq(meta_txn_read(dst, &d), 0);
    ck_assert_str_eq(get(d, "inodes", "k3"), "new3");
    ck_assert_uint_eq(count(d, "inodes"), 2);
    uint64_t version = 0;
    ck_assert_int_eq(meta_counter_get(dst, d, "version", &version), 0);
    ck_assert_uint_eq(version, META_FORMAT_VERSION);
    mdb_txn_abort(d);
    meta_store_close(src);
    meta_store_close(dst);
}
END_TEST

/* A DB whose flags differ is refused, and the aborted txn changed nothing. */
START_TEST(test_copy_refuses_dupsort)
{
    struct meta_store *src = open_store("src"), *dst = open_store("dst");
    fill(src, dst);
    MDB_txn *t;
    MDB_dbi dup;
    ck_assert_int_eq(meta_txn_write(src, &t), 0);
    ck_assert_int_eq(mdb_dbi_open(t, "multi", MDB_CREATE | MDB_DUPSORT, &dup), 0);
    ck_assert_int_eq(mdb_txn_commit(t), 0);
    static const char *const null_name[] = {NULL};
    MDB_txn *s0, *d0;
    ck_assert_int_eq(meta_txn_read(src, &s0), 0);
    ck_assert_int_eq(meta_txn_write(dst, &d0), 0);
    ck_assert_int_eq(meta_copy_dbs(s0, d0, null_name, 1), -EINVAL);
    mdb_txn_abort(d0);
    mdb_txn_abort(s0);
    static const char *const names[] = {"inodes", "multi"};
    MDB_txn *s, *d;
    ck_assert_int_eq(meta_txn_read(src, &s), 0);
    ck_assert_int_eq(meta_txn_write(dst, &d), 0);
    ck_assert_int_eq(meta_copy_dbs(s, d, names, 2), -EINVAL);
    mdb_txn_abort(d);
    mdb_txn_abort(s);
    ck_assert_int_eq(meta_txn_read(dst, &d), 0);
    ck_assert_str_eq(get(d, "inodes", "k2"), "old2");
    mdb_txn_abort(d);
    meta_store_close(src);
    meta_store_close(dst);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("meta_copy");
    TCase *tc = tcase_create("copy");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_names_match_meta_store);
    tcase_add_test(tc, test_copy_replaces_named_only);
    tcase_add_test(tc, test_copy_from_compacted_file);
    tcase_add_test(tc, test_copy_refuses_dupsort);
    suite_add_tcase(s, tc);
    return scratch_run(s);
}
