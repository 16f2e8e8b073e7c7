/*
 * Pre-vote (consensus/leader.c, leader_start_prevote): a node that misses
 * the leader's heartbeats while the others hear it must not depose that
 * leader nor raise its round; a dead leader is still replaced. Three
 * engines on an in-memory network whose links the test cuts one way.
 * The same run with pre_vote = 0 shows the check can fail: the leader
 * changes.
 */
#include "consensus/msg_codec.h"
#include "tests/consensus/engine_net.h"

#include "tests/check_run.h"
#include <string.h>

#define N ENET_N

static void start(uint32_t pre_vote)
{
    struct cons_params p;
    cons_params_default(&p);
    p.pre_vote = pre_vote;
    enet_start(&p);
}

static void status(uint32_t i, struct engine_status *st)
{
    engine_status(enet->e[i], st);
}

/* Every packet to `to` is lost for `us`; the others keep hearing the leader. */
static void deafen(uint32_t to, uint64_t us)
{
    for (uint32_t i = 0; i < N; i++)
        enet->cut[i][to] = 1;
    enet_run_for(us);
    memset(enet->cut, 0, sizeof(enet->cut));
}

/* Returns the follower deafened and the leader's ballot before and after. */
static void deafen_a_follower(uint64_t *before, uint64_t *after, uint64_t *promised_before,
                              uint64_t *promised_after, uint32_t *f)
{
    int l = enet_wait_leader((1u << N) - 1);
    struct engine_status st;
    status((uint32_t)l, &st);
    *before = st.ballot;
    *f = ((uint32_t)l + 1) % N;
    status(*f, &st);
    *promised_before = st.promised;
    deafen(*f, 3000000); /* 3 s: five to ten election timeouts */
    status(*f, &st);
    *promised_after = st.promised;
    enet_run_for(2000000);
    l = enet_wait_leader((1u << N) - 1);
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
    enet_stop();
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
    enet_stop();
}
END_TEST

START_TEST(test_dead_leader_is_replaced)
{
    start(1);
    uint32_t l = (uint32_t)enet_wait_leader((1u << N) - 1);
    for (uint32_t i = 0; i < N; i++)
        enet->cut[l][i] = enet->cut[i][l] = 1;
    uint32_t rest = ((1u << N) - 1) & ~(1u << l);
    enet_run_for(1000000); /* past the followers' election_max of trust */
    int nl = enet_wait_leader(rest);
    ck_assert_int_ne(nl, (int)l);
    enet_stop();
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
    ck_assert_int_eq(engine_receive(enet->e[1], buf, (size_t)len, enet->now), 0);
    status(1, &st1);
    ck_assert_uint_eq(st1.promised, st0.promised);
    ck_assert_uint_eq(enet->n, 1); /* the PREVOTE_OK */
    ck_assert_int_eq(msg_decode(enet->q[0].data, enet->q[0].len, &m), 0);
    ck_assert_uint_eq(m.type, MSG_PREVOTE_OK);
    ck_assert_uint_eq(enet->q[0].to, 2);
    enet_stop();
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
