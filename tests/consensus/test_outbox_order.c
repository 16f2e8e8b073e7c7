/*
 * What leaves before the save and what waits for it (consensus/outbox.c):
 * a leader's ACCEPT goes out before its own batch is saved (its fsync then
 * overlaps the followers'), but its own vote counts only once saved; a
 * candidate's PREPARE and an acceptor's ACCEPTED leave only after the save;
 * a leader whose save failed comes back with a higher ballot, never reusing
 * the one its unsaved ACCEPT carried. And what a leader does when no
 * majority answers it (check-quorum): it steps down.
 */
#include "consensus/engine.h"
#include "consensus/msg_codec.h"
#include "consensus/persist_mem.h"

#include "tests/check_run.h"
#include <string.h>

#define MAX_EV 256

struct ev {
    char kind; /* 's' save, 'm' message sent */
    uint8_t type;
    uint32_t count, to;
    uint64_t ballot, slot; /* message ballot, or the save's promised */
};

struct host {
    struct persist_mem pm;
    struct ev ev[MAX_EV];
    uint32_t n_ev;
    int64_t done; /* proposal_done of req 1 */
    uint64_t delivered;
};

static struct cons_msg scratch; /* large: not on the stack */

static void add_ev(struct host *h, struct ev ev)
{
    ck_assert_uint_lt(h->n_ev, MAX_EV);
    h->ev[h->n_ev++] = ev;
}

static void on_send(void *ctx, uint32_t to, const uint8_t *b, size_t n)
{
    ck_assert_int_eq(msg_decode(b, n, &scratch), 0);
    add_ev(ctx, (struct ev){'m', scratch.type, scratch.count, to, scratch.ballot, scratch.slot});
}

static int on_save(void *ctx, const struct cons_persist_batch *b)
{
    struct host *h = ctx;
    if (!h->pm.fail_next)
        add_ev(h, (struct ev){'s', 0, (uint32_t)b->n, 0, b->st.promised, 0});
    return persist_mem_ops.save(&h->pm, b);
}

static int on_load(void *ctx, struct cons_persist_state *st,
                   int (*each)(void *arg, const struct cons_rec *r), void *arg)
{
    return persist_mem_ops.load(&((struct host *)ctx)->pm, st, each, arg);
}

static const struct cons_persist_ops counting_ops = {on_save, on_load};

static int on_deliver(void *ctx, uint64_t slot, const struct cons_entry *e)
{
    (void)e;
    ((struct host *)ctx)->delivered = slot;
    return 0;
}

static void on_done(void *ctx, uint64_t req, int64_t res)
{
    if (req == 1)
        ((struct host *)ctx)->done = res;
}

static void on_snapshot(void *ctx, uint32_t peer, uint64_t log_start)
{
    (void)ctx, (void)peer, (void)log_start;
}

static struct engine *start(struct host *h, uint32_t self, uint64_t now)
{
    if (!h->pm.cap) { /* a fresh host */
        memset(h, 0, sizeof(*h));
        ck_assert_int_eq(persist_mem_init(&h->pm), 0);
    }
    struct cons_host host = {h, on_send, on_deliver, on_done, on_snapshot, &counting_ops, h};
    struct engine_config cfg = {.self = self, .n_nodes = 3, .rng_seed = 11 + self, .new_member = 1};
    cons_params_default(&cfg.params);
    struct engine *e;
    ck_assert_int_eq(engine_create(&e, &cfg, &host, now), 0);
    return e;
}

/* Index of the first event of kind/type (type 0: any) from `from`, or -1. */
static int find(const struct host *h, uint32_t from, char kind, uint8_t type, uint32_t min_count)
{
    for (uint32_t i = from; i < h->n_ev; i++)
        if (h->ev[i].kind == kind && (!type || h->ev[i].type == type) &&
            h->ev[i].count >= min_count)
            return (int)i;
    return -1;
}

static void feed(struct engine *e, const struct cons_msg *m, uint64_t now)
{
    static uint8_t buf[CONS_MSG_MAX];
    long len = msg_encode(m, buf, sizeof(buf));
    ck_assert_int_gt(len, 0);
    ck_assert_int_eq(engine_receive(e, buf, (size_t)len, now), 0);
}

/* Ticks node 0 until it asks for a pre-vote, which node 1 grants; returns
 * the ballot of the PREPARE that follows. */
