/*
 * Engine lifecycle and inputs: load persisted state, dispatch messages,
 * then settle (progress, persist one batch, send) after every input.
 */
#include "consensus/engine_internal.h"

#include "common/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void cons_params_default(struct cons_params *p)
{
    *p = (struct cons_params){
        .heartbeat_us = 50000,
        .election_min_us = 300000,
        .election_max_us = 600000,
        .resend_us = 100000,
        .forward_retry_us = 1000000,
        .propose_timeout_us = 5000000,
        .batch_max = 64,
        .inflight_max = 8,
        .queue_max = 4096,
        .log_cap = 65536,
        .retain = 16384,
        .check_quorum = 1,
        .pre_vote = 1,
    };
}

static int check_config(const struct engine_config *c)
{
    const struct cons_params *p = &c->params;
    if (c->n_nodes == 0 || c->n_nodes > CONS_MAX_NODES || c->self >= c->n_nodes)
        return -EINVAL;
    if (p->batch_max == 0 || p->batch_max > CONS_MSG_MAX_ENTRIES || p->inflight_max == 0 ||
        p->inflight_max > MAX_INFLIGHT || p->queue_max == 0 ||
        p->election_max_us < p->election_min_us)
        return -EINVAL;
    /* the ring must hold what is retained plus every slot in flight, twice */
    if ((uint64_t)p->log_cap < p->retain + 2ull * p->batch_max * p->inflight_max + 2 * TRUNC_HYST)
        return -EINVAL;
    return 0;
}

struct loader {
    struct engine *e;
    const struct cons_persist_state *st;
    int started;
};

/* Backends fill the state before the first record (persist.h). */
static void place_window(struct engine *e, const struct cons_persist_state *st)
{
    e->log.start = st->log_start ? st->log_start : 1;
    e->log.high = e->log.start;
}

static int load_one(void *arg, const struct cons_rec *r)
{
    struct loader *l = arg;
    struct engine *e = l->e;
    if (!l->started) {
        place_window(e, l->st);
        l->started = 1;
    }
    struct ring_slot *c = ring_get(&e->log, r->slot);
    if (!c)
        return -EOVERFLOW; /* more retained than log_cap: config shrank */
    int rc = ring_set_value(&e->log, c, &r->e);
    if (rc < 0)
        return rc;
    c->ballot = r->ballot;
    c->state = (r->flags & CONS_REC_CHOSEN) ? SLOT_CHOSEN : SLOT_ACCEPTED;
    observe_ballot(e, r->ballot);
    return 0;
}

static int load_state(struct engine *e)
{
    struct cons_persist_state st;
    memset(&st, 0, sizeof(st));
    struct loader l = {e, &st, 0};
    int rc = e->host.persist->load(e->host.persist_ctx, &st, load_one, &l);
    if (rc < 0)
        return rc;
    if (!l.started)
        place_window(e, &st);
    e->promised = (e->cfg.broken & BROKEN_FORGET_PROMISE) ? 0 : st.promised;
    observe_ballot(e, st.promised);
    if (st.promised == 0 && !e->cfg.new_member && !(e->cfg.broken & BROKEN_NO_REBUILD))
        rebuild_start(e);
    e->applied = e->delivered = e->cfg.applied;
    e->commit = st.commit;
    for (uint64_t s = e->log.start; s <= e->commit; s++) {
        struct ring_slot *c = ring_get(&e->log, s);
        if (c && c->state == SLOT_ACCEPTED)
            c->state = SLOT_CHOSEN; /* saved in or before the batch that saved commit */
    }
    /* The host applied past the saved commit: those entries may have come
     * from a batch that never reached the disk, and the records left for
     * those slots may be values that were not chosen. The host's state holds
     * them; this log must not serve them. */
    if (e->applied > e->commit) {
        e->commit = e->applied;
        e->log.start = e->applied + 1;
        if (e->log.high < e->log.start)
            e->log.high = e->log.start;
        e->state_dirty = 1;
    }
    advance_commit(e);
    return 0;
}

static int engine_init(struct engine *e, const struct engine_config *cfg,
                       const struct cons_host *host, uint64_t now)
{
    e->cfg = *cfg;
    e->p = cfg->params;
    e->host = *host;
    e->self = cfg->self;
    e->n = cfg->n_nodes;
    e->quorum = cfg->n_nodes / 2 + 1;
    e->rng = cfg->rng_seed;
    e->now = now;
    e->leader = -1;
    e->catchup_peer = -1;
    e->last_leader_msg = now;
    e->quiet_until = now + e->p.election_min_us;
    e->queue = calloc(e->p.queue_max, sizeof(*e->queue));
    if (!e->queue)
        return -ENOMEM;
    int rc = ring_init(&e->log, e->p.log_cap);
    if (rc == 0)
        rc = outbox_init(e);
    if (rc == 0)
        rc = load_state(e);
    reset_election_timer(e);
    return rc;
}

int engine_create(struct engine **out, const struct engine_config *cfg,
                  const struct cons_host *host, uint64_t now)
{
    int rc = check_config(cfg);
    if (rc < 0)
        return rc;
    struct engine *e = calloc(1, sizeof(*e));
    if (!e)
        return -ENOMEM;
    rc = engine_init(e, cfg, host, now);
    if (rc < 0) {
        engine_destroy(e);
        return rc;
    }
    *out = e;
    return 0;
}

void engine_destroy(struct engine *e)
{
    if (!e)
        return;
    ring_free(&e->log);
    outbox_free(e);
    proposer_free(e);
    free(e);
}

/* Progress, persist, send; repeat while saving unlocked more progress
 * (the leader's own vote counts only after its batch is saved). */
