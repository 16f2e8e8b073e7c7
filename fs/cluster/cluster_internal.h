/*
 * cluster_internal.h - the state behind struct cluster, shared by the
 * fs/cluster/ files (private). Which thread or lock owns each field is
 * written beside it; "pax" = the Paxos thread, "apply" = the apply thread.
 */
#ifndef QFS_FS_CLUSTER_CLUSTER_INTERNAL_H
#define QFS_FS_CLUSTER_CLUSTER_INTERNAL_H

#include "common/log.h"
#include "consensus/dedup.h"
#include "consensus/engine.h"
#include "consensus/persist_file.h"
#include "fs/cluster/chunk_io_store.h"
#include "fs/cluster/chunk_sync.h"
#include "fs/cluster/leader_place.h"
#include "fs/cluster/cluster.h"
#include "fs/cluster/members.h"
#include "fs/core/apply.h"
#include "net/chunk_io.h"
#include "net/clock.h"
#include "net/replicate.h"
#include "net/transport.h"

#include <pthread.h>
#include <stdbool.h>

#define CL_INBOX_BYTES   ((size_t)32 << 20) /* consensus frames not yet fed to the engine */
#define CL_PROPQ         256                /* proposals handed to the Paxos thread */
#define CL_DECIDED_MAX   4096               /* decided entries waiting to be applied */
#define CL_DECIDED_BYTES ((size_t)64 << 20)
#define CL_APPLY_BATCH   256
#define CL_CKPT_IDLE_MS  100 /* idle this long after commits: a checkpoint */
#define CL_TICK_MS       10
#define CL_FEED_BATCH    64 /* inbox frames per engine input (one save) */
#define CL_REPORT_MS     200
/* A read index asked within this long of the last quorum waits for a leader
 * (an election is likely under way) rather than answering from local data;
 * so does one asked while a majority is reachable (see below), however long
 * ago the last quorum was. */
#define CL_QUORUM_GRACE_MS 1000
/* So does one asked this soon after the start, before any quorum was seen:
 * a restarted node's store is as old as its stop, and with no peer heard
 * yet (its first 10 ms or so, or longer if the others are slow) it would
 * otherwise answer that a file made meanwhile is not there (a sanitized
 * kill-leader-during-commit run in session 16's CI caught an O_CREAT open
 * that failed ENOENT 0.4 s after a restart). A lookup's sync still gives up
 * at its own timeout and backs off (cluster_sync). */
#define CL_START_GRACE_MS 3000
/* A sync whose read index is answered but whose apply lags waits up to this
 * in all, when its apply's pace says it will catch up in time
 * (cluster_sync). */
#define CL_CATCHUP_MS 4000
/* A member whose last frame arrived within this is reachable (every member
 * sends a report each CL_REPORT_MS, so silence this long is a cut). */
#define CL_REACH_MS 1000
/* A failed save (a full disk) restarts the engine: at once the first time,
 * then after a wait that doubles up to the max while it keeps failing; a
 * run this long without a failure ends the streak. */
#define CL_RESTART_WAIT_MIN_MS 100
#define CL_RESTART_WAIT_MAX_MS 5000
#define CL_RESTART_QUIET_MS    10000
#define CL_SUBMIT_MS           3000 /* a mutation not applied by then returns EROFS */

/* A consensus frame from a peer, copied off the network thread. */
struct cl_frame {
    struct cl_frame *next;
    uint32_t len;
    uint8_t data[];
};

/* A proposal on its way to the engine; owns a copy of the bytes. */
struct cl_prop {
    uint8_t *buf;
    uint32_t len;
    uint64_t req_id;
};

/* A decided log entry on its way to the apply thread; owns its bytes. */
struct cl_decided {
    uint64_t slot;
    uint32_t origin;
    uint64_t req_id;
    uint8_t kind;
    uint32_t len;
    uint8_t *data;
};

/* A job the apply thread runs between two batches, so that no command
 * applies concurrently: a snapshot install (snapshot.c). run() replaces the
 * state and sets *applied to the index it now stands at. */
struct cl_install {
    int (*run)(void *arg, uint64_t *applied);
    void *arg;
    bool (*cancelled)(void *cancel_arg); /* polled while waiting: true withdraws it if not
                                            started yet */
    void *cancel_arg;
    int rc;
    bool started, done; /* under ap_lock */
};

