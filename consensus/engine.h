/*
 * engine.h - the Multi-Paxos engine of one node, as a pure state machine.
 *
 * Inputs: engine_receive() and engine_receive_batch() (message bytes from
 * peers), engine_tick() (time passes), engine_propose() (a command from this
 * node), engine_set_applied() and engine_install_snapshot() (the host's state
 * machine moved). Every input
 * carries `now` (microseconds, any monotonic origin); the engine reads no
 * clock and no random source of its own.
 *
 * Outputs go through struct cons_host: messages to send (opaque bytes, see
 * msg_codec.h), batches to persist (persist.h; a reply that depends on a
 * batch is released only after save() returned 0), committed entries
 * delivered in slot order, and the fate of this node's proposals.
 *
 * Not thread-safe: the host calls one engine from one thread. Callbacks must
 * not call back into the engine. An input returns a negative errno only when
 * the engine can no longer go on (a failed persist): the host then destroys
 * it and creates a new one from the persisted state, as after a crash.
 */
#ifndef QFS_CONSENSUS_ENGINE_H
#define QFS_CONSENSUS_ENGINE_H

#include "consensus/persist.h"
#include "consensus/types.h"

#include <stddef.h>
#include <stdint.h>

struct engine;

struct cons_params {
    uint64_t heartbeat_us;    /* leader heartbeat interval */
    uint64_t election_min_us; /* election timeout is random in [min, max] */
    uint64_t election_max_us;
    uint64_t resend_us;          /* retransmit unanswered prepare/accept/catch-up */
    uint64_t forward_retry_us;   /* re-forward a proposal not committed by then */
    uint64_t propose_timeout_us; /* then report -EAGAIN to the proposer */
    uint32_t batch_max;          /* commands per accept round (<= CONS_MSG_MAX_ENTRIES) */
    uint32_t inflight_max;       /* accept rounds outstanding (pipelining window) */
    uint32_t queue_max;          /* leader's queue of unassigned proposals */
    uint32_t log_cap;            /* slots held in memory (ring size) */
    uint32_t retain;             /* keep at most this many applied slots for catch-up */
    uint32_t check_quorum;       /* 1: a leader no majority answered within
                                    2 x election_max_us steps down (liveness only) */
    uint32_t pre_vote;           /* 1: an election starts only once a majority
                                    said it would vote (liveness only) */
};

/* Test-only deliberately broken behaviours (the simulator must catch them). */
enum cons_broken {
    BROKEN_NONE = 0,
    BROKEN_ANSWER_BEFORE_PERSIST = 1 << 0, /* acceptor replies before save() */
    BROKEN_FORGET_PROMISE = 1 << 1,        /* restart loses the promised ballot */
    BROKEN_SKIP_RECOVERY = 1 << 2,         /* new leader ignores peers' accepted values */
    BROKEN_MINORITY_COMMIT = 1 << 3,       /* commit with one ack fewer than a majority */
    BROKEN_NO_HOLE_FILL = 1 << 4,          /* new leader leaves holes unfilled */
    BROKEN_LEASE_FROM_ACK = 1 << 5,        /* read lease counted from the answers' arrival */
    BROKEN_TRANSFER_KEEPS_LEASE = 1 << 6,  /* a leader handing over does not step down */
    BROKEN_NO_REBUILD = 1 << 7,            /* a node that lost its state votes at once */
};

struct cons_host {
    void *ctx;
    /* Send bytes to node `to` (never self). Best effort: loss is fine. */
    void (*send)(void *ctx, uint32_t to, const uint8_t *buf, size_t len);
    /* Apply the chosen entry of `slot` (NOOP entries too); called in slot
     * order exactly once per engine lifetime. -EAGAIN: not now, offer it
     * again on a later input. */
    int (*deliver)(void *ctx, uint64_t slot, const struct cons_entry *e);
    /* This node's proposal req_id landed in slot (> 0) or failed (< 0:
     * -EAGAIN, no leader committed it in time; the outcome is unknown and a
     * retry with the same req_id is safe). */
    void (*proposal_done)(void *ctx, uint64_t req_id, int64_t slot_or_err);
    /* Entries up to log_start - 1 are needed but peer truncated them: fetch
     * a snapshot from peer, then call engine_install_snapshot(). */
    void (*need_snapshot)(void *ctx, uint32_t peer, uint64_t log_start);
    const struct cons_persist_ops *persist;
    void *persist_ctx;
};

