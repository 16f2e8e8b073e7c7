/*
 * Time-driven duties: election timeouts, re-sending unanswered prepares and
 * accept rounds, and the leader's heartbeat (an ACCEPT with no entries that
 * carries commit and the truncation point).
 */
#include "consensus/engine_internal.h"

/* Highest index every member has applied, as far as the leader knows. */
uint64_t cluster_applied(const struct engine *e)
{
    uint64_t m = e->applied;
    for (uint32_t i = 0; i < e->n; i++)
        if (i != e->self && e->peer_applied[i] < m)
            m = e->peer_applied[i];
    return m;
}

static int resend_prepares(struct engine *e)
{
    for (uint32_t i = 0; i < e->n; i++) {
        if (i == e->self || (e->p1_done >> i) & 1)
            continue;
        e->out.type = MSG_PREPARE;
        e->out.ballot = e->ballot;
        e->out.slot = e->p1_from[i];
        e->out.count = 0;
        int rc = emit(e, 1u << i);
        if (rc < 0)
            return rc;
    }
    e->p1_sent_at = e->now;
    return 0;
}

static int resend_round(struct engine *e, struct round *r)
{
    if (r->first < e->log.start) {
        /* its head was chosen (learned another way) and truncated meanwhile */
        uint64_t gone = e->log.start - r->first;
        if (gone >= r->n) {
            r->done = 1;
            return 0;
        }
        r->first += gone;
        r->n -= (uint32_t)gone;
        r->acks &= 1u << e->self;
    }
    struct cons_msg *o = &e->out;
    leader_accept_header(e, r->first);
    for (uint64_t s = r->first; s < r->first + r->n; s++) {
        struct ring_slot *c = ring_get(&e->log, s);
        if (!c || c->state == SLOT_EMPTY)
            return 0; /* truncated meanwhile: the round is long chosen */
        o->ent[o->count++].e = ring_entry(c);
    }
    r->sent_at = e->now;
    e->last_bcast = e->now;
    return emit(e, all_others(e) & ~r->acks);
}

int leader_heartbeat(struct engine *e)
{
    leader_accept_header(e, e->next_slot);
    e->bcast_commit = e->commit;
    e->last_bcast = e->now;
    return emit(e, all_others(e));
}

/* Check-quorum: a leader no majority answered for two election timeouts
 * steps down. It could not commit anything, and while it kept heartbeating,
 * followers in its minority believed in a quorum and their mutations timed
 * out instead of failing at once (EROFS); a one-way cut kept a majority
 * following a leader that could not hear them. The window restarts when
 * the leader itself resumes from a stall (no tick for an election_min, as
 * in a long fsync): it sent nothing meanwhile, so silence proves nothing. */
static int lost_quorum(struct engine *e)
{
    uint64_t window = 2 * e->p.election_max_us;
    if (e->now > e->last_tick + e->p.election_min_us)
        e->quorum_since = e->now;
    e->last_tick = e->now;
    return e->p.check_quorum && e->now >= e->quorum_since + window &&
           !leader_heard_quorum(e, window);
}

int leader_tick(struct engine *e)
{
    if (e->role != ROLE_LEADER && e->now >= e->election_deadline) {
        if (!e->rebuilding)
            return leader_start_prevote(e);
        reset_election_timer(e); /* stands only once it may vote */
    }
    if (e->role == ROLE_CANDIDATE && e->now >= e->p1_sent_at + e->p.resend_us)
        return resend_prepares(e);
    if (e->role != ROLE_LEADER)
        return 0;
    if (lost_quorum(e)) {
        step_down(e);
        return 0;
    }
    for (uint32_t i = 0; i < e->r_count; i++) {
        struct round *r = &e->rounds[(e->r_head + i) % MAX_INFLIGHT];
        if (!r->done && e->now >= r->sent_at + e->p.resend_us) {
            int rc = resend_round(e, r);
            if (rc < 0)
                return rc;
        }
    }
    if (e->now >= e->last_bcast + e->p.heartbeat_us)
        return leader_heartbeat(e);
    return 0;
}
