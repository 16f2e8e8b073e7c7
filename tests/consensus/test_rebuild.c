/*
 * Rebuild (consensus/rebuild.c): a node that lost its disk must not vote
 * until every member has sent its state. Three engines on the in-memory
 * network: slots 1..k are chosen by the leader L and W while O is cut off;
 * W loses its disk; L is cut off. O and W are a majority, but neither holds
 * those slots: W must not vote, so no leader is elected and nothing is
 * chosen over them. Once L is back, W rebuilds (learning the slots) and
 * votes. The same run with the broken variant no-rebuild shows the check
 * can fail: O and W elect a leader without L.
 */
#include "consensus/msg_codec.h"
#include "tests/consensus/engine_net.h"

#include "tests/check_run.h"
#include <string.h>

#define N   ENET_N
#define ALL ((1u << N) - 1)

static struct cons_params params;
static uint32_t L, O, W;
static uint64_t l_ballot; /* L's ballot when W lost its disk */

static void status(uint32_t i, struct engine_status *st)
{
    engine_status(enet->e[i], st);
}

static void cut_off(uint32_t x, int cut)
{
    for (uint32_t i = 0; i < N; i++)
        if (i != x)
            enet->cut[x][i] = enet->cut[i][x] = (uint8_t)cut;
}

static uint64_t commit_of(uint32_t i)
{
    struct engine_status st;
    status(i, &st);
    return st.commit;
}

static void propose_on_leader(uint64_t req)
{
    uint8_t cmd[16] = {0};
    memcpy(cmd, &req, sizeof(req));
    ck_assert_int_eq(engine_propose(enet->e[L], cmd, sizeof(cmd), req, enet->now), 0);
    ck_assert_int_eq(engine_tick(enet->e[L], enet->now), 0);
}

/* Up to the wipe: slots chosen by L and W alone; returns L's commit. */
static uint64_t chosen_without_o(uint32_t broken)
{
    cons_params_default(&params);
    enet_start(&params);
    L = (uint32_t)enet_wait_leader(ALL);
    O = (L + 1) % N;
    W = (L + 2) % N;
    enet_run_for(100000);
    cut_off(O, 1);
    for (uint64_t r = 1; r <= 5; r++)
        propose_on_leader(r);
    enet_run_for(200000);
    uint64_t c = commit_of(L);
    ck_assert_uint_gt(c, commit_of(O));
    struct engine_status st;
    status(L, &st);
    l_ballot = st.ballot;
    enet_wipe(W, &params, broken);
    cut_off(O, 0);
    cut_off(L, 1);
    enet_run_for(3000000); /* many election timeouts */
    return c;
}

START_TEST(test_wiped_node_waits_for_every_member)
{
    uint64_t c = chosen_without_o(0);
    struct engine_status st;
    status(W, &st);
    ck_assert_int_eq(st.rebuilding, 1);
    ck_assert_uint_eq(st.rebuild_missing, 1u << L); /* O answered, L did not */
    ck_assert_int_lt(enet_agreed_leader((1u << O) | (1u << W)), 0);
    ck_assert_uint_lt(commit_of(O), c); /* nothing chosen without L */

    cut_off(L, 0);
    for (int i = 0; i < 400 && (st.rebuilding || commit_of(O) < c); i++) {
        enet_step();
        status(W, &st);
    }
    ck_assert_int_eq(st.rebuilding, 0);
    ck_assert_uint_ge(st.commit, c);
    ck_assert_uint_ge(st.promised, l_ballot); /* every ballot reported to it */
    ck_assert_int_ge(enet_wait_leader(ALL), 0);
    enet_stop();
}
END_TEST

START_TEST(test_without_rebuild_a_majority_forms_without_the_data)
{
    chosen_without_o(BROKEN_NO_REBUILD);
    ck_assert_int_ge(enet_agreed_leader((1u << O) | (1u << W)), 0);
    enet_stop();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("rebuild");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_wiped_node_waits_for_every_member);
    tcase_add_test(tc, test_without_rebuild_a_majority_forms_without_the_data);
    suite_add_tcase(s, tc);
    return check_run(s);
}