struct engine_config {
    uint32_t self, n_nodes;
    struct cons_params params;
    uint64_t rng_seed;
    uint64_t applied; /* host state machine's applied index at start */
    /* 1: the host knows this node has never voted (a new member), so a state
     * with no promise needs no rebuild (docs/consensus.md, "Rebuild"). */
    int new_member;
    uint32_t broken; /* enum cons_broken; 0 in production */
};

enum engine_role { ROLE_FOLLOWER, ROLE_CANDIDATE, ROLE_LEADER };

struct engine_status {
    enum engine_role role;
    int32_t leader; /* -1 unknown */
    int quorum_ok;  /* a leader reachable within election_max_us: 0 = fail mutations fast */
    uint64_t ballot, promised, commit, applied, log_start, pending;
    /* Leader: until this time (the `now` of the inputs) no other leader can
     * have been chosen, so a read may be answered from `commit` without a
     * round trip; compare it with the clock at the read, not at the status.
     * 0: not a leader, or no lease now. */
    uint64_t lease_until;
    /* Rebuilding (docs/consensus.md, "Rebuild"): this node's state holds no
     * promise and it is not a new member, so it may have lost votes it cast;
     * it does not vote until every member in rebuild_missing (a bit per
     * node) has sent its state and it has learned their commit index. */
    int rebuilding;
    uint32_t rebuild_missing;
};

void cons_params_default(struct cons_params *p);

/* Loads the persisted state through host->persist and starts as follower. */
int engine_create(struct engine **out, const struct engine_config *cfg,
                  const struct cons_host *host, uint64_t now);
void engine_destroy(struct engine *e);

int engine_receive(struct engine *e, const uint8_t *buf, size_t len, uint64_t now);

/* Several messages as one input (the host found them waiting together):
 * each is taken in, then progress runs once and one save covers them all
 * (group commit: one fsync, not one per message), then the answers leave. */
struct cons_frame {
    const uint8_t *buf;
    size_t len;
};
int engine_receive_batch(struct engine *e, const struct cons_frame *f, size_t n, uint64_t now);
int engine_tick(struct engine *e, uint64_t now);

/* Proposes a command of this node. -EAGAIN: too many in flight (retry later),
 * -EMSGSIZE: too big. The outcome arrives through proposal_done(). */
int engine_propose(struct engine *e, const uint8_t *cmd, size_t len, uint64_t req_id, uint64_t now);

/* Leader only: hands the leadership to node `to` (Raft's TimeoutNow). This
 * node steps down at once, giving up its read lease, follows `to` and tells
 * it to start an election without a pre-vote; its own and forwarded
 * proposals then go to `to`. -EINVAL: `to` is this node or no member;
 * -EAGAIN: not the leader; -EBUSY: not now (a round in flight or proposals
 * queued, or `to` not heard within election_min_us or far behind the
 * commit index): try again at a later input. If `to` does not take over, the
 * election timeouts elect someone as after a leader's failure. */
int engine_transfer_leadership(struct engine *e, uint32_t to, uint64_t now);
/* The host durably applied everything up to `applied`. */
int engine_set_applied(struct engine *e, uint64_t applied, uint64_t now);

/* The host installed a snapshot of the state machine at index `idx`. */
int engine_install_snapshot(struct engine *e, uint64_t idx, uint64_t now);

void engine_status(const struct engine *e, struct engine_status *st);

#endif
