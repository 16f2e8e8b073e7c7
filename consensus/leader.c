/*
 * Election, phase 1 (once per leadership, over every open slot) and phase 2
 * (batched, pipelined accept rounds) of the distinguished proposer.
 */
#include "consensus/engine_internal.h"
#include "consensus/rng.h"

#include <errno.h>
#include <stdbool.h>

static uint32_t popcount(uint32_t x)
{
    return (uint32_t)__builtin_popcount(x);
}

void reset_election_timer(struct engine *e)
{
    e->election_deadline = e->now + rng_range(&e->rng, e->p.election_min_us, e->p.election_max_us);
}

void step_down(struct engine *e)
{
    if (e->leader == (int32_t)e->self)
        e->leader = -1;
    e->role = ROLE_FOLLOWER;
    e->r_count = 0;
    e->p1_done = 0;
    e->p1_self_pending = 0;
    queue_clear(e);
    reset_election_timer(e);
}

int after_save(struct engine *e)
{
    int changed = e->p1_self_pending;
    if (e->p1_self_pending && e->role == ROLE_CANDIDATE)
        e->p1_done |= 1u << e->self;
    e->p1_self_pending = 0;
    for (uint32_t i = 0; i < e->r_count; i++) {
        struct round *r = &e->rounds[(e->r_head + i) % MAX_INFLIGHT];
        if (r->self_pending)
            r->acks |= 1u << e->self;
        changed |= r->self_pending;
        r->self_pending = 0;
    }
    return changed;
}

static int send_prepare(struct engine *e, uint32_t mask, uint64_t from)
{
    e->out.type = MSG_PREPARE;
    e->out.ballot = e->ballot;
    e->out.slot = from;
    e->out.count = 0;
    return emit(e, mask);
}

int leader_start_election(struct engine *e)
{
    e->max_round++;
    e->pv_ballot = 0;
    e->ballot = ballot_make(e->max_round, e->self);
    e->role = ROLE_CANDIDATE;
    e->leader = -1;
    e->promised = e->ballot;
    e->state_dirty = 1;
    e->p1_self_pending = 1;
    e->p1_done = 0;
    e->p1_need_commit = 0;
    e->p1_max_slot = e->log.high > e->commit + 1 ? e->log.high - 1 : e->commit;
    for (uint32_t i = 0; i < e->n; i++)
        e->p1_from[i] = e->commit + 1;
    e->p1_sent_at = e->now;
    e->r_count = 0;
    reset_election_timer(e);
    return send_prepare(e, all_others(e), e->commit + 1);
}

/*
 * Pre-vote (Raft's PreVote, Ongaro's thesis 9.6): a node whose election
 * timer fired first asks whether a majority would vote for it, and raises
 * no round until they say yes. Nobody who hears a live leader says yes. A
 * node behind a lossy link misses heartbeats now and then; without this it
 * started elections with ever higher rounds, the leader stepped down on
 * them (and on the NACKs they caused), and the lossy node often won, so
 * that every operation then crossed the bad link, and the healthy follower,
 * hearing that leader only through it, could lose it (fault suite,
 * slow-link). Each attempt asks again: one more round trip per election.
 */
int leader_start_prevote(struct engine *e)
{
    if (!e->p.pre_vote || e->n == 1)
        return leader_start_election(e);
    e->pv_ballot = ballot_make(e->max_round + 1, e->self);
    e->pv_grants = 1u << e->self;
    reset_election_timer(e);
    e->out.type = MSG_PREVOTE;
    e->out.ballot = e->pv_ballot;
    e->out.commit = e->commit;
    e->out.count = 0;
    return emit(e, all_others(e));
}

int leader_on_prevote_ok(struct engine *e, const struct cons_msg *m)
{
    observe_ballot(e, m->promised);
    if (!e->pv_ballot || m->ballot != e->pv_ballot || e->role == ROLE_LEADER)
        return 0;
    e->pv_grants |= 1u << m->from;
    if (popcount(e->pv_grants) < e->quorum)
        return 0;
    return leader_start_election(e);
}

/* How far behind the commit index `to` may have applied: its last ACCEPTED
 * told what it had applied before the round it answered. */
#define TRANSFER_LAG_MAX 256

/*
 * Leadership transfer (Raft's TimeoutNow, Ongaro's thesis 3.10). The others
 * refuse a candidate's PREPARE while they still hear this leader (that is
 * what its read lease stands on), so the hand-over goes through this node:
 * it steps down before anything leaves, which ends its lease, and tells
 * every follower. `to` stands at once, without a pre-vote; the others, and
 * this node, follow `to` from then on: they promise its ballot, forward
 * their proposals to it (a candidate queues them) and keep counting as
 * having a leader, so their mutations are not failed with EROFS meanwhile.
 * Only when nothing is queued or in flight: what is accepted is saved and
 * `to`'s phase 1 recovers it anyway, but a queued proposal would be dropped
 * and wait for its origin to forward it again.
 */
