/*
 * engine_internal.h - the engine's state, shared by its files (acceptor.c,
 * leader.c, learner.c, proposer.c, outbox.c, engine.c). Not a public header.
 *
 * Invariants:
 *  - log.start <= applied + 1 <= delivered + 1 <= commit + 1;
 *  - every slot <= commit held in the ring is SLOT_CHOSEN;
 *  - a reply that depends on promised or on a dirty slot sits in the outbox
 *    until outbox_flush() has persisted them (unless BROKEN_ANSWER_BEFORE_PERSIST);
 *  - the leader's own vote for a round (rounds[].acks bit self) and the
 *    candidate's own promise count only after the batch holding them saved.
 * Single-threaded: the host serialises every call, so no locks.
 */
#ifndef QFS_CONSENSUS_ENGINE_INTERNAL_H
#define QFS_CONSENSUS_ENGINE_INTERNAL_H

#include "consensus/dedup.h"
#include "consensus/engine.h"
#include "consensus/log_ring.h"
#include "consensus/msg_codec.h"

#define MAX_INFLIGHT 64
#define OUTQ_MAX     64
#define OBUF_CAP     (2 * CONS_MSG_MAX)
#define MAX_PENDING  DEDUP_WINDOW
#define TRUNC_HYST   32 /* truncate in steps of at least this many slots */

struct pending { /* a proposal of this node, until committed or failed */
    uint64_t req_id, born, sent_at, sent_epoch;
    uint8_t used, sent;
    uint32_t len, cap;
    uint8_t *data;
};

struct qent { /* a proposal waiting at the leader for a slot */
    uint32_t origin, len, cap;
    uint64_t req_id;
    uint8_t *data;
};

struct round { /* one accept round of the leader: slots [first, first + n) */
    uint64_t first, sent_at;
    uint32_t n, acks;
    uint8_t self_pending; /* own vote counts once the batch is saved */
    uint8_t done;         /* a majority accepted: its slots are chosen */
};

struct outmsg {
    uint32_t to_mask, off, len;
};

struct engine {
    struct engine_config cfg;
    struct cons_params p;
    struct cons_host host;
    uint32_t self, n, quorum;
    uint64_t rng, now;
    int failed;
    int self_voted; /* a flush let own votes count: settle once more */

    /* acceptor state, persisted */
    uint64_t promised;
    uint8_t state_dirty; /* promised/commit/log_start changed since last save */
    struct log_ring log;
    uint64_t commit, delivered, applied;
    uint64_t *dirty; /* slots to persist; ring cells carry a dirty flag */
    size_t n_dirty;

    /* role and election */
    enum engine_role role;
    uint64_t ballot;    /* own ballot while candidate or leader */
    uint64_t max_round; /* highest round seen anywhere */
    int32_t leader;     /* -1: unknown */
    uint64_t election_deadline, last_leader_msg;
    uint64_t quiet_until;    /* start + election_min: promises to nobody new before */
    uint64_t pv_ballot;      /* pre-vote asked for this ballot (0: none running) */
    uint64_t standing_until; /* candidate on TIMEOUT_NOW: counts as led until then */
    uint32_t pv_grants;      /* nodes that said they would vote for pv_ballot */

    /* candidate (phase 1) */
    uint32_t p1_done;                 /* nodes whose promise is complete */
    uint64_t p1_from[CONS_MAX_NODES]; /* next slot to ask each node about */
    uint64_t p1_need_commit, p1_max_slot, p1_sent_at;
    uint8_t p1_self_pending;

    /* leader (phase 2) */
    uint64_t next_slot, recover_upto, last_bcast;
    uint64_t quorum_since; /* check-quorum window start: took office or resumed */
    uint64_t last_tick;    /* leader's previous tick: a long gap is its own stall */
    uint64_t bcast_commit; /* commit index the last ACCEPT sent carried */
    struct round rounds[MAX_INFLIGHT];
    uint32_t r_head, r_count;
    uint64_t peer_applied[CONS_MAX_NODES];
    uint64_t peer_heard[CONS_MAX_NODES]; /* last ACCEPTED in this leadership */
    /* Send time (own clock) of the latest ACCEPT of this leadership that
     * each peer acknowledged: the read lease counts from these. */
    uint64_t peer_ack_stamp[CONS_MAX_NODES];
    struct qent *queue; /* ring of queue_max */
    uint32_t q_head, q_count;

    /* proposer */
    struct pending pend[MAX_PENDING];
    uint32_t n_pending, pend_hi; /* pend[] entries >= pend_hi are unused */

