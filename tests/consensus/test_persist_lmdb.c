/*
 * Unit tests of the LMDB persistence backend: round trip, truncation,
 * version check, and a writer killed with SIGKILL between persisting and
 * answering loses nothing it had answered for.
 */
#include "consensus/persist_lmdb.h"
#include "tests/consensus/persist_contract.h"

#include "common/bytes.h"

#include "tests/unit/scratch.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64];

static MDB_env *open_env(void)
{
    MDB_env *env;
    ck_assert_int_eq(mdb_env_create(&env), 0);
    ck_assert_int_eq(mdb_env_set_maxdbs(env, 4), 0);
    ck_assert_int_eq(mdb_env_set_mapsize(env, 64u << 20), 0);
    ck_assert_int_eq(mdb_env_open(env, dir, 0, 0600), 0);
    return env;
}

static void setup(void)
{
    ck_assert_int_eq(scratch_mkdir(dir, sizeof(dir), "paxos"), 0);
}

static void teardown(void)
{
    char p[128];
    snprintf(p, sizeof(p), "%s/data.mdb", dir);
    unlink(p);
    snprintf(p, sizeof(p), "%s/lock.mdb", dir);
    unlink(p);
    rmdir(dir);
}

START_TEST(test_roundtrip_and_truncation)
{
    MDB_env *env = open_env();
    struct persist_lmdb *p;
    ck_assert_int_eq(persist_lmdb_open(&p, env), 0);
    struct cons_persist_state st;
    static struct seen s;
    memset(&s, 0, sizeof(s));
    ck_assert_int_eq(persist_lmdb_ops.load(p, &st, seen_collect, &s), 0);
    ck_assert_uint_eq(st.promised, 0);
    ck_assert_uint_eq(st.log_start, 1);
    ck_assert_uint_eq(s.n, 0);
    ck_assert_int_eq(save_slots(&persist_lmdb_ops, p, 0x301, 1, 1, 10, 0), 0);
    ck_assert_int_eq(save_slots(&persist_lmdb_ops, p, 0x402, 4, 11, 5, 0), 0);
    persist_lmdb_close(p);
    mdb_env_close(env);

    env = open_env();
    ck_assert_int_eq(persist_lmdb_open(&p, env), 0);
    memset(&s, 0, sizeof(s));
    ck_assert_int_eq(persist_lmdb_ops.load(p, &st, seen_collect, &s), 0);
    ck_assert_uint_eq(st.promised, 0x402);
    ck_assert_uint_eq(st.commit, 15);
    ck_assert_uint_eq(st.log_start, 4);
    ck_assert_uint_eq(s.n, 12); /* slots 4..15 */
    ck_assert_uint_eq(s.slots[0], 4);
    ck_assert_uint_eq(s.slots[11], 15);
    ck_assert_uint_eq(s.ballots[0], 0x301);
    ck_assert_uint_eq(s.ballots[11], 0x402);
    ck_assert_str_eq(s.data[11], "cmd-15");
    persist_lmdb_close(p);
    mdb_env_close(env);
}
END_TEST

START_TEST(test_version_mismatch_refused)
{
    MDB_env *env = open_env();
    MDB_txn *t;
    MDB_dbi dbi;
    ck_assert_int_eq(mdb_txn_begin(env, NULL, 0, &t), 0);
    ck_assert_int_eq(mdb_dbi_open(t, "paxos_meta", MDB_CREATE, &dbi), 0);
    uint8_t v[8];
    put_u64(v, PAXOS_LMDB_VERSION + 1);
    MDB_val k = {7, "version"}, d = {8, v};
    ck_assert_int_eq(mdb_put(t, dbi, &k, &d, 0), 0);
    ck_assert_int_eq(mdb_txn_commit(t), 0);
    struct persist_lmdb *p;
    ck_assert_int_eq(persist_lmdb_open(&p, env), -EPROTO);
    mdb_env_close(env);
}
END_TEST

/* The SIGKILL check opens the env and the backend together. */
struct lmdb_ctx {
    MDB_env *env;
    struct persist_lmdb *p;
};

static void *lmdb_open(void)
{
    static struct lmdb_ctx c; /* one per process: the child's, then the parent's */
    if (mdb_env_create(&c.env) || mdb_env_set_maxdbs(c.env, 4) ||
        mdb_env_set_mapsize(c.env, 64u << 20) || mdb_env_open(c.env, dir, 0, 0600) ||
        persist_lmdb_open(&c.p, c.env))
        return NULL;
    return c.p;
}

static void lmdb_close(void *ctx)
{
    persist_lmdb_close(ctx);
}

START_TEST(test_sigkill_loses_nothing_acknowledged)
{
    struct backend b = {&persist_lmdb_ops, lmdb_open, lmdb_close};
    check_sigkill_loses_nothing(&b, 150);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("consensus-lmdb");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_roundtrip_and_truncation);
    tcase_add_test(tc, test_version_mismatch_refused);
    tcase_add_test(tc, test_sigkill_loses_nothing_acknowledged);
    suite_add_tcase(s, tc);
    return scratch_run(s);
}