int leader_transfer_refused(const struct engine *e, uint32_t to)
{
    if (to >= e->n || to == e->self)
        return -EINVAL;
    if (e->role != ROLE_LEADER)
        return -EAGAIN;
    bool heard = e->peer_heard[to] && e->now < e->peer_heard[to] + e->p.election_min_us;
    bool behind = e->peer_applied[to] + TRANSFER_LAG_MAX < e->commit;
    if (e->r_count || e->q_count || !heard || behind)
        return -EBUSY;
    return 0;
}

int leader_transfer(struct engine *e, uint32_t to)
{
    uint64_t b = e->ballot;
    if (!(e->cfg.broken & BROKEN_TRANSFER_KEEPS_LEASE)) {
        step_down(e);
        e->leader = (int32_t)to;
        e->last_leader_msg = e->now;
    }
    e->out.type = MSG_TIMEOUT_NOW;
    e->out.ballot = b;
    e->out.to = to;
    e->out.count = 0;
    return emit(e, all_others(e));
}

/* From the leader this node follows, in the ballot it promised: stand now,
 * or follow the node that will. */
int leader_on_timeout_now(struct engine *e, const struct cons_msg *m)
{
    if (e->role != ROLE_FOLLOWER || e->leader != (int32_t)m->from || m->ballot != e->promised ||
        ballot_node(m->ballot) != m->from || m->to >= e->n || m->to == m->from)
        return 0;
    if (m->to == e->self) {
        /* Its host keeps taking mutations (they wait for the election):
         * it was led a moment ago and will lead in a few message delays. */
        e->standing_until = e->now + e->p.election_min_us;
        return leader_start_election(e);
    }
    e->leader = (int32_t)m->to;
    e->last_leader_msg = e->now;
    return 0;
}

int adopt_value(struct engine *e, struct ring_slot *c, const struct cons_msg_entry *me,
                int save_accepted)
{
    if (c->state == SLOT_CHOSEN)
        return 0;
    int chosen = me->flags & CONS_REC_CHOSEN;
    if (!chosen && c->state != SLOT_EMPTY && me->ballot <= c->ballot)
        return 0;
    if (ring_set_value(&e->log, c, &me->e) < 0)
        return -1;
    c->ballot = me->ballot;
    c->state = chosen ? SLOT_CHOSEN : SLOT_ACCEPTED;
    if (chosen || save_accepted)
        mark_dirty(e, c);
    return 0;
}

int leader_on_promise(struct engine *e, const struct cons_msg *m)
{
    if (e->role != ROLE_CANDIDATE || m->ballot != e->ballot)
        return 0;
    note_peer_commit(e, m->commit, m->from);
    int stuck = 0;
    for (uint32_t i = 0; i < m->count && !(e->cfg.broken & BROKEN_SKIP_RECOVERY); i++) {
        const struct cons_msg_entry *me = &m->ent[i];
        if (me->slot <= e->commit)
            continue;
        struct ring_slot *c = ring_get(&e->log, me->slot);
        /* unchosen values are saved once re-proposed in this ballot */
        if (!c || adopt_value(e, c, me, 0) < 0) {
            e->p1_from[m->from] = me->slot; /* ask again once there is room */
            stuck = 1;
            break;
        }
        if (me->slot > e->p1_max_slot)
            e->p1_max_slot = me->slot;
    }
    if (m->log_start > 0 && m->log_start - 1 > e->p1_need_commit)
        e->p1_need_commit = m->log_start - 1;
    advance_commit(e);
    if (stuck)
        return 0;
    if (m->next) {
        e->p1_from[m->from] = m->next;
        return send_prepare(e, 1u << m->from, m->next);
    }
    e->p1_done |= 1u << m->from;
    return 0;
}

int leader_on_nack(struct engine *e, const struct cons_msg *m)
{
    observe_ballot(e, m->promised);
    if (e->role != ROLE_FOLLOWER && m->ballot == e->ballot && m->promised > e->ballot)
        step_down(e);
    return 0;
}

int leader_on_accepted(struct engine *e, const struct cons_msg *m)
{
    if (m->applied > e->peer_applied[m->from])
        e->peer_applied[m->from] = m->applied;
    if (e->role != ROLE_LEADER || m->ballot != e->ballot)
        return 0;
    e->peer_heard[m->from] = e->now;
    if (m->stamp > e->peer_ack_stamp[m->from] && m->stamp <= e->now)
        e->peer_ack_stamp[m->from] = m->stamp;
    if (m->count == 0)
        return 0;
    for (uint32_t i = 0; i < e->r_count; i++) {
        struct round *r = &e->rounds[(e->r_head + i) % MAX_INFLIGHT];
        if (r->first == m->slot && r->n == m->count)
            r->acks |= 1u << m->from;
    }
    return 0;
}