/* A FUSE thread waiting for its command; lives on its stack. */
struct cl_waiter {
    struct cl_waiter *next;
    uint64_t req_id;
    struct apply_result *res;
    int rc;
    bool done;    /* applied (rc = 0) or failed */
    bool claimed; /* the apply thread is applying it: wait, do not leave */
    bool retry;   /* the engine gave up on it: propose again */
    bool stale;   /* dedup refused its id as too old: propose again under a new id */
    bool seen;    /* dedup refused it as applied before: never propose again */
};

struct cluster {
    struct core *core;
    struct members mem;
    struct net_config cfg;
    struct cluster_hooks hooks;
    struct net *net;
    struct repl *repl;
    struct chunk_io io;
    struct chunk_io_store ios; /* io's state: pushes touch chunks for the GC */
    struct chunk_sync *sync;   /* pulls chunks of applied commits that are missing */
    struct persist_file *persist;
    bool new_node; /* DATA/new-node was there at start: never voted (set before the threads) */
    uint64_t req_base;
    uint64_t next_req; /* atomic: the last request id handed out */

    /* Paxos thread */
    pthread_t pax_thread;
    bool pax_started;
    int wake_fd;               /* eventfd: something for the Paxos thread; set before any thread */
    struct engine *eng;        /* pax only */
    uint64_t applied_told;     /* pax only: last index given to engine_set_applied */
    uint64_t snap_told;        /* pax only: last index given to engine_install_snapshot */
    uint64_t last_report_us;   /* pax only */
    int32_t leader_logged;     /* pax only: the leader the log last named (-1 none) */
    struct leader_place place; /* pax only: when to hand the leadership over */
    uint64_t restarts;         /* pax only: engine restarts in the current streak */
    uint64_t last_restart_us;  /* pax only */
    uint32_t restart_wait_ms;  /* pax only: wait before the next restart */
    struct log_limit restart_log;
    struct log_limit apply_log; /* the apply thread's */
    pthread_mutex_t pax_lock;   /* guards the fields below up to pax_stop */
    pthread_cond_t prop_space;
    struct cl_frame *in_head, *in_tail;
    size_t in_bytes;
    uint32_t paused; /* bit per transport peer whose frame was refused (-EAGAIN) */
    struct cl_prop propq[CL_PROPQ];
    uint32_t prop_head, prop_n;
    bool pax_stop;

    /* what the engine last said, for every thread */
    pthread_mutex_t st_lock; /* guards est, quorum_seen_us, peer_applied, peer_missing* */
    struct engine_status est;
    uint64_t quorum_seen_us;      /* last publish with a quorum and a leader (cl_now_us) */
    uint64_t start_grace_end_us;  /* set once at start: CL_START_GRACE_MS */
    uint32_t test_apply_delay_ms; /* set once at start: QFS_TEST_APPLY_DELAY_MS */
    int64_t peer_applied[CONS_MAX_NODES];
    uint64_t peer_missing_chunks[CONS_MAX_NODES], peer_missing_bytes[CONS_MAX_NODES];
    uint64_t peer_heard_us[CONS_MAX_NODES]; /* no lock, __atomic: last frame from each member */

    /* apply thread */
    pthread_t apply_thread;
    bool apply_started;
    pthread_mutex_t ap_lock; /* guards dq*, applied, ckpt_applied, delivered, ap_stop, halted,
                                install, snap_idx, apply_failing */
    pthread_cond_t ap_work;  /* entries queued, an install or stop */
    pthread_cond_t ap_done;  /* applied moved, or an install finished */
    struct cl_decided dq[CL_DECIDED_MAX];
    uint32_t dq_head, dq_n;
    size_t dq_bytes;
    uint64_t delivered; /* last slot queued (pax writes, under ap_lock) */
    uint64_t applied;   /* last slot applied and committed */
    /* applied as of the store's last checkpoint: what survives a power cut,
     * so all the Paxos log may drop (the engine's "applied") */
    uint64_t ckpt_applied;
    bool ckpt_in_flight; /* apply thread: a checkpoint begun, not yet durable */
    uint64_t ckpt_begun; /* apply thread: applied when it began */
    bool ap_stop, halted;
    /* -errno of the last apply or snapshot install if it failed (a full disk), else 0 */
    int apply_failing;
    struct dedup_table dedup; /* apply only; persisted with each batch */
    int since_gc;             /* apply only */

