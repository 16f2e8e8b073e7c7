/*
 * The engine on its real persistence backend: a one-node cluster elects
 * itself, commits proposals in order, and after a restart from LMDB keeps
 * its promise and its log.
 */
#include "consensus/engine.h"
#include "consensus/persist_lmdb.h"

#include "tests/unit/scratch.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct host_log {
    uint64_t delivered[64], n_delivered;
    int64_t done[64]; /* by req id */
    uint32_t sends;
};

static int on_deliver(void *ctx, uint64_t slot, const struct cons_entry *e)
{
    struct host_log *h = ctx;
    if (e->kind == CONS_KIND_CMD && h->n_delivered < 64)
        h->delivered[h->n_delivered++] = slot << 16 | e->req_id;
    return 1;
}

static void on_done(void *ctx, uint64_t req, int64_t res)
{
    struct host_log *h = ctx;
    if (req < 64)
        h->done[req] = res;
}

static void on_send(void *ctx, uint32_t to, const uint8_t *b, size_t n)
{
    (void)to, (void)b, (void)n;
    ((struct host_log *)ctx)->sends++;
}

static void on_snapshot(void *ctx, uint32_t peer, uint64_t log_start)
{
    (void)ctx, (void)peer, (void)log_start;
}

static char dir[64];
static MDB_env *env;
static struct persist_lmdb *pl;

static struct engine *start(struct host_log *h, uint64_t applied, uint64_t now)
{
    ck_assert_int_eq(mdb_env_create(&env), 0);
    ck_assert_int_eq(mdb_env_set_maxdbs(env, 4), 0);
    ck_assert_int_eq(mdb_env_open(env, dir, 0, 0600), 0);
    ck_assert_int_eq(persist_lmdb_open(&pl, env), 0);
    struct cons_host host = {h, on_send, on_deliver, on_done, on_snapshot, &persist_lmdb_ops, pl};
    struct engine_config cfg = {.self = 0, .n_nodes = 1, .rng_seed = 7, .applied = applied};
    cons_params_default(&cfg.params);
    struct engine *e;
    ck_assert_int_eq(engine_create(&e, &cfg, &host, now), 0);
    return e;
}

static void stop(struct engine *e)
{
    engine_destroy(e);
    persist_lmdb_close(pl);
    mdb_env_close(env);
}

START_TEST(test_single_node_commits_and_restarts)
{
    ck_assert_int_eq(scratch_mkdir(dir, sizeof(dir), "engine"), 0);
    static struct host_log h;
    memset(&h, 0, sizeof(h));
    uint64_t now = 1000000;
    struct engine *e = start(&h, 0, now);
    ck_assert_int_eq(engine_propose(e, (const uint8_t *)"a", 1, 1, now), 0);
    struct engine_status st;
    for (int i = 0; i < 100 && h.n_delivered < 1; i++)
        ck_assert_int_eq(engine_tick(e, now += 50000), 0);
    engine_status(e, &st);
    ck_assert_int_eq(st.role, ROLE_LEADER);
    ck_assert_int_eq(engine_propose(e, (const uint8_t *)"b", 1, 2, now), 0);
    ck_assert_int_eq(engine_propose(e, (const uint8_t *)"c", 1, 3, now), 0);
    ck_assert_int_eq(engine_propose(e, (const uint8_t *)"d", CONS_CMD_MAX + 1, 4, now), -EMSGSIZE);
    ck_assert_uint_eq(h.n_delivered, 3);
    ck_assert_int_gt(h.done[1], 0);
    ck_assert_int_eq(h.done[2], h.done[1] + 1);
    ck_assert_int_eq(h.done[3], h.done[1] + 2);
    ck_assert_uint_eq(h.sends, 0); /* alone: nobody to talk to */
    uint64_t ballot = st.ballot;
    stop(e);

    /* The host lost its state (applied 0): the whole log comes back. */
    memset(&h, 0, sizeof(h));
    e = start(&h, 0, now);
    engine_status(e, &st);
    ck_assert_uint_ge(st.promised, ballot);
    ck_assert_uint_eq(h.n_delivered, 0); /* delivery happens on the next input */
    /* Commit is saved lazily: what the saved commit covers comes back at once,
     * the accepted tail once the new leadership has recovered it. */
    for (int i = 0; i < 100 && h.n_delivered < 3; i++)
        ck_assert_int_eq(engine_tick(e, now += 50000), 0);
    ck_assert_uint_eq(h.n_delivered, 3);
    ck_assert_uint_eq(h.delivered[0] & 0xffff, 1);
    ck_assert_uint_eq(h.delivered[2] & 0xffff, 3);
    ck_assert_int_eq(engine_propose(e, (const uint8_t *)"e", 1, 5, now), 0);
    for (int i = 0; i < 100 && h.done[5] == 0; i++)
        ck_assert_int_eq(engine_tick(e, now += 50000), 0);
    engine_status(e, &st);
    ck_assert_uint_gt(st.ballot, ballot); /* a new leadership, a higher ballot */
    ck_assert_int_gt(h.done[5], (int64_t)(h.delivered[2] >> 16));
    stop(e);
    char p[128];
    snprintf(p, sizeof(p), "%s/data.mdb", dir);
    unlink(p);
    snprintf(p, sizeof(p), "%s/lock.mdb", dir);
    unlink(p);
    rmdir(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("consensus-engine");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_single_node_commits_and_restarts);
    suite_add_tcase(s, tc);
    return scratch_run(s);
}
