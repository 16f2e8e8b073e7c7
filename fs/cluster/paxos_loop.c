/*
 * paxos_loop.c - the thread that owns the consensus engine.
 *
 * Everything reaches the engine through this thread: frames copied off the
 * network thread (the inbox), proposals from FUSE threads (the proposal
 * queue), the apply thread's progress, and time (a tick every CL_TICK_MS).
 * Persisting is synchronous here: while one save() fsyncs, new frames pile
 * up in the inbox and go to the engine together, which is the group commit.
 */
#include "fs/cluster/cluster_internal.h"
#include "fs/cluster/snapshot.h"

#include "common/log.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

uint64_t cl_now_us(void)
{
    return net_now_ns() / 1000u;
}

int pax_wake_open(struct cluster *cl)
{
    cl->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    return cl->wake_fd < 0 ? -errno : 0;
}

void pax_wake(struct cluster *cl)
{
    uint64_t one = 1;
    if (write(cl->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        log_warn("cluster: cannot wake the Paxos thread: %s", strerror(errno));
}

int pax_on_frame(struct cluster *cl, int peer, const uint8_t *p, uint32_t len)
{
    pthread_mutex_lock(&cl->pax_lock);
    if (cl->pax_stop) { /* the network thread outlives the engine: nobody would free it */
        pthread_mutex_unlock(&cl->pax_lock);
        return 0;
    }
    if (cl->in_bytes + len > CL_INBOX_BYTES) {
        cl->paused |= 1u << peer; /* resumed once the inbox drains */
        pthread_mutex_unlock(&cl->pax_lock);
        return -EAGAIN;
    }
    struct cl_frame *f = malloc(sizeof(*f) + len);
    if (!f) {
        pthread_mutex_unlock(&cl->pax_lock);
        return 0; /* dropped: the engine retransmits */
    }
    f->next = NULL;
    f->len = len;
    memcpy(f->data, p, len);
    if (cl->in_tail)
        cl->in_tail->next = f;
    else
        cl->in_head = f;
    cl->in_tail = f;
    cl->in_bytes += len;
    pthread_mutex_unlock(&cl->pax_lock);
    pax_wake(cl);
    return 0;
}

int pax_propose(struct cluster *cl, const uint8_t *buf, uint32_t len, uint64_t req_id,
                int timeout_ms)
{
    uint8_t *copy = malloc(len);
    if (!copy)
        return -ENOMEM;
    memcpy(copy, buf, len);
    struct timespec dl;
    net_deadline(&dl, timeout_ms);
    pthread_mutex_lock(&cl->pax_lock);
    while (cl->prop_n == CL_PROPQ && !cl->pax_stop)
        if (pthread_cond_timedwait(&cl->prop_space, &cl->pax_lock, &dl) == ETIMEDOUT)
            break;
    if (cl->prop_n == CL_PROPQ || cl->pax_stop) {
        pthread_mutex_unlock(&cl->pax_lock);
        free(copy);
        return -EROFS;
    }
    cl->propq[(cl->prop_head + cl->prop_n++) % CL_PROPQ] = (struct cl_prop){copy, len, req_id};
    pthread_mutex_unlock(&cl->pax_lock);
    pax_wake(cl);
    return 0;
}

/* Leader changes go to the log: the fault suite's analyses need them. */
static void log_leader(struct cluster *cl, const struct engine_status *st)
{
    int32_t l = st->quorum_ok ? st->leader : -1;
    if (l == cl->leader_logged)
        return;
    cl->leader_logged = l;
    if (l < 0)
        log_info("cluster: no leader with a quorum (ballot round %llu promised)",
                 (unsigned long long)ballot_round(st->promised));
    else
        log_info("cluster: leader is %s%s (round %llu)", cl->mem.human[l],
                 (uint32_t)l == cl->mem.self ? ", this node" : "",
                 (unsigned long long)ballot_round(st->promised));
}

static void publish_status(struct cluster *cl)
{
    struct engine_status st;
    engine_status(cl->eng, &st);
    log_leader(cl, &st);
    pthread_mutex_lock(&cl->st_lock);
    cl->est = st;
    if (st.quorum_ok && st.leader >= 0)
        cl->quorum_seen_us = cl_now_us();
    pthread_mutex_unlock(&cl->st_lock);
}

/* Engine callbacks (on this thread). */
static void host_send(void *ctx, uint32_t to, const uint8_t *buf, size_t len)
{
    struct cluster *cl = ctx;
    /* Publish before anything leaves: a read-index answer must never show a
     * commit index older than one a peer already learned from us. */
    if (cl->eng)
        publish_status(cl);
    if (to < cl->mem.n && cl->mem.peer_of[to] >= 0)
        net_send(cl->net, cl->mem.peer_of[to], CHAN_CONTROL, FT_CONSENSUS, 0, buf, len, 0);
}

/* Publish before the apply thread sees the slot, too: once applied here, a
 * mutation returns to its caller, and a read index answered from an older
 * status (this turn's save may still take a while) would let a lookup on
 * another node miss it. */
static int host_deliver(void *ctx, uint64_t slot, const struct cons_entry *e)
{
    struct cluster *cl = ctx;
    if (cl->eng)
        publish_status(cl);
    int rc = apply_loop_offer(cl, slot, e);
    if (rc == 0 && e->kind == CONS_KIND_CMD)
        leader_place_note(&cl->place, e->origin);
    return rc;
}

static void host_proposal_done(void *ctx, uint64_t req_id, int64_t slot_or_err)
{
    if (slot_or_err < 0)
        waiters_retry(ctx, req_id);
}

/* A peer truncated slots this node needs: fetch its snapshot (snapshot.h). */
static void host_need_snapshot(void *ctx, uint32_t peer, uint64_t log_start)
{
    struct cluster *cl = ctx;
    snapshot_need(cl->snap, peer, log_start);
}

/* Test knob: QFS_TEST_LOG_RETAIN=N keeps at most N applied slots (and a ring
 * just large enough, see check_config() in consensus/engine.c), so a test
 * can put a node beyond the log's reach with few commands. */
static void test_log_retain(struct cons_params *p)
{
    const char *v = getenv("QFS_TEST_LOG_RETAIN");
    long n = v ? strtol(v, NULL, 10) : 0;
    if (n <= 0 || n > (long)p->retain)
        return;
    p->retain = (uint32_t)n;
    p->log_cap = p->retain + 2 * p->batch_max * p->inflight_max + 1024;
    log_warn("cluster: test knob QFS_TEST_LOG_RETAIN: the log keeps %u applied slots", p->retain);
}

static int create_engine(struct cluster *cl, uint64_t applied)
{
    struct engine_config ec = {
        .self = cl->mem.self, .n_nodes = cl->mem.n, .applied = applied, .new_member = cl->new_node};
    cons_params_default(&ec.params);
    ec.params.propose_timeout_us = 2000000;
    test_log_retain(&ec.params);
    ec.rng_seed = cl_now_us() ^ ((uint64_t)getpid() << 32) ^ cl->mem.self;
    struct cons_host host = {.ctx = cl,
                             .send = host_send,
                             .deliver = host_deliver,
                             .proposal_done = host_proposal_done,
                             .need_snapshot = host_need_snapshot,
                             .persist = &persist_file_ops,
                             .persist_ctx = cl->persist};
    return engine_create(&cl->eng, &ec, &host, cl_now_us());
}

/* Hands up to CL_FEED_BATCH frames from f on to the engine as one input
 * (one save for all of them: the group commit), frees them, returns the
 * first frame not fed. */
static struct cl_frame *feed_batch(struct cluster *cl, struct cl_frame *f, uint64_t now, int *rc)
{
    struct cons_frame batch[CL_FEED_BATCH] = {{0}};
    struct cl_frame *taken[CL_FEED_BATCH];
    size_t n = 0;
    for (; f && n < CL_FEED_BATCH; f = f->next, n++) {
        batch[n] = (struct cons_frame){f->data, f->len};
        taken[n] = f;
    }
    if (!*rc)
        *rc = engine_receive_batch(cl->eng, batch, n, now);
    for (size_t i = 0; i < n; i++)
        free(taken[i]);
    return f;
}

/* Feeds the inbox to the engine; resumes peers that were paused. *now is
 * read once the frames are taken, so that no frame is stamped as received
 * before it arrived: a follower refuses other candidates for an election
 * timeout after a leader's ACCEPT, counted from that time, and the leader's
 * read lease relies on it (consensus/leader.c, leader_lease_until). */
static int feed_frames(struct cluster *cl, uint64_t *now)
{
    pthread_mutex_lock(&cl->pax_lock);
    struct cl_frame *f = cl->in_head;
    uint32_t paused = cl->paused;
    cl->in_head = cl->in_tail = NULL;
    cl->in_bytes = 0;
    cl->paused = 0;
    pthread_mutex_unlock(&cl->pax_lock);
    *now = cl_now_us();
    int rc = 0;
    while (f)
        f = feed_batch(cl, f, *now, &rc);
    for (int p = 0; paused; p++, paused >>= 1)
        if (paused & 1)
            net_resume(cl->net, p, CHAN_CONTROL);
    return rc == -EPROTO || rc == -EINVAL ? 0 : rc; /* a bad message is the sender's problem */
}

/* Hands queued proposals to the engine while it takes them. */
static int feed_proposals(struct cluster *cl, uint64_t now)
{
    for (;;) {
        pthread_mutex_lock(&cl->pax_lock);
        if (!cl->prop_n) {
            pthread_mutex_unlock(&cl->pax_lock);
            return 0;
        }
        struct cl_prop p = cl->propq[cl->prop_head];
        pthread_mutex_unlock(&cl->pax_lock);
        int rc = engine_propose(cl->eng, p.buf, p.len, p.req_id, now);
        if (rc == -EAGAIN)
            return 0; /* the engine is full: keep it queued */
        pthread_mutex_lock(&cl->pax_lock);
        cl->prop_head = (cl->prop_head + 1) % CL_PROPQ;
        cl->prop_n--;
        pthread_cond_signal(&cl->prop_space);
        pthread_mutex_unlock(&cl->pax_lock);
        free(p.buf);
        if (rc == -EMSGSIZE || rc == -EINVAL) {
            log_error("cluster: proposal %llu refused by the engine: %s",
                      (unsigned long long)p.req_id, strerror(-rc));
            waiters_retry(cl, p.req_id);
        } else if (rc < 0) {
            return rc;
        }
    }
}

static int feed_applied(struct cluster *cl, uint64_t now)
{
    /* The engine drops log slots up to what it is told: only those a
     * checkpoint of the store holds survive a power cut without the log. */
    pthread_mutex_lock(&cl->ap_lock);
    uint64_t applied = cl->ckpt_applied, snap = cl->snap_idx;
    pthread_mutex_unlock(&cl->ap_lock);
    if (snap > cl->snap_told) { /* a snapshot was installed (snapshot.c) */
        cl->snap_told = snap;
        int rc = engine_install_snapshot(cl->eng, snap, now);
        if (rc)
            return rc;
    }
    if (applied == cl->applied_told)
        return 0;
    cl->applied_told = applied;
    return engine_set_applied(cl->eng, applied, now);
}

/* Hands the leadership to the node most commands come from, when that is
 * due (leader_place.h); the engine may say "not now" (-EBUSY): next turn. */
static int place_leader(struct cluster *cl, uint64_t now)
{
    struct engine_status st;
    engine_status(cl->eng, &st);
    int32_t to = leader_place_due(&cl->place, cl->mem.self, st.role == ROLE_LEADER, now);
    if (to < 0)
        return 0;
    int rc = engine_transfer_leadership(cl->eng, (uint32_t)to, now);
    if (rc == -EBUSY)
        return 0;
    leader_place_done(&cl->place, now);
    if (rc == 0)
        log_info("cluster: handing the leadership to %s, where most commands come from",
                 cl->mem.human[to]);
    return rc == -EAGAIN || rc == -EINVAL ? 0 : rc;
}

static int turn(struct cluster *cl)
{
    uint64_t now = cl_now_us();
    /* Proposals first: the leader only queues them, so the accept round the
     * frames' input then starts (and its one save) carries them too. */
    int rc = feed_proposals(cl, now);
    if (!rc)
        rc = feed_frames(cl, &now);
    if (!rc)
        rc = feed_applied(cl, now);
    if (!rc)
        rc = engine_tick(cl->eng, now);
    if (!rc)
        rc = place_leader(cl, now);
    publish_status(cl);
    if (now - cl->last_report_us >= CL_REPORT_MS * 1000u) {
        cl->last_report_us = now;
        node_msgs_report(cl);
    }
    return rc;
}

/* Waits ms, or less if the daemon stops; true if it does. */
static bool pax_wait_stoppable(struct cluster *cl, uint32_t ms)
{
    uint64_t end = cl_now_us() + (uint64_t)ms * 1000u;
    pthread_mutex_lock(&cl->pax_lock);
    while (!cl->pax_stop && cl_now_us() < end)
        cl_timedwait(&cl->prop_space, &cl->pax_lock, (int)((end - cl_now_us()) / 1000u) + 1);
    bool stop = cl->pax_stop;
    pthread_mutex_unlock(&cl->pax_lock);
    return stop;
}

/* Counts a restart into the streak and waits what the streak asks; true if
 * the daemon stops meanwhile. A disk that stays full fails every save: the
 * node then sits out (the others carry on) and logs it every LOG_LIMIT_MS,
 * instead of restarting in a tight loop. */
static bool restart_backoff(struct cluster *cl, int why)
{
    uint64_t now = cl_now_us(), left_out;
    if (cl->restarts && now - cl->last_restart_us >= CL_RESTART_QUIET_MS * 1000u)
        cl->restarts = 0;
    uint32_t wait = cl->restarts == 0   ? 0
                    : cl->restarts == 1 ? CL_RESTART_WAIT_MIN_MS
                                        : cl->restart_wait_ms * 2;
    cl->restart_wait_ms = wait > CL_RESTART_WAIT_MAX_MS ? CL_RESTART_WAIT_MAX_MS : wait;
    cl->restarts++;
    if (log_limit_pass(&cl->restart_log, &left_out))
        log_error("cluster: consensus engine stopped (%s); restarting it from its log in %u ms "
                  "(restart %llu in a row; %llu reports left out)",
                  strerror(-why), cl->restart_wait_ms, (unsigned long long)cl->restarts,
                  (unsigned long long)left_out);
    bool stop = pax_wait_stoppable(cl, cl->restart_wait_ms);
    cl->last_restart_us = cl_now_us();
    return stop;
}

/* A failed persist leaves the engine unusable: start again from what is on
 * disk, exactly as after a crash (decided entries are re-offered; the apply
 * queue ignores slots it already holds). */
static void restart_engine(struct cluster *cl, int why)
{
    engine_destroy(cl->eng);
    cl->eng = NULL;
    /* Until it runs again this node has no quorum: mutations fail with EROFS
     * and reads use local data at once, instead of waiting for an engine. */
    pthread_mutex_lock(&cl->st_lock);
    cl->est.quorum_ok = 0;
    cl->est.leader = -1;
    cl->est.lease_until = 0;
    pthread_mutex_unlock(&cl->st_lock);
    if (restart_backoff(cl, why))
        return;
    pthread_mutex_lock(&cl->ap_lock);
    uint64_t applied = cl->applied;
    pthread_mutex_unlock(&cl->ap_lock);
    while (!cl->eng) {
        int rc = create_engine(cl, applied);
        if (!rc)
            break;
        log_error("cluster: cannot restart the engine: %s (retrying in 1 s)", strerror(-rc));
        if (pax_wait_stoppable(cl, 1000))
            return;
    }
    cl->applied_told = applied;
}

/* After a streak of restarts, says once that the engine runs again. */
static void note_recovery(struct cluster *cl)
{
    if (!cl->restarts || cl_now_us() - cl->last_restart_us < CL_RESTART_QUIET_MS * 1000u)
        return;
    log_info("cluster: consensus engine running again (%llu restarts before it)",
             (unsigned long long)cl->restarts);
    cl->restarts = 0;
}

static void *pax_main(void *arg)
{
    pthread_setname_np(pthread_self(), "qfs-paxos"); /* for top -H, perf, gdb */
    struct cluster *cl = arg;
    struct pollfd pfd = {.fd = cl->wake_fd, .events = POLLIN};
    for (;;) {
        pthread_mutex_lock(&cl->pax_lock);
        bool stop = cl->pax_stop;
        pthread_mutex_unlock(&cl->pax_lock);
        if (stop || !cl->eng)
            break;
        if (poll(&pfd, 1, CL_TICK_MS) > 0) {
            uint64_t v;
            if (read(cl->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
                log_warn("cluster: wake read: %s", strerror(errno));
        }
        int rc = turn(cl);
        if (rc < 0)
            restart_engine(cl, rc);
        else
            note_recovery(cl);
    }
    return NULL;
}

int pax_start(struct cluster *cl, uint64_t applied)
{
    cl->applied_told = applied;
    int rc = create_engine(cl, applied);
    if (rc) {
        log_error("cluster: cannot start the consensus engine: %s", strerror(-rc));
        return rc;
    }
    rc = -pthread_create(&cl->pax_thread, NULL, pax_main, cl);
    cl->pax_started = rc == 0;
    return rc;
}

void pax_stop(struct cluster *cl)
{
    pthread_mutex_lock(&cl->pax_lock);
    cl->pax_stop = true;
    pthread_cond_broadcast(&cl->prop_space);
    pthread_mutex_unlock(&cl->pax_lock);
    if (cl->pax_started) {
        pax_wake(cl);
        pthread_join(cl->pax_thread, NULL);
        cl->pax_started = false;
    }
    engine_destroy(cl->eng);
    cl->eng = NULL;
    while (cl->in_head) {
        struct cl_frame *f = cl->in_head;
        cl->in_head = f->next;
        free(f);
    }
    for (; cl->prop_n; cl->prop_n--, cl->prop_head = (cl->prop_head + 1) % CL_PROPQ)
        free(cl->propq[cl->prop_head].buf);
}

void cl_engine_status(struct cluster *cl, struct engine_status *st)
{
    pthread_mutex_lock(&cl->st_lock);
    *st = cl->est;
    pthread_mutex_unlock(&cl->st_lock);
}

bool cl_has_quorum(struct cluster *cl)
{
    struct engine_status st;
    cl_engine_status(cl, &st);
    return st.quorum_ok;
}
