/*
 * Leadership transfer (engine_transfer_leadership, consensus/leader.c):
 * the leader steps down with its read lease, keeps a leader to forward to,
 * and the node it names takes over in a few message delays instead of an
 * election timeout; refusals change nothing; a lost TIMEOUT_NOW costs an
 * ordinary election. Three engines on the in-memory network of
 * engine_net.h.
 */
#include "consensus/msg_codec.h"
#include "tests/consensus/engine_net.h"

#include "tests/check_run.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define N   ENET_N
#define ALL ((1u << N) - 1)

static struct cons_params params;

static void start(void)
{
    cons_params_default(&params);
    enet_start(&params);
}

static void status(uint32_t i, struct engine_status *st)
{
    engine_status(enet->e[i], st);
}

/* A leader that has heard every follower since it took office. */
static uint32_t settled_leader(void)
{
    uint32_t l = (uint32_t)enet_wait_leader(ALL);
    enet_run_for(4 * params.heartbeat_us);
    return l;
}

/* Steps until `to` leads with everyone's agreement; the steps it took. */
static int steps_until_leader(uint32_t to, int max)
{
    for (int i = 0; i < max; i++) {
        if (enet_agreed_leader(ALL) == (int)to)
            return i;
        enet_step();
    }
    return -1;
}

START_TEST(test_named_node_takes_over_within_an_election_timeout)
{
    start();
    uint32_t l = settled_leader(), to = (l + 1) % N;
    struct engine_status st;
    status(l, &st);
    ck_assert_uint_gt(st.lease_until, enet->now);
    uint64_t ballot = st.ballot;

    ck_assert_int_eq(engine_transfer_leadership(enet->e[l], to, enet->now), 0);
    status(l, &st);
    ck_assert_int_eq(st.role, ROLE_FOLLOWER);
    ck_assert_uint_eq(st.lease_until, 0); /* no local reads from here on */
    ck_assert_int_eq(st.leader, (int)to);
    ck_assert_int_ne(st.quorum_ok, 0); /* its mutations are forwarded, not EROFS */

    /* `to` gets its TIMEOUT_NOW first: a candidate that still counts as led
     * (its host keeps taking mutations). */
    for (uint32_t i = 0; i < enet->n; i++)
        if (enet->q[i].to == to) {
            struct enet_packet pk = enet->q[i];
            enet->q[i] = enet->q[--enet->n];
            ck_assert_int_eq(engine_receive(enet->e[to], pk.data, pk.len, enet->now), 0);
            free(pk.data);
            break;
        }
    status(to, &st);
    ck_assert_int_eq(st.role, ROLE_CANDIDATE);
    ck_assert_int_ne(st.quorum_ok, 0);

    /* An election after a timeout would take election_min_us at least. And
     * `to` counts as led at every step: a candidate standing, then a leader
     * with the promises that elected it, before its first round is acked. */
    int steps = -1, max = (int)(params.election_min_us / 2 / ENET_STEP_US);
    for (int i = 0; i < max && steps < 0; i++) {
        status(to, &st);
        ck_assert_msg(st.quorum_ok, "step %d: role %d without a quorum", i, st.role);
        if (enet_agreed_leader(ALL) == (int)to)
            steps = i;
        else
            enet_step();
    }
    ck_assert_int_ge(steps, 0);
    status(to, &st);
    ck_assert_uint_gt(st.ballot, ballot);
    enet_stop();
}
END_TEST

/* A command the old leader proposes during the hand-over is decided once,
 * under the new leader. */
START_TEST(test_proposal_during_transfer_is_decided)
{
    start();
    uint32_t l = settled_leader(), to = (l + 2) % N;
    struct engine_status before, after;
    status(l, &before);
    ck_assert_int_eq(engine_transfer_leadership(enet->e[l], to, enet->now), 0);
    static const uint8_t cmd[] = "mkdir a";
    ck_assert_int_eq(engine_propose(enet->e[l], cmd, sizeof(cmd), 1, enet->now), 0);
    ck_assert_int_ge(steps_until_leader(to, 100), 0);
    for (int i = 0; i < 100; i++) {
        status(l, &after);
        if (after.pending == 0)
            break;
        enet_step();
    }
    ck_assert_uint_eq(after.pending, 0);
    ck_assert_uint_gt(after.commit, before.commit);
    enet_stop();
}
END_TEST

