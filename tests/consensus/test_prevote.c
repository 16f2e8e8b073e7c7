/*
 * Pre-vote (consensus/leader.c, leader_start_prevote): a node that misses
 * the leader's heartbeats while the others hear it must not depose that
 * leader nor raise its round; a dead leader is still replaced. Three
 * engines on an in-memory network whose links the test cuts one way.
 * The same run with pre_vote = 0 shows the check can fail: the leader
 * changes.
 */
#include "consensus/engine.h"
#include "consensus/msg_codec.h"
#include "consensus/persist_mem.h"

#include "tests/check_run.h"
#include <stdlib.h>
#include <string.h>

#define N       3
#define MAX_NET 4096
#define STEP_US 5000

struct packet {
    uint32_t from, to, len;
    uint8_t *data;
};

struct net {
    struct packet q[MAX_NET];
    uint32_t n;
    uint8_t cut[N][N]; /* 1: packets from i to j are lost */
    uint64_t now;
    struct persist_mem pm[N];
    struct engine *e[N];
    uint32_t ctx_id[N];
};

static struct net *net; /* the test's one network; allocated per test */

static void on_send(void *ctx, uint32_t to, const uint8_t *b, size_t len)
{
    uint32_t from = *(uint32_t *)ctx;
    if (net->cut[from][to] || net->n == MAX_NET)
        return;
    uint8_t *d = malloc(len);
    ck_assert_ptr_nonnull(d);
    memcpy(d, b, len);
    net->q[net->n++] = (struct packet){from, to, (uint32_t)len, d};
}

static int on_deliver(void *ctx, uint64_t slot, const struct cons_entry *en)
{
    (void)ctx, (void)slot, (void)en;
    return 0;
}

static void on_done(void *ctx, uint64_t req, int64_t res)
{
    (void)ctx, (void)req, (void)res;
}

static void on_snapshot(void *ctx, uint32_t peer, uint64_t log_start)
{
    (void)ctx, (void)peer, (void)log_start;
}

static void start(uint32_t pre_vote)
{
    net = calloc(1, sizeof(*net));
    ck_assert_ptr_nonnull(net);
    net->now = 1000000;
    for (uint32_t i = 0; i < N; i++) {
        ck_assert_int_eq(persist_mem_init(&net->pm[i]), 0);
        net->ctx_id[i] = i;
        struct cons_host host = {&net->ctx_id[i], on_send,          on_deliver, on_done,
                                 on_snapshot,     &persist_mem_ops, &net->pm[i]};
        struct engine_config cfg = {.self = i, .n_nodes = N, .rng_seed = 7 + i};
        cons_params_default(&cfg.params);
        cfg.params.pre_vote = pre_vote;
        ck_assert_int_eq(engine_create(&net->e[i], &cfg, &host, net->now), 0);
    }
}

static void stop(void)
{
    for (uint32_t i = 0; i < N; i++) {
        engine_destroy(net->e[i]);
        persist_mem_free(&net->pm[i]);
    }
    for (uint32_t i = 0; i < net->n; i++)
        free(net->q[i].data);
    free(net);
}

/* Delivers what is queued (answers queue behind), then ticks every node. */
static void step(void)
{
    net->now += STEP_US;
    for (int pass = 0; pass < 8 && net->n; pass++) {
        uint32_t n = net->n;
        static struct packet batch[MAX_NET];
        memcpy(batch, net->q, n * sizeof(batch[0]));
        net->n = 0;
        for (uint32_t i = 0; i < n; i++) {
            ck_assert_int_eq(
                engine_receive(net->e[batch[i].to], batch[i].data, batch[i].len, net->now), 0);
            free(batch[i].data);
        }
    }
    for (uint32_t i = 0; i < N; i++)
        ck_assert_int_eq(engine_tick(net->e[i], net->now), 0);
}

static void run_for(uint64_t us)
{
    for (uint64_t t = 0; t < us; t += STEP_US)
        step();
}

/* The node every node calls leader, with a quorum, or -1. */
static int agreed_leader(uint32_t among)
{
    int l = -1;
    for (uint32_t i = 0; i < N; i++) {
        if (!((among >> i) & 1))
            continue;
        struct engine_status st;
        engine_status(net->e[i], &st);
        if (!st.quorum_ok || st.leader < 0 || (l >= 0 && st.leader != l))
            return -1;
        l = st.leader;
    }
    return l;
}