static void become_leader(struct engine *e)
{
    e->role = ROLE_LEADER;
    e->leader = (int32_t)e->self;
    e->next_slot = e->commit + 1;
    e->recover_upto = e->p1_max_slot > e->commit ? e->p1_max_slot : e->commit;
    e->r_head = e->r_count = 0;
    e->last_bcast = 0;
    e->quorum_since = e->last_tick = e->now;
    for (uint32_t i = 0; i < e->n; i++)
        e->peer_applied[i] = e->peer_heard[i] = e->peer_ack_stamp[i] = 0;
    /* The promises that made it leader were heard in this election. Without
     * them it counted itself cut off until a majority acknowledged its first
     * round, and its host failed mutations with EROFS meanwhile: after a
     * hand-over, on the node whose commands had just earned it (CI's cluster
     * tar test, session 22). Not the read lease: that still waits for
     * acknowledged stamps (peer_ack_stamp). */
    for (uint32_t i = 0; i < e->n; i++)
        if (e->p1_done & (1u << i))
            e->peer_heard[i] = e->now;
    e->peer_heard[e->self] = e->now;
}

int leader_heard_quorum(const struct engine *e, uint64_t window_us)
{
    uint64_t since = e->now > window_us ? e->now - window_us : 0;
    uint32_t fresh = 1;
    for (uint32_t i = 0; i < e->n; i++)
        fresh += i != e->self && e->peer_heard[i] >= since && e->peer_heard[i];
    return fresh >= e->quorum;
}

/*
 * The read lease: until when this leader may answer a read from its own
 * commit index without asking anyone. A follower refuses other candidates'
 * PREPAREs for election_min after it received an ACCEPT of this leader
 * (acceptor.c, leader_is_fresh), and it received that ACCEPT after its
 * stamp. So while a majority's latest acknowledged stamps are younger than
 * the lease, no other leader can have been chosen and every value chosen so
 * far went through this one. An eighth of election_min is left for the
 * clocks of two machines to run at different rates. Counting from the
 * acknowledgement instead would stretch the lease by the answer's delay
 * (a follower's fsync); counting from a cached status instead of the clock
 * at the read would stretch it by the host's stall (docs/consensus.md,
 * "Read lease"). None before the values recovered in phase 1 are chosen
 * again: one the old leader chose may lie above this commit index.
 */
uint64_t leader_lease_until(const struct engine *e)
{
    if (e->role != ROLE_LEADER || e->commit < e->recover_upto)
        return 0;
    uint32_t need = e->quorum - 1; /* acknowledgements besides its own */
    if (need == 0)
        return UINT64_MAX;
    uint64_t top[CONS_MAX_NODES] = {0}; /* the `need` youngest stamps, youngest first */
    for (uint32_t i = 0; i < e->n; i++) {
        uint64_t s = i == e->self                            ? 0
                     : e->cfg.broken & BROKEN_LEASE_FROM_ACK ? e->peer_heard[i]
                                                             : e->peer_ack_stamp[i];
        for (uint32_t k = 0; k < need && s; k++)
            if (s > top[k]) {
                uint64_t t = top[k];
                top[k] = s;
                s = t;
            }
    }
    if (!top[need - 1])
        return 0;
    return top[need - 1] + e->p.election_min_us - e->p.election_min_us / 8;
}

static uint32_t quorum_needed(const struct engine *e)
{
    return (e->cfg.broken & BROKEN_MINORITY_COMMIT) ? e->quorum - 1 : e->quorum;
}

/* Marks rounds a majority accepted as chosen and retires them in order. */
static void collect_rounds(struct engine *e)
{
    for (uint32_t i = 0; i < e->r_count; i++) {
        struct round *r = &e->rounds[(e->r_head + i) % MAX_INFLIGHT];
        if (!r->done && r->first + r->n <= e->commit + 1)
            r->done = 1; /* chosen anyway (learned by catch-up) */
        if (r->done || popcount(r->acks) < quorum_needed(e))
            continue;
        for (uint64_t s = r->first; s < r->first + r->n; s++) {
            struct ring_slot *c = ring_get(&e->log, s);
            if (c && c->state == SLOT_ACCEPTED && c->ballot == e->ballot)
                c->state = SLOT_CHOSEN;
        }
        r->done = 1;
    }
    while (e->r_count && e->rounds[e->r_head].done) {
        e->r_head = (e->r_head + 1) % MAX_INFLIGHT;
        e->r_count--;
    }
    advance_commit(e);
}

void leader_accept_header(struct engine *e, uint64_t first)
{
    struct cons_msg *o = &e->out;
    o->type = MSG_ACCEPT;
    o->ballot = e->ballot;
    o->commit = e->commit;
    o->trunc = cluster_applied(e);
    o->slot = first;
    o->stamp = e->now;
    o->count = 0;
}

