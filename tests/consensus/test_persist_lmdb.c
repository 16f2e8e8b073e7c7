/*
 * Unit tests of the LMDB persistence backend: round trip, truncation,
 * version check, and a writer killed with SIGKILL between persisting and
 * answering loses nothing it had answered for.
 */
#include "consensus/persist_lmdb.h"

#include "common/bytes.h"

#include "tests/check_run.h"
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
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
    strcpy(dir, "/tmp/qfs-paxos-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
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

#define SEEN_MAX 16384 /* more than a pipe can hold of unread answers */

struct seen {
    uint64_t n, slots[SEEN_MAX], ballots[SEEN_MAX];
    char data[SEEN_MAX][16];
};

static int collect(void *arg, const struct cons_rec *r)
{
    struct seen *s = arg;
    if (s->n < SEEN_MAX) {
        s->slots[s->n] = r->slot;
        s->ballots[s->n] = r->ballot;
        snprintf(s->data[s->n], sizeof(s->data[0]), "%.*s", (int)r->e.len, r->e.data);
    }
    s->n++;
    return 0;
}

static int save_slots(struct persist_lmdb *p, uint64_t promised, uint64_t log_start, uint64_t first,
                      uint64_t n)
{
    struct cons_rec recs[64];
    char data[64][16];
    for (uint64_t i = 0; i < n; i++) {
        int len = snprintf(data[i], sizeof(data[i]), "cmd-%llu", (unsigned long long)(first + i));
        recs[i] = (struct cons_rec){
            first + i,
            promised,
            0,
            {1, first + i, CONS_KIND_CMD, (uint32_t)len, (const uint8_t *)data[i]}};
    }
    struct cons_persist_batch b = {{promised, first + n - 1, log_start}, n, recs};
    return persist_lmdb_ops.save(p, &b);
}

START_TEST(test_roundtrip_and_truncation)
{
    MDB_env *env = open_env();
    struct persist_lmdb *p;
    ck_assert_int_eq(persist_lmdb_open(&p, env), 0);
    struct cons_persist_state st;
    static struct seen s;
    memset(&s, 0, sizeof(s));
    ck_assert_int_eq(persist_lmdb_ops.load(p, &st, collect, &s), 0);
    ck_assert_uint_eq(st.promised, 0);
    ck_assert_uint_eq(st.log_start, 1);
    ck_assert_uint_eq(s.n, 0);
    ck_assert_int_eq(save_slots(p, 0x301, 1, 1, 10), 0);
    ck_assert_int_eq(save_slots(p, 0x402, 4, 11, 5), 0);
    persist_lmdb_close(p);
    mdb_env_close(env);

    env = open_env();
    ck_assert_int_eq(persist_lmdb_open(&p, env), 0);
    memset(&s, 0, sizeof(s));
    ck_assert_int_eq(persist_lmdb_ops.load(p, &st, collect, &s), 0);
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

/* Child: persist slot i (promised i), then "answer" by writing i to the pipe. */
static void writer(int fd)
{
    MDB_env *env;
    struct persist_lmdb *p;
    if (mdb_env_create(&env) || mdb_env_set_maxdbs(env, 4) || mdb_env_set_mapsize(env, 64u << 20) ||
        mdb_env_open(env, dir, 0, 0600) || persist_lmdb_open(&p, env))
        _exit(2);
    for (uint64_t i = 1;; i++) {
        if (save_slots(p, i << 8, 1, i, 1) < 0)
            _exit(3);
        if (write(fd, &i, sizeof(i)) != sizeof(i))
            _exit(4);
    }
}

START_TEST(test_sigkill_loses_nothing_acknowledged)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(fds[0]);
        writer(fds[1]);
    }
    close(fds[1]);
    uint64_t acked = 0, v;
    while (acked < 150 && read(fds[0], &v, sizeof(v)) == sizeof(v))
        acked = v;
    kill(pid, SIGKILL); /* mid-loop: maybe between a save and its answer */
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFSIGNALED(status));
    while (read(fds[0], &v, sizeof(v)) == sizeof(v))
        acked = v; /* answers already in the pipe count too */
    close(fds[0]);
    ck_assert_uint_ge(acked, 150);
    ck_assert_uint_lt(acked, SEEN_MAX);

    MDB_env *env = open_env();
    struct persist_lmdb *p;
    ck_assert_int_eq(persist_lmdb_open(&p, env), 0);
    struct cons_persist_state st;
    static struct seen s;
    memset(&s, 0, sizeof(s));
    ck_assert_int_eq(persist_lmdb_ops.load(p, &st, collect, &s), 0);
    ck_assert_uint_ge(st.promised, acked << 8);
    ck_assert_uint_ge(s.n, acked);
    for (uint64_t i = 0; i < acked; i++) {
        char want[16];
        snprintf(want, sizeof(want), "cmd-%llu", (unsigned long long)(i + 1));
        ck_assert_uint_eq(s.slots[i], i + 1);
        ck_assert_str_eq(s.data[i], want);
    }
    persist_lmdb_close(p);
    mdb_env_close(env);
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
    return check_run(s);
}