static uint64_t run_election(struct engine *e, struct host *h, uint64_t *now)
{
    int pv = -1;
    for (int i = 0; i < 2000 && pv < 0; i++) {
        ck_assert_int_eq(engine_tick(e, *now += 5000), 0);
        pv = find(h, 0, 'm', MSG_PREVOTE, 0);
    }
    ck_assert_int_ge(pv, 0);
    ck_assert_int_lt(find(h, 0, 'm', MSG_PREPARE, 0), 0); /* no round raised yet */
    memset(&scratch, 0, sizeof(scratch));
    scratch.type = MSG_PREVOTE_OK;
    scratch.from = 1;
    scratch.ballot = h->ev[pv].ballot;
    feed(e, &scratch, *now);
    int at = find(h, 0, 'm', MSG_PREPARE, 0);
    ck_assert_int_ge(at, 0);
    int saved = find(h, 0, 's', 0, 0);
    ck_assert_int_ge(saved, 0);
    ck_assert_int_lt(saved, at); /* the ballot is durable before it is used */
    ck_assert_uint_ge(h->ev[saved].ballot, h->ev[at].ballot);
    return h->ev[at].ballot;
}

static void become_leader(struct engine *e, struct host *h, uint64_t *now)
{
    uint64_t b = run_election(e, h, now);
    memset(&scratch, 0, sizeof(scratch));
    scratch.type = MSG_PROMISE;
    scratch.from = 1;
    scratch.ballot = b;
    scratch.log_start = 1;
    feed(e, &scratch, *now);
    struct engine_status st;
    engine_status(e, &st);
    ck_assert_int_eq(st.role, ROLE_LEADER);
    ck_assert_uint_eq(st.ballot, b);
}

/* A fresh node 0 that won an election; st: its status then. */
static struct engine *start_leader(struct host *h, uint64_t *now, struct engine_status *st)
{
    struct engine *e = start(h, 0, *now);
    become_leader(e, h, now);
    engine_status(e, st);
    return e;
}

START_TEST(test_leader_sends_accept_before_its_save)
{
    static struct host h;
    uint64_t now = 1000000;
    struct engine *e = start(&h, 0, now);
    become_leader(e, &h, &now);
    uint32_t mark = h.n_ev;
    ck_assert_int_eq(engine_propose(e, (const uint8_t *)"x", 1, 1, now), 0);
    ck_assert_int_eq(engine_tick(e, now), 0); /* the host ticks after proposing */
    int acc = find(&h, mark, 'm', MSG_ACCEPT, 1);
    int saved = find(&h, mark, 's', 0, 1);
    ck_assert_int_ge(acc, 0);
    ck_assert_int_gt(saved, acc); /* sent first, saved while it travels */
    ck_assert_int_ge(find(&h, (uint32_t)acc + 1, 'm', MSG_ACCEPT, 1), 0); /* to both peers */

    /* Its own saved vote alone is no majority: nothing is chosen yet. */
    ck_assert_int_eq(h.done, 0);
    struct engine_status st;
    engine_status(e, &st);
    uint64_t slot = h.ev[acc].slot;
    ck_assert_uint_lt(st.commit, slot);

    memset(&scratch, 0, sizeof(scratch));
    scratch.type = MSG_ACCEPTED;
    scratch.from = 2;
    scratch.ballot = st.ballot;
    scratch.slot = slot;
    scratch.count = 1;
    feed(e, &scratch, now);
    ck_assert_int_eq(h.done, (int64_t)slot); /* own durable vote + node 2 */
    ck_assert_uint_eq(h.delivered, slot);
    engine_destroy(e);
    persist_mem_free(&h.pm);
}
END_TEST

START_TEST(test_acceptor_answers_after_its_save)
{
    static struct host h;
    uint64_t now = 1000000;
    struct engine *e = start(&h, 1, now);
    memset(&scratch, 0, sizeof(scratch));
    scratch.type = MSG_ACCEPT;
    scratch.from = 0;
    scratch.ballot = ballot_make(1, 0);
    scratch.slot = 1;
    scratch.count = 1;
    scratch.ent[0].e = (struct cons_entry){0, 9, CONS_KIND_CMD, 1, (const uint8_t *)"y"};
    feed(e, &scratch, now);
    int saved = find(&h, 0, 's', 0, 1);
    int ans = find(&h, 0, 'm', MSG_ACCEPTED, 1);
    ck_assert_int_ge(saved, 0);
    ck_assert_int_gt(ans, saved);
    engine_destroy(e);
    persist_mem_free(&h.pm);
}
END_TEST