/* Next value for slot: recovered (or a no-op) first, then the queue. 1 if
 * the slot got a value, 0 if there is nothing to propose, -1 to skip it. */
static int next_value(struct engine *e, struct ring_slot *c, uint64_t slot)
{
    static const struct cons_entry noop = {0, 0, CONS_KIND_NOOP, 0, NULL};
    if (slot <= e->recover_upto) {
        if (c->state != SLOT_EMPTY)
            return 1;
        if (e->cfg.broken & BROKEN_NO_HOLE_FILL)
            return -1;
        struct cons_entry n = noop;
        n.origin = e->self;
        return ring_set_value(&e->log, c, &n) < 0 ? 0 : 1;
    }
    if (!e->q_count)
        return 0;
    struct qent *q = &e->queue[e->q_head];
    struct cons_entry en = {q->origin, q->req_id, CONS_KIND_CMD, q->len, q->data};
    if (ring_set_value(&e->log, c, &en) < 0)
        return 0;
    e->q_head = (e->q_head + 1) % e->p.queue_max;
    e->q_count--;
    return 1;
}

/* Fills e->out with up to batch_max values from next_slot on; the leader
 * accepts them itself (saved with this input's batch). */
static uint32_t build_round(struct engine *e)
{
    struct cons_msg *o = &e->out;
    size_t bytes = msg_encoded_size(o);
    while (o->count < e->p.batch_max) {
        uint64_t s = e->next_slot;
        struct ring_slot *c = ring_get(&e->log, s);
        if (!c)
            break;
        uint32_t len = s <= e->recover_upto ? c->len : (e->q_count ? e->queue[e->q_head].len : 0);
        if (bytes + msg_entry_size(MSG_ACCEPT, len) > CONS_MSG_MAX)
            break;
        int v = next_value(e, c, s);
        if (v == 0)
            break;
        if (v < 0) { /* broken variant: leave the hole */
            if (o->count)
                break;
            o->slot = ++e->next_slot;
            continue;
        }
        if (c->state != SLOT_CHOSEN) {
            c->ballot = e->ballot;
            c->state = SLOT_ACCEPTED;
            mark_dirty(e, c);
        }
        o->ent[o->count++].e = ring_entry(c);
        bytes += msg_entry_size(MSG_ACCEPT, c->len);
        e->next_slot++;
    }
    return o->count;
}

/* Whether what is waiting from next_slot on fills a whole round: slots to
 * recover, batch_max commands, or a message's worth of bytes. */
static bool round_would_fill(const struct engine *e)
{
    if (e->next_slot <= e->recover_upto || e->q_count >= e->p.batch_max)
        return true;
    size_t bytes = msg_encoded_size(&e->out);
    for (uint32_t i = 0; i < e->q_count; i++) {
        bytes += msg_entry_size(MSG_ACCEPT, e->queue[(e->q_head + i) % e->p.queue_max].len);
        if (bytes > CONS_MSG_MAX)
            return true;
    }
    return false;
}

/* Starts accept rounds. A round is started at once when none is in flight;
 * while one is, only a full one: commands that arrive meanwhile wait for
 * the next round together (group commit). Rounds of one or two commands
 * each cost every node a log write, an fdatasync, a frame per peer and an
 * apply commit; on a 2-core machine with 16 clients, waiting made creates
 * about 20% faster (docs/ARCHITECTURE.md, "Rounds"). */
static int pump(struct engine *e)
{
    while (e->r_count < e->p.inflight_max) {
        leader_accept_header(e, e->next_slot);
        if (e->r_count > 0 && !round_would_fill(e))
            break;
        uint32_t n = build_round(e);
        if (n == 0)
            break;
        struct round *r = &e->rounds[(e->r_head + e->r_count++) % MAX_INFLIGHT];
        *r = (struct round){.first = e->out.slot, .sent_at = e->now, .n = n, .self_pending = 1};
        e->last_bcast = e->now;
        e->bcast_commit = e->out.commit;
        int rc = emit(e, all_others(e));
        if (rc < 0)
            return rc;
    }
    return 0;
}

int leader_progress(struct engine *e)
{
    if (e->role == ROLE_CANDIDATE && popcount(e->p1_done) >= e->quorum &&
        e->commit >= e->p1_need_commit)
        become_leader(e);
    if (e->role != ROLE_LEADER)
        return 0;
    collect_rounds(e);
    int rc = pump(e);
    /* Followers apply a slot only once they learn it is chosen: tell them
     * now rather than at the next heartbeat (a mutation's latency on every
     * node but the leader would otherwise include up to heartbeat_us). */
    if (!rc && e->commit > e->bcast_commit)
        rc = leader_heartbeat(e);
    return rc;
}
