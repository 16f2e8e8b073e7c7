/*
 * Rebuild: how a node that lost its acceptor state comes back without
 * breaking a promise it no longer remembers (docs/consensus.md, "Rebuild").
 *
 * A node whose persisted state holds no promise, and that the host does not
 * know to be a new member, may have lost its state (a wiped or replaced
 * disk, a deleted data directory) after voting under the same identity.
 * Its forgotten votes may still count: a candidate holding its old promise,
 * a value chosen by a majority that included it. So it neither promises,
 * accepts nor stands until every other member has sent it
 *  - the highest ballot it promised or used: the node then promises above
 *    all of them, so no proposal that counted an old promise can use its
 *    accepts (whoever proposed that ballot reports it);
 *  - the slots it holds past its commit index, with their ballots: the node
 *    keeps the highest-ballot value of each, as if it had accepted it. A
 *    value chosen with the node's forgotten accept was accepted by another
 *    member too, and every later ballot carries it, so the highest-ballot
 *    value of such a slot is the chosen one;
 *  - its commit index: the node learns every slot up to the highest one
 *    reported (catch-up, or a snapshot), so it reports those as chosen.
 * Every member, not a majority: a ballot or a slot that only one member
 * knows is covered too. Meanwhile the node follows the leader's ACCEPTs
 * without answering them, catches up and forwards proposals like any
 * follower.
 */
#include "consensus/engine_internal.h"

#include "common/log.h"

#include "consensus/rng.h"

#include <string.h>

void rebuild_start(struct engine *e)
{
    e->rebuilding = 1;
    e->rb_done = 0;
    memset(e->rb_from, 0, sizeof(e->rb_from));
    e->rb_nonce = rng_next(&e->rng) | 1;
    e->rb_ballot = e->rb_commit = e->rb_leader = e->rb_sent_at = 0;
    log_info("consensus: this node's state holds no promise and it is not new: its state may "
             "have been lost, so it votes once every member has sent its own");
}

/* Any node answers: its promise, commit, and the slots it holds past it. */
int rebuild_on_state_req(struct engine *e, const struct cons_msg *m)
{
    struct cons_msg *o = &e->out;
    o->type = MSG_STATE_REP;
    o->stamp = m->stamp;
    o->promised = e->promised > e->ballot ? e->promised : e->ballot;
    o->commit = e->commit;
    o->count = 0;
    acceptor_fill_slots(e, m->slot > e->commit ? m->slot : e->commit + 1);
    return emit(e, 1u << m->from);
}

static int ask(struct engine *e, uint32_t to)
{
    e->out.type = MSG_STATE_REQ;
    e->out.stamp = e->rb_nonce;
    e->out.slot = e->rb_from[to];
    e->out.count = 0;
    return emit(e, 1u << to);
}

int rebuild_on_state_rep(struct engine *e, const struct cons_msg *m)
{
    observe_ballot(e, m->promised);
    note_peer_commit(e, m->commit, m->from);
    if (!e->rebuilding || m->stamp != e->rb_nonce || ((e->rb_done >> m->from) & 1))
        return 0;
    if (m->promised > e->rb_ballot)
        e->rb_ballot = m->promised;
    if (m->commit > e->rb_commit)
        e->rb_commit = m->commit;
    for (uint32_t i = 0; i < m->count; i++) {
        if (m->ent[i].slot <= e->commit)
            continue;
        observe_ballot(e, m->ent[i].ballot);
        /* saved: the promise that ends the rebuild must find it on disk */
        struct ring_slot *c = ring_get(&e->log, m->ent[i].slot);
        if (!c || adopt_value(e, c, &m->ent[i], 1) < 0) {
            e->rb_from[m->from] = m->ent[i].slot; /* the ring is full: later */
            return 0;
        }
    }
    advance_commit(e);
    if (m->next) {
        e->rb_from[m->from] = m->next;
        return ask(e, m->from);
    }
    e->rb_done |= 1u << m->from;
    return 0;
}

/* The leader's ACCEPT, followed without a vote: who leads (for forwarding
 * and quorum_ok) and how far it has committed (for catch-up). */
static void follow(struct engine *e, const struct cons_msg *m)
{
    if (m->ballot < e->rb_leader)
        return;
    e->rb_leader = m->ballot;
    e->leader = (int32_t)ballot_node(m->ballot);
    e->last_leader_msg = e->now;
    reset_election_timer(e);
    note_peer_commit(e, m->commit, m->from);
    if (m->trunc > e->trunc_hint)
        e->trunc_hint = m->trunc;
}

int rebuild_filter(struct engine *e, const struct cons_msg *m)
{
    if (!e->rebuilding)
        return 0;
    switch (m->type) {
    case MSG_ACCEPT:
        observe_ballot(e, m->ballot);
        follow(e, m);
        return 1;
    case MSG_PREPARE:
    case MSG_PREVOTE:
    case MSG_TIMEOUT_NOW:
        observe_ballot(e, m->ballot);
        return 1; /* unanswered: the sender counts it as silence */
    default:
        return 0;
    }
}

static void finish(struct engine *e)
{
    e->rebuilding = 0;
    if (e->rb_ballot > e->promised) {
        e->promised = e->rb_ballot; /* saved before any vote leaves (outbox.c) */
        e->state_dirty = 1;
    }
    reset_election_timer(e);
    log_info("consensus: every member sent its state and slots up to %llu are learned: voting "
             "from ballot %llu on",
             (unsigned long long)e->rb_commit, (unsigned long long)e->promised);
}

int rebuild_progress(struct engine *e)
{
    if (!e->rebuilding)
        return 0;
    uint32_t missing = all_others(e) & ~e->rb_done;
    if (!missing) {
        if (e->commit >= e->rb_commit)
            finish(e);
        return 0;
    }
    if (e->rb_sent_at && e->now < e->rb_sent_at + e->p.resend_us)
        return 0;
    e->rb_sent_at = e->now;
    for (uint32_t i = 0; i < e->n; i++) {
        if (!((missing >> i) & 1))
            continue;
        int rc = ask(e, i);
        if (rc < 0)
            return rc;
    }
    return 0;
}