static int settle(struct engine *e)
{
    for (int round = 0; round < 16; round++) {
        int rc = leader_progress(e);
        if (rc == 0)
            rc = rebuild_progress(e);
        if (rc == 0)
            rc = proposer_progress(e);
        if (rc == 0)
            rc = learner_progress(e);
        int had = e->state_dirty || e->n_dirty;
        e->self_voted = 0;
        if (rc == 0)
            rc = outbox_flush(e);
        if (rc < 0) {
            e->failed = 1;
            return rc;
        }
        if (!had && !e->self_voted)
            break;
    }
    return 0;
}

static int dispatch(struct engine *e, const struct cons_msg *m)
{
    if (rebuild_filter(e, m))
        return 0;
    switch (m->type) {
    case MSG_PREPARE:
        return acceptor_prepare(e, m);
    case MSG_PROMISE:
        return leader_on_promise(e, m);
    case MSG_ACCEPT:
        return acceptor_accept(e, m);
    case MSG_ACCEPTED:
        return leader_on_accepted(e, m);
    case MSG_NACK:
        return leader_on_nack(e, m);
    case MSG_FORWARD:
        return proposer_on_forward(e, m);
    case MSG_CATCHUP_REQ:
        return learner_on_catchup_req(e, m);
    case MSG_CATCHUP_REP:
        return learner_on_catchup_rep(e, m);
    case MSG_PREVOTE:
        return acceptor_prevote(e, m);
    case MSG_PREVOTE_OK:
        return leader_on_prevote_ok(e, m);
    case MSG_TIMEOUT_NOW:
        return leader_on_timeout_now(e, m);
    case MSG_STATE_REQ:
        return rebuild_on_state_req(e, m);
    case MSG_STATE_REP:
        return rebuild_on_state_rep(e, m);
    }
    return 0;
}

static int finish_input(struct engine *e, int rc)
{
    if (rc < 0) {
        e->failed = 1;
        return rc;
    }
    return settle(e);
}

/* Takes one message in; progress and the save come after (finish_input). */
static int take_message(struct engine *e, const uint8_t *buf, size_t len)
{
    int rc = msg_decode(buf, len, &e->in);
    if (rc < 0 || e->in.from >= e->n || e->in.from == e->self) {
        log_debug("consensus: dropped malformed message (%d)", rc);
        return 0;
    }
    return dispatch(e, &e->in);
}

int engine_receive(struct engine *e, const uint8_t *buf, size_t len, uint64_t now)
{
    struct cons_frame f = {buf, len};
    return engine_receive_batch(e, &f, 1, now);
}

int engine_receive_batch(struct engine *e, const struct cons_frame *f, size_t n, uint64_t now)
{
    if (e->failed)
        return -EIO;
    e->now = now;
    int rc = 0;
    for (size_t i = 0; i < n && rc >= 0; i++)
        rc = take_message(e, f[i].buf, f[i].len);
    return finish_input(e, rc);
}

int engine_tick(struct engine *e, uint64_t now)
{
    if (e->failed)
        return -EIO;
    e->now = now;
    return finish_input(e, leader_tick(e));
}

int engine_propose(struct engine *e, const uint8_t *cmd, size_t len, uint64_t req_id, uint64_t now)
{
    if (e->failed)
        return -EIO;
    e->now = now;
    int rc = proposer_add(e, cmd, len, req_id);
    if (rc < 0)
        return rc;
    return finish_input(e, 0);
}

int engine_transfer_leadership(struct engine *e, uint32_t to, uint64_t now)
{
    if (e->failed)
        return -EIO;
    e->now = now;
    int rc = leader_transfer_refused(e, to);
    if (rc)
        return rc; /* nothing changed */
    return finish_input(e, leader_transfer(e, to));
}

int engine_set_applied(struct engine *e, uint64_t applied, uint64_t now)
{
    if (e->failed)
        return -EIO;
    e->now = now;
    if (applied > e->delivered)
        applied = e->delivered;
    if (applied > e->applied)
        e->applied = applied;
    return finish_input(e, 0);
}

int engine_install_snapshot(struct engine *e, uint64_t idx, uint64_t now)
{
    if (e->failed)
        return -EIO;
    e->now = now;
    if (idx <= e->applied)
        return 0;
    /* The snapshot may cover slots this node proposed in its own ballot with
     * values that lost: it must not announce a commit index past them. */
    if (e->role == ROLE_LEADER)
        step_down(e);
    e->applied = e->delivered = idx;
    if (e->commit < idx)
        e->commit = idx;
    if (e->log.start < idx + 1) {
        e->log.start = idx + 1;
        if (e->log.high < e->log.start)
            e->log.high = e->log.start;
        e->state_dirty = 1;
    }
    return finish_input(e, 0);
}

/* Leader: a majority acknowledged recently. Follower: the leader was heard.
 * Candidate: only one a leader handed over to, for a while. */
static int quorum_ok(const struct engine *e)
{
    uint64_t since = e->now > e->p.election_max_us ? e->now - e->p.election_max_us : 0;
    if (e->role == ROLE_FOLLOWER)
        return e->leader >= 0 && e->last_leader_msg >= since;
    if (e->role == ROLE_CANDIDATE)
        return e->now < e->standing_until;
    return leader_heard_quorum(e, e->p.election_max_us);
}

void engine_status(const struct engine *e, struct engine_status *st)
{
    st->role = e->role;
    st->quorum_ok = quorum_ok(e);
    st->leader = e->leader;
    st->ballot = e->ballot;
    st->promised = e->promised;
    st->commit = e->commit;
    st->lease_until = leader_lease_until(e);
    st->applied = e->applied;
    st->log_start = e->log.start;
    st->pending = e->n_pending;
    st->rebuilding = e->rebuilding;
    st->rebuild_missing = e->rebuilding ? all_others(e) & ~e->rb_done : 0;
}
