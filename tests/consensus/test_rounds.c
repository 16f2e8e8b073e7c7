/*
 * Group commit in the leader's accept rounds (consensus/leader.c, pump):
 * with a round in flight, commands that arrive wait and go together in the
 * next round, unless they fill a whole round, which goes at once. Three
 * engines on the in-memory network; the test watches the ACCEPTs carrying
 * entries that the leader sends to one follower.
 */
#include "consensus/msg_codec.h"
#include "tests/consensus/engine_net.h"

#include "tests/check_run.h"
#include <string.h>

static uint32_t leader, follower;
static uint32_t rounds[256]; /* entries of each round the follower was sent */
static uint32_t n_rounds;

static void watch(uint32_t from, uint32_t to, const uint8_t *b, size_t len)
{
    static struct cons_msg m;
    if (from != leader || to != follower || msg_decode(b, len, &m) != 0)
        return;
    if (m.type == MSG_ACCEPT && m.count > 0 && n_rounds < 256)
        rounds[n_rounds++] = m.count;
}

static void start(void)
{
    struct cons_params p;
    cons_params_default(&p);
    enet_start(&p);
    leader = (uint32_t)enet_wait_leader((1u << ENET_N) - 1);
    follower = (leader + 1) % ENET_N;
    enet_run_for(100000); /* the leadership's first round (its NOOP) settles */
    n_rounds = 0;
    enet->watch = watch;
}

/* As the host does: the proposal, then the tick that starts rounds (the
 * leader only queues a proposal; paxos_loop.c's turn()). */
static void propose(uint64_t req)
{
    uint8_t cmd[16] = {0};
    memcpy(cmd, &req, sizeof(req));
    ck_assert_int_eq(engine_propose(enet->e[leader], cmd, sizeof(cmd), req, enet->now), 0);
    ck_assert_int_eq(engine_tick(enet->e[leader], enet->now), 0);
}

START_TEST(test_commands_wait_for_the_round_in_flight)
{
    start();
    propose(1);
    ck_assert_uint_eq(n_rounds, 1); /* nothing in flight: at once */
    propose(2);
    propose(3);
    ck_assert_uint_eq(n_rounds, 1); /* they wait for round 1 */
    enet_run_for(50000);
    ck_assert_uint_eq(n_rounds, 2);
    ck_assert_uint_eq(rounds[0], 1);
    ck_assert_uint_eq(rounds[1], 2); /* together */
    enet_stop();
}
END_TEST

START_TEST(test_a_full_round_goes_at_once)
{
    start();
    propose(1);
    struct cons_params p;
    cons_params_default(&p);
    for (uint64_t r = 0; r < p.batch_max; r++)
        propose(2 + r);
    ck_assert_uint_eq(n_rounds, 2); /* round 1 is still in flight */
    ck_assert_uint_eq(rounds[1], p.batch_max);
    enet_run_for(50000);
    ck_assert_uint_eq(n_rounds, 2);
    enet_stop();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("consensus-rounds");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_commands_wait_for_the_round_in_flight);
    tcase_add_test(tc, test_a_full_round_goes_at_once);
    suite_add_tcase(s, tc);
    return check_run(s);
}