START_TEST(test_failed_save_never_reuses_the_ballot)
{
    static struct host h;
    uint64_t now = 1000000;
    struct engine_status st;
    struct engine *e = start_leader(&h, &now, &st);
    uint32_t mark = h.n_ev;
    ck_assert_int_eq(engine_propose(e, (const uint8_t *)"x", 1, 1, now), 0);
    h.pm.fail_next = 1; /* the crash in the middle of the round's save */
    ck_assert_int_lt(engine_tick(e, now), 0);
    int acc = find(&h, mark, 'm', MSG_ACCEPT, 1);
    ck_assert_int_ge(acc, 0); /* it had left: a follower may accept it */
    ck_assert_uint_eq(h.ev[acc].ballot, st.ballot);
    engine_destroy(e);

    /* Restarted from what was saved: a new leadership needs a new ballot. */
    h.n_ev = 0;
    e = start(&h, 0, now);
    ck_assert_uint_gt(run_election(e, &h, &now), st.ballot);
    engine_destroy(e);
    persist_mem_free(&h.pm);
}
END_TEST

/* A follower's answer to a heartbeat (an empty ACCEPTED) in ballot b. */
static void heartbeat_ack(struct engine *e, uint32_t from, uint64_t b, uint64_t now)
{
    memset(&scratch, 0, sizeof(scratch));
    scratch.type = MSG_ACCEPTED;
    scratch.from = from;
    scratch.ballot = b;
    feed(e, &scratch, now);
}

/* Ticks every 10 ms with nobody answering until the leader steps down or
 * `limit` passes; the time it stepped down (0: it did not). */
static uint64_t tick_until_step_down(struct engine *e, uint64_t *now, uint64_t limit)
{
    struct engine_status st;
    do {
        *now += 10000;
        ck_assert_int_eq(engine_tick(e, *now), 0);
        engine_status(e, &st);
    } while (st.role == ROLE_LEADER && *now < limit);
    return st.role == ROLE_LEADER ? 0 : *now;
}

START_TEST(test_leader_without_a_majority_steps_down)
{
    static struct host h;
    uint64_t now = 1000000, max = 600000;
    struct engine_status st;
    struct engine *e = start_leader(&h, &now, &st);
    uint64_t b = st.ballot;
    /* Node 2 answers for three election timeouts: one follower and itself
     * are a majority of three. */
    for (int i = 0; i < 60; i++) {
        now += 30000;
        ck_assert_int_eq(engine_tick(e, now), 0);
        heartbeat_ack(e, 2, b, now);
    }
    engine_status(e, &st);
    ck_assert_int_eq(st.role, ROLE_LEADER);
    ck_assert_int_eq(st.quorum_ok, 1);

    /* Then nobody answers: no quorum after one election timeout (its own
     * mutations fail at once), stepped down after two. */
    uint64_t last = now;
    uint64_t down = tick_until_step_down(e, &now, last + 3 * max);
    ck_assert_uint_gt(down, last + 2 * max - 1);
    ck_assert_uint_le(down, last + 2 * max + 10000);
    engine_status(e, &st);
    ck_assert_int_eq(st.quorum_ok, 0);
    ck_assert_int_lt(st.leader, 0);
    engine_destroy(e);
    persist_mem_free(&h.pm);
}
END_TEST

/* A leader that itself did not run (a long fsync) heard nobody because it
 * sent nothing: its followers get a fresh window from its first tick. */
START_TEST(test_leader_own_stall_is_not_a_lost_quorum)
{
    static struct host h;
    uint64_t now = 1000000, max = 600000;
    struct engine_status st;
    struct engine *e = start_leader(&h, &now, &st);
    heartbeat_ack(e, 2, st.ballot, now);
    now += 3 * max; /* the stall */
    uint64_t resumed = now;
    ck_assert_int_eq(engine_tick(e, now), 0);
    engine_status(e, &st);
    ck_assert_int_eq(st.role, ROLE_LEADER);
    /* Still nobody: down two election timeouts after it resumed. */
    uint64_t down = tick_until_step_down(e, &now, resumed + 3 * max);
    ck_assert_uint_ge(down, resumed + 2 * max);
    ck_assert_uint_le(down, resumed + 2 * max + 10000);
    engine_destroy(e);
    persist_mem_free(&h.pm);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("consensus-outbox");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_leader_sends_accept_before_its_save);
    tcase_add_test(tc, test_acceptor_answers_after_its_save);
    tcase_add_test(tc, test_failed_save_never_reuses_the_ballot);
    tcase_add_test(tc, test_leader_without_a_majority_steps_down);
    tcase_add_test(tc, test_leader_own_stall_is_not_a_lost_quorum);
    suite_add_tcase(s, tc);
    return check_run(s);
}
