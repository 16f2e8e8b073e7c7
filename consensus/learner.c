/*
 * Learner: advances the commit index, delivers chosen entries in slot order,
 * catches up from peers, truncates the applied prefix of the log and asks
 * the host for a snapshot when a peer has truncated what this node needs.
 */
#include "consensus/engine_internal.h"

#include <string.h>

void advance_commit(struct engine *e)
{
    for (;;) {
        struct ring_slot *c = ring_get(&e->log, e->commit + 1);
        if (!c || c->state != SLOT_CHOSEN)
            return;
        e->commit++;
    }
}

void note_peer_commit(struct engine *e, uint64_t commit, uint32_t from)
{
    if (commit > e->commit && commit >= e->catchup_hint) {
        e->catchup_hint = commit;
        e->catchup_peer = (int32_t)from;
    }
}

/* The leader of `ballot` says slots <= commit are chosen. A slot this node
 * accepted in that same ballot holds the leader's (only) value for it. */
void learn_commit(struct engine *e, uint64_t commit, uint64_t ballot, uint32_t from)
{
    while (e->commit < commit) {
        struct ring_slot *c = ring_get(&e->log, e->commit + 1);
        if (!c)
            break;
        if (c->state == SLOT_ACCEPTED && c->ballot == ballot)
            c->state = SLOT_CHOSEN;
        if (c->state != SLOT_CHOSEN)
            break;
        e->commit++;
    }
    if (e->commit < commit)
        note_peer_commit(e, commit, from);
}

static void deliver(struct engine *e)
{
    while (e->delivered < e->commit) {
        uint64_t s = e->delivered + 1;
        struct ring_slot *c = ring_get(&e->log, s);
        if (!c)
            return; /* below log_start: only a snapshot can help */
        struct cons_entry en = ring_entry(c);
        int rc = e->host.deliver(e->host.ctx, s, &en);
        if (rc < 0)
            return;
        e->delivered = s;
        if (rc > 0)
            e->applied = s;
        proposer_committed(e, s, &en);
    }
}

/* Keeps what some member may still need, but never more than `retain`
 * applied slots: a member further behind than that gets a snapshot. */
static void maybe_truncate(struct engine *e)
{
    uint64_t all = e->role == ROLE_LEADER ? cluster_applied(e) : e->trunc_hint;
    uint64_t cap = e->applied > e->p.retain ? e->applied - e->p.retain : 0;
    uint64_t t = all > cap ? all : cap;
    if (t > e->applied)
        t = e->applied;
    if (t + 1 < e->log.start + TRUNC_HYST)
        return;
    e->log.start = t + 1;
    if (e->log.high < e->log.start)
        e->log.high = e->log.start;
    e->state_dirty = 1;
}

/* Asks the leader (it holds every committed entry) or else whoever last
 * showed a higher commit index. */
static int maybe_catchup(struct engine *e)
{
    int32_t to = e->leader >= 0 && (uint32_t)e->leader != e->self ? e->leader : e->catchup_peer;
    if (e->catchup_hint <= e->commit || to < 0 || (uint32_t)to == e->self ||
        e->now < e->catchup_sent_at + e->p.resend_us)
        return 0;
    e->catchup_sent_at = e->now;
    e->out.type = MSG_CATCHUP_REQ;
    e->out.slot = e->commit + 1;
    e->out.count = 0;
    return emit(e, 1u << to);
}

int learner_progress(struct engine *e)
{
    advance_commit(e);
    deliver(e);
    maybe_truncate(e);
    return maybe_catchup(e);
}

int learner_on_catchup_req(struct engine *e, const struct cons_msg *m)
{
    struct cons_msg *o = &e->out;
    o->type = MSG_CATCHUP_REP;
    o->log_start = e->log.start;
    o->commit = e->commit;
    o->slot = m->slot;
    o->count = 0;
    size_t bytes = msg_encoded_size(o);
    for (uint64_t s = m->slot; s <= e->commit && o->count < CONS_MSG_MAX_ENTRIES; s++) {
        struct ring_slot *c = ring_get(&e->log, s);
        if (!c || c->state != SLOT_CHOSEN)
            break;
        size_t add = msg_entry_size(MSG_CATCHUP_REP, c->len);
        if (bytes + add > CONS_MSG_MAX)
            break;
        o->ent[o->count].ballot = c->ballot;
        o->ent[o->count++].e = ring_entry(c);
        bytes += add;
    }
    return emit(e, 1u << m->from);
}

static int same_value(const struct ring_slot *c, const struct cons_entry *en)
{
    return c->origin == en->origin && c->req_id == en->req_id && c->kind == en->kind &&
           c->len == en->len && (!c->len || !memcmp(c->data, en->data, c->len));
}

static void ask_snapshot(struct engine *e, const struct cons_msg *m)
{
    if (e->snap_asked_at && e->now < e->snap_asked_at + e->p.election_max_us)
        return;
    e->snap_asked_at = e->now;
    e->host.need_snapshot(e->host.ctx, m->from, m->log_start);
}

int learner_on_catchup_rep(struct engine *e, const struct cons_msg *m)
{
    e->catchup_sent_at = 0;
    note_peer_commit(e, m->commit, m->from);
    if (m->count == 0 && m->log_start > e->commit + 1 && m->slot <= e->commit + 1)
        ask_snapshot(e, m);
    for (uint32_t i = 0; i < m->count; i++) {
        uint64_t s = m->slot + i;
        if (s <= e->commit)
            continue;
        struct ring_slot *c = ring_get(&e->log, s);
        if (!c)
            break;
        if (c->state == SLOT_CHOSEN)
            continue;
        /* Another value was chosen where this leader proposed: a higher
         * ballot exists. Its followers must no longer take "commit" in its
         * ballot as "what you accepted in it is chosen". */
        if (e->role == ROLE_LEADER && c->state == SLOT_ACCEPTED && c->ballot == e->ballot &&
            !same_value(c, &m->ent[i].e))
            step_down(e);
        if (ring_set_value(&e->log, c, &m->ent[i].e) < 0)
            break;
        c->ballot = m->ent[i].ballot;
        c->state = SLOT_CHOSEN;
        mark_dirty(e, c);
    }
    advance_commit(e);
    return 0;
}
