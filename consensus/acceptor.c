/*
 * Acceptor: answers PREPARE and ACCEPT. Its promise and accepted values
 * reach the persist batch before any answer leaves (see outbox.c).
 */
#include "consensus/engine_internal.h"

void observe_ballot(struct engine *e, uint64_t b)
{
    if (ballot_round(b) > e->max_round)
        e->max_round = ballot_round(b);
}

static int send_nack(struct engine *e, const struct cons_msg *m)
{
    e->out.type = MSG_NACK;
    e->out.ballot = m->ballot;
    e->out.promised = e->promised;
    e->out.count = 0;
    return emit(e, 1u << m->from);
}

/* A follower that hears a live leader ignores other candidates, so a node
 * coming back from a partition with a high round does not depose it. */
static int leader_is_fresh(const struct engine *e, uint64_t b)
{
    return e->role == ROLE_FOLLOWER && e->leader >= 0 && (uint32_t)e->leader != ballot_node(b) &&
           e->now < e->last_leader_msg + e->p.election_min_us;
}

/* Pre-vote (see leader_start_prevote): yes unless this node hears a live
 * leader, as a follower within election_min or as a leader answered by a
 * majority within it. A no is silence; the asker tries again at its next
 * timeout. Nothing changes here, so the answer needs no save. */
int acceptor_prevote(struct engine *e, const struct cons_msg *m)
{
    if (leader_is_fresh(e, m->ballot))
        return 0;
    if (e->role == ROLE_LEADER && leader_heard_quorum(e, e->p.election_min_us))
        return 0;
    e->out.type = MSG_PREVOTE_OK;
    e->out.ballot = m->ballot;
    e->out.promised = e->promised;
    e->out.count = 0;
    return emit(e, 1u << m->from);
}

void acceptor_fill_slots(struct engine *e, uint64_t from)
{
    struct cons_msg *o = &e->out;
    size_t bytes = msg_encoded_size(o);
    uint64_t s = from < e->log.start ? e->log.start : from;
    o->next = 0;
    for (; s < e->log.high; s++) {
        struct ring_slot *c = ring_get(&e->log, s);
        if (!c)
            break;
        if (c->state == SLOT_EMPTY)
            continue;
        size_t add = msg_entry_size(MSG_PROMISE, c->len);
        if (o->count == CONS_MSG_MAX_ENTRIES || bytes + add > CONS_MSG_MAX) {
            o->next = s;
            break;
        }
        struct cons_msg_entry *me = &o->ent[o->count++];
        me->slot = s;
        me->ballot = c->ballot;
        me->flags = c->state == SLOT_CHOSEN ? CONS_REC_CHOSEN : 0;
        me->e = ring_entry(c);
        bytes += add;
    }
}

int acceptor_prepare(struct engine *e, const struct cons_msg *m)
{
    uint64_t b = m->ballot;
    observe_ballot(e, b);
    if (b < e->promised)
        return send_nack(e, m);
    if (b > e->promised) {
        /* A restarted node forgot whose ACCEPT it last acknowledged; that
         * leader's lease may still count on it (leader_lease_until). */
        if (leader_is_fresh(e, b) || e->now < e->quiet_until)
            return 0;
        if (e->role != ROLE_FOLLOWER)
            step_down(e);
        e->promised = b;
        e->state_dirty = 1;
        if (e->leader != (int32_t)ballot_node(b)) /* kept: the node a leader handed over to */
            e->leader = -1;
        reset_election_timer(e);
    }
    struct cons_msg *o = &e->out;
    o->type = MSG_PROMISE;
    o->ballot = b;
    o->commit = e->commit;
    o->log_start = e->log.start;
    o->count = 0;
    acceptor_fill_slots(e, m->slot);
    return emit(e, 1u << m->from);
}

/* Stores the round's values; 0 if some slot is beyond the ring (no ack). */
static int store_round(struct engine *e, const struct cons_msg *m)
{
    for (uint32_t i = 0; i < m->count; i++) {
        uint64_t s = m->slot + i;
        if (s < e->log.start)
            continue; /* applied and truncated: chosen long ago */
        struct ring_slot *c = ring_get(&e->log, s);
        if (!c)
            return 0;
        if (c->state == SLOT_CHOSEN || (c->state == SLOT_ACCEPTED && c->ballot == m->ballot))
            continue;
        if (ring_set_value(&e->log, c, &m->ent[i].e) < 0)
            return 0;
        c->ballot = m->ballot;
        c->state = SLOT_ACCEPTED;
        mark_dirty(e, c);
    }
    return 1;
}

int acceptor_accept(struct engine *e, const struct cons_msg *m)
{
    uint64_t b = m->ballot;
    observe_ballot(e, b);
    if (b < e->promised)
        return send_nack(e, m);
    if (b > e->promised) {
        e->promised = b;
        e->state_dirty = 1;
    }
    if (e->role != ROLE_FOLLOWER)
        step_down(e);
    e->leader = (int32_t)ballot_node(b);
    e->last_leader_msg = e->now;
    e->pv_ballot = 0;
    reset_election_timer(e);
    int stored = store_round(e, m);
    learn_commit(e, m->commit, b, m->from);
    if (m->trunc > e->trunc_hint)
        e->trunc_hint = m->trunc;
    if (!stored)
        return 0;
    struct cons_msg *o = &e->out;
    o->type = MSG_ACCEPTED;
    o->ballot = b;
    o->slot = m->slot;
    o->count = m->count;
    o->applied = e->applied;
    o->commit = e->commit;
    o->stamp = m->stamp;
    return emit(e, 1u << m->from);
}