    /* rebuild (rebuild.c): until it ends this node neither promises, accepts
     * nor stands */
    uint8_t rebuilding;
    uint32_t rb_done;                 /* members that sent all their slots past commit */
    uint64_t rb_from[CONS_MAX_NODES]; /* next slot to ask each about (0: from its commit) */
    uint64_t rb_nonce;                /* this rebuild's; an older rebuild's answers are stale */
    uint64_t rb_ballot;               /* highest ballot they promised or used */
    uint64_t rb_commit;               /* highest commit index they reported */
    uint64_t rb_leader;               /* ballot of the ACCEPTs followed */
    uint64_t rb_sent_at;

    /* learner */
    uint64_t trunc_hint; /* leader's "every member applied this" */
    uint64_t catchup_hint, catchup_sent_at, snap_asked_at;
    int32_t catchup_peer;

    /* io scratch, reused */
    uint8_t *obuf;
    size_t oused;
    struct outmsg oq[OUTQ_MAX];
    uint32_t on;
    struct cons_msg in, out;
    struct cons_rec *recs;
};

/* outbox.c */
int outbox_init(struct engine *e);
void outbox_free(struct engine *e);
int emit(struct engine *e, uint32_t to_mask); /* encodes e->out */
int outbox_flush(struct engine *e);           /* persist, then send */
void mark_dirty(struct engine *e, struct ring_slot *c);
uint32_t all_others(const struct engine *e);

/* leader.c: a majority (self included) answered within the last window_us. */
int leader_heard_quorum(const struct engine *e, uint64_t window_us);
/* leader.c: reads may be answered locally until then (0: not now). */
uint64_t leader_lease_until(const struct engine *e);

/* acceptor.c */
int acceptor_prepare(struct engine *e, const struct cons_msg *m);
int acceptor_accept(struct engine *e, const struct cons_msg *m);
int acceptor_prevote(struct engine *e, const struct cons_msg *m);
void observe_ballot(struct engine *e, uint64_t b);
/* e->out's entries (PROMISE layout): every slot held from `from` on, as many
 * as fit; o->next = where to ask again, 0 when all fitted. */
void acceptor_fill_slots(struct engine *e, uint64_t from);

/* leader.c */
int leader_start_election(struct engine *e);
int leader_start_prevote(struct engine *e); /* the election timer fired */
int leader_on_prevote_ok(struct engine *e, const struct cons_msg *m);
/* engine_transfer_leadership: why not now (-errno), or 0; then the hand-over. */
int leader_transfer_refused(const struct engine *e, uint32_t to);
int leader_transfer(struct engine *e, uint32_t to);
int leader_on_timeout_now(struct engine *e, const struct cons_msg *m);
/* Takes one reported slot into the log: a chosen value outright, else the
 * value of the highest ballot seen. Chosen values are saved with the next
 * batch, accepted ones too when save_accepted. -1: no room for the value. */
int adopt_value(struct engine *e, struct ring_slot *c, const struct cons_msg_entry *me,
                int save_accepted);
int leader_on_promise(struct engine *e, const struct cons_msg *m);
int leader_on_accepted(struct engine *e, const struct cons_msg *m);
int leader_on_nack(struct engine *e, const struct cons_msg *m);
int leader_progress(struct engine *e);
int leader_tick(struct engine *e);
/* e->out = an ACCEPT of this leadership from slot `first`, no entries yet,
 * stamped with the send time (the read lease counts from it). */
void leader_accept_header(struct engine *e, uint64_t first);
/* An ACCEPT without entries: the commit index now, to every follower. */
int leader_heartbeat(struct engine *e);
uint64_t cluster_applied(const struct engine *e);
void step_down(struct engine *e);
void reset_election_timer(struct engine *e);
int after_save(struct engine *e); /* own votes count now; 1 if any did */

/* learner.c */
void learn_commit(struct engine *e, uint64_t commit, uint64_t ballot, uint32_t from);
void advance_commit(struct engine *e);
void note_peer_commit(struct engine *e, uint64_t commit, uint32_t from);
int learner_progress(struct engine *e);
int learner_on_catchup_req(struct engine *e, const struct cons_msg *m);
int learner_on_catchup_rep(struct engine *e, const struct cons_msg *m);

/* rebuild.c */
void rebuild_start(struct engine *e);
int rebuild_progress(struct engine *e);
int rebuild_on_state_req(struct engine *e, const struct cons_msg *m);
int rebuild_on_state_rep(struct engine *e, const struct cons_msg *m);
/* While rebuilding: a message a voter would answer; 1 if it was taken here. */
int rebuild_filter(struct engine *e, const struct cons_msg *m);

/* proposer.c */
int proposer_add(struct engine *e, const uint8_t *cmd, size_t len, uint64_t req_id);
int proposer_progress(struct engine *e);
int proposer_on_forward(struct engine *e, const struct cons_msg *m);
void proposer_committed(struct engine *e, uint64_t slot, const struct cons_entry *en);
int queue_push(struct engine *e, const struct cons_entry *en);
void queue_clear(struct engine *e);
void proposer_free(struct engine *e);

#endif