START_TEST(test_refusals_change_nothing)
{
    start();
    uint32_t l = settled_leader(), f = (l + 1) % N;
    struct engine_status st;
    ck_assert_int_eq(engine_transfer_leadership(enet->e[l], l, enet->now), -EINVAL);
    ck_assert_int_eq(engine_transfer_leadership(enet->e[l], N, enet->now), -EINVAL);
    ck_assert_int_eq(engine_transfer_leadership(enet->e[f], l, enet->now), -EAGAIN);
    /* A round in flight. */
    static const uint8_t cmd[] = "x";
    ck_assert_int_eq(engine_propose(enet->e[l], cmd, sizeof(cmd), 7, enet->now), 0);
    ck_assert_int_eq(engine_transfer_leadership(enet->e[l], f, enet->now), -EBUSY);
    enet_run_for(4 * params.heartbeat_us);
    /* A follower the leader has not heard for election_min_us. */
    for (uint32_t i = 0; i < N; i++)
        enet->cut[f][i] = 1;
    enet_run_for(params.election_min_us + ENET_STEP_US);
    ck_assert_int_eq(engine_transfer_leadership(enet->e[l], f, enet->now), -EBUSY);
    status(l, &st);
    ck_assert_int_eq(st.role, ROLE_LEADER);
    ck_assert_uint_gt(st.lease_until, enet->now);
    memset(enet->cut, 0, sizeof(enet->cut));
    enet_stop();
}
END_TEST

/* TIMEOUT_NOW lost: the cluster elects a leader as after a leader's failure. */
START_TEST(test_lost_timeout_now_costs_an_election)
{
    start();
    uint32_t l = settled_leader(), to = (l + 1) % N;
    enet->cut[l][to] = 1;
    ck_assert_int_eq(engine_transfer_leadership(enet->e[l], to, enet->now), 0);
    enet_step();
    enet->cut[l][to] = 0;
    ck_assert_int_lt(steps_until_leader(to, (int)(params.election_min_us / 2 / ENET_STEP_US)), 0);
    ck_assert_int_ge(enet_wait_leader(ALL), 0);
    enet_stop();
}
END_TEST

/* Only the leader the receiver follows, in the ballot it promised, can
 * make it stand. */
START_TEST(test_timeout_now_from_a_follower_is_ignored)
{
    start();
    uint32_t l = settled_leader(), f = (l + 1) % N, g = (l + 2) % N;
    struct engine_status before, after;
    status(f, &before);
    static struct cons_msg m;
    static uint8_t buf[64];
    memset(&m, 0, sizeof(m));
    m.type = MSG_TIMEOUT_NOW;
    m.from = (uint16_t)g;
    m.ballot = before.promised;
    long len = msg_encode(&m, buf, sizeof(buf));
    ck_assert_int_gt(len, 0);
    ck_assert_int_eq(engine_receive(enet->e[f], buf, (size_t)len, enet->now), 0);
    status(f, &after);
    ck_assert_int_eq(after.role, ROLE_FOLLOWER);
    ck_assert_uint_eq(after.promised, before.promised);
    enet_stop();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("consensus-transfer");
    TCase *tc = tcase_create("transfer");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_named_node_takes_over_within_an_election_timeout);
    tcase_add_test(tc, test_proposal_during_transfer_is_decided);
    tcase_add_test(tc, test_refusals_change_nothing);
    tcase_add_test(tc, test_lost_timeout_now_costs_an_election);
    tcase_add_test(tc, test_timeout_now_from_a_follower_is_ignored);
    suite_add_tcase(s, tc);
    return check_run(s);
}