static int wait_leader(uint32_t among)
{
    for (int i = 0; i < 2000; i++) {
        int l = agreed_leader(among);
        if (l >= 0)
            return l;
        step();
    }
    ck_abort_msg("no leader within 10 s");
    return -1;
}

static void status(uint32_t i, struct engine_status *st)
{
    engine_status(net->e[i], st);
}

/* Every packet to `to` is lost for `us`; the others keep hearing the leader. */
static void deafen(uint32_t to, uint64_t us)
{
    for (uint32_t i = 0; i < N; i++)
        net->cut[i][to] = 1;
    run_for(us);
    memset(net->cut, 0, sizeof(net->cut));
}

/* Returns the follower deafened and the leader's ballot before and after. */
static void deafen_a_follower(uint64_t *before, uint64_t *after, uint64_t *promised_before,
                              uint64_t *promised_after, uint32_t *f)
{
    int l = wait_leader((1u << N) - 1);
    struct engine_status st;
    status((uint32_t)l, &st);
    *before = st.ballot;
    *f = ((uint32_t)l + 1) % N;
    status(*f, &st);
    *promised_before = st.promised;
    deafen(*f, 3000000); /* 3 s: five to ten election timeouts */
    status(*f, &st);
    *promised_after = st.promised;
    run_for(2000000);
    l = wait_leader((1u << N) - 1);
    status((uint32_t)l, &st);
    *after = st.ballot;
}

START_TEST(test_deaf_follower_does_not_depose_the_leader)
{
    start(1);
    uint64_t before, after, pb, pa;
    uint32_t f;
    deafen_a_follower(&before, &after, &pb, &pa, &f);
    ck_assert_uint_eq(after, before);
    ck_assert_uint_eq(pa, pb); /* it asked, it raised no round */
    stop();
}
END_TEST

/* Without pre-vote the same follower deposes the leader: the check above
 * can fail. */
START_TEST(test_without_prevote_the_leader_changes)
{
    start(0);
    uint64_t before, after, pb, pa;
    uint32_t f;
    deafen_a_follower(&before, &after, &pb, &pa, &f);
    ck_assert_uint_gt(pa, pb);
    ck_assert_uint_ne(after, before);
    stop();
}
END_TEST

START_TEST(test_dead_leader_is_replaced)
{
    start(1);
    uint32_t l = (uint32_t)wait_leader((1u << N) - 1);
    for (uint32_t i = 0; i < N; i++)
        net->cut[l][i] = net->cut[i][l] = 1;
    uint32_t rest = ((1u << N) - 1) & ~(1u << l);
    run_for(1000000); /* past the followers' election_max of trust */
    int nl = wait_leader(rest);
    ck_assert_int_ne(nl, (int)l);
    stop();
}
END_TEST

/* A granted pre-vote is an answer only: the granter's promise is unchanged
 * until the real PREPARE. */
START_TEST(test_prevote_changes_no_state)
{
    start(1);
    struct engine_status st0, st1;
    status(1, &st0);
    static struct cons_msg m;
    static uint8_t buf[CONS_MSG_MAX];
    memset(&m, 0, sizeof(m));
    m.type = MSG_PREVOTE;
    m.from = 2;
    m.ballot = (uint64_t)1000 << 8 | 2;
    long len = msg_encode(&m, buf, sizeof(buf));
    ck_assert_int_gt(len, 0);
    ck_assert_int_eq(engine_receive(net->e[1], buf, (size_t)len, net->now), 0);
    status(1, &st1);
    ck_assert_uint_eq(st1.promised, st0.promised);
    ck_assert_uint_eq(net->n, 1); /* the PREVOTE_OK */
    ck_assert_int_eq(msg_decode(net->q[0].data, net->q[0].len, &m), 0);
    ck_assert_uint_eq(m.type, MSG_PREVOTE_OK);
    ck_assert_uint_eq(net->q[0].to, 2);
    stop();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("consensus-prevote");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_deaf_follower_does_not_depose_the_leader);
    tcase_add_test(tc, test_without_prevote_the_leader_changes);
    tcase_add_test(tc, test_dead_leader_is_replaced);
    tcase_add_test(tc, test_prevote_changes_no_state);
    suite_add_tcase(s, tc);
    return check_run(s);
}