    struct cl_install *install; /* ap_lock: a snapshot install waiting for or on the apply thread */
    uint64_t snap_idx;          /* ap_lock: last snapshot installed (for the Paxos thread) */

    struct snapshot *snap; /* snapshot transfers (snapshot.h) */

    /* waiting proposers */
    pthread_mutex_t w_lock; /* guards waiters and every waiter's fields */
    pthread_cond_t w_cond;
    struct cl_waiter *waiters;

    /* read index */
    pthread_mutex_t ri_lock; /* guards ri_* */
    pthread_cond_t ri_cond;
    uint64_t ri_next, ri_answered, ri_commit;
    bool ri_ok;
    uint64_t sync_failed_us; /* no lock, __atomic: when a cluster_sync last timed out */
};

/* Paxos thread (paxos_loop.c). */
/* Opens wake_fd before any thread that calls pax_wake() starts (they read
 * it unlocked), then pax_start() starts the Paxos thread. */
int pax_wake_open(struct cluster *cl);
int pax_start(struct cluster *cl, uint64_t applied);
void pax_stop(struct cluster *cl);
void pax_wake(struct cluster *cl);
/* Network thread: a consensus frame (0, or -EAGAIN: inbox full, peer paused). */
int pax_on_frame(struct cluster *cl, int peer, const uint8_t *p, uint32_t len);
/* Queues a proposal (copies buf); waits up to timeout_ms for room. */
int pax_propose(struct cluster *cl, const uint8_t *buf, uint32_t len, uint64_t req_id,
                int timeout_ms);

/* Apply thread (log_apply.c). */
int apply_loop_start(struct cluster *cl);
void apply_loop_stop(struct cluster *cl);
/* Paxos thread: queue a decided entry (0, or -EAGAIN: full, offer it again). */
int apply_loop_offer(struct cluster *cl, uint64_t slot, const struct cons_entry *e);
/* Any thread but the apply thread: runs job there and waits for it. Then the
 * applied index is job's, queued entries at or below it are dropped, the
 * dedup table is reloaded from the store and the Paxos thread is told.
 * 0, the job's error, -ECANCELED (withdrawn) or -ESHUTDOWN (applying stopped). */
int apply_loop_install(struct cluster *cl, struct cl_install *job);
/* -errno while this node's apply fails (its disk is full), else 0. */
int apply_loop_failing(struct cluster *cl);
/* Snapshot thread: a snapshot this node needs could not be stored (rc:
 * -ENOSPC or -EDQUOT; other errors are ignored). It cannot apply anything
 * until one is, so it counts as failing, as a full disk under the apply
 * does, until an apply or an install succeeds. */
void apply_loop_snapshot_failed(struct cluster *cl, int rc);

/* Proposers (orderer.c). */
extern const struct orderer_ops cluster_orderer_ops;
/* Apply thread: the waiter of this node's req_id, now claimed (or NULL). */
struct cl_waiter *waiters_claim(struct cluster *cl, uint64_t req_id);
/* Apply thread: rc 0: applied, results are in; -ESTALE: refused by dedup
 * as too old (re-proposed under a new id); -EALREADY: refused as applied
 * before (never proposed again); other rc: released unapplied. */
void waiters_finish(struct cluster *cl, struct cl_waiter **ws, int n, int rc);
/* Paxos thread: the engine gave up on req_id (it may retry). */
void waiters_retry(struct cluster *cl, uint64_t req_id);

/* Node messages (node_msgs.c): network-thread handlers and senders. */
int node_msgs_on_frame(struct cluster *cl, int peer, const uint8_t *p, uint32_t len);
void node_msgs_report(struct cluster *cl);

/* Chunks referenced here and not stored yet (0 until chunk sync is wired). */
void cluster_missing(struct cluster *cl, uint64_t *chunks, uint64_t *bytes);
/* pthread_cond_timedwait for at most ms milliseconds. */
void cl_timedwait(pthread_cond_t *cond, pthread_mutex_t *lock, int ms);

/* A copy of what the engine last said. */
void cl_engine_status(struct cluster *cl, struct engine_status *st);
/* The engine sees a leader with a quorum: a mutation can be proposed. */
bool cl_has_quorum(struct cluster *cl);
uint64_t cl_now_us(void);

#endif
