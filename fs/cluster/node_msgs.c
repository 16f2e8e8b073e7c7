/*
 * node_msgs.c - the node glue's own messages (cluster_msg.h): read-index
 * requests and answers, and the periodic report of each node's progress
 * that `qfs status` shows for the other members. Handlers run on the
 * network thread and never block (net_send with timeout 0).
 */
#include "fs/cluster/cluster_internal.h"
#include "fs/cluster/cluster_msg.h"

#include "common/log.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#define SLOW_SYNC_US 1000000 /* a sync this long is logged with where it waited */

/* On the fast channel, so a read index does not wait behind the consensus
 * stream in the control connection's socket (a slow link's retransmissions
 * hold back everything queued after them); on the control channel while the
 * fast one is down or full. Answers may thus overtake consensus frames sent
 * earlier: the read index only needs an index at least as new as any
 * commit before the request, and the asker waits until it has applied it. */
static void send_msg(struct cluster *cl, int peer, const struct cluster_msg *m)
{
    uint8_t buf[CLUSTER_MSG_MAX];
    size_t len = cluster_msg_encode(m, buf);
    if (net_send(cl->net, peer, CHAN_FAST, FT_CLUSTER, FRAME_F_URGENT, buf, len, 0) != 0)
        net_send(cl->net, peer, CHAN_CONTROL, FT_CLUSTER, FRAME_F_URGENT, buf, len, 0);
}

/* The status says this node leads and its read lease holds now. The status
 * may be older than now (the Paxos thread may be in a long fsync), which is
 * why the lease is a time and not a flag. */
static bool lease_holds(const struct engine_status *st)
{
    return st->role == ROLE_LEADER && cl_now_us() < st->lease_until;
}

/* Leader side: the commit index now. Answers only while this node's read
 * lease holds (consensus/leader.c, leader_lease_until): then no other
 * leader can have committed anything it does not know. */
static void answer_read_index(struct cluster *cl, int peer, uint64_t token)
{
    struct engine_status st;
    cl_engine_status(cl, &st);
    bool lead = lease_holds(&st);
    struct cluster_msg m = {CM_READ_INDEX_RESP, token, lead ? st.commit : 0, lead};
    send_msg(cl, peer, &m);
}

static void read_index_answered(struct cluster *cl, const struct cluster_msg *m)
{
    pthread_mutex_lock(&cl->ri_lock);
    if (m->a > cl->ri_answered && m->a <= cl->ri_next) {
        cl->ri_answered = m->a;
        cl->ri_commit = m->b;
        cl->ri_ok = m->c == 1;
        pthread_cond_broadcast(&cl->ri_cond);
    }
    pthread_mutex_unlock(&cl->ri_lock);
}

static void report_received(struct cluster *cl, int peer, const struct cluster_msg *m)
{
    uint32_t idx = cl->mem.index_of[peer];
    pthread_mutex_lock(&cl->st_lock);
    cl->peer_applied[idx] = (int64_t)m->a;
    cl->peer_missing_chunks[idx] = m->b;
    cl->peer_missing_bytes[idx] = m->c;
    pthread_mutex_unlock(&cl->st_lock);
}

int node_msgs_on_frame(struct cluster *cl, int peer, const uint8_t *p, uint32_t len)
{
    struct cluster_msg m;
    int rc = cluster_msg_decode(p, len, &m);
    if (rc) {
        log_warn("cluster: malformed node message from %s (%u bytes)",
                 cl->mem.human[cl->mem.index_of[peer]], len);
        return rc; /* closes the connection: a protocol error */
    }
    if (m.kind == CM_READ_INDEX_REQ)
        answer_read_index(cl, peer, m.a);
    else if (m.kind == CM_READ_INDEX_RESP)
        read_index_answered(cl, &m);
    else
        report_received(cl, peer, &m);
    return 0;
}

void node_msgs_report(struct cluster *cl)
{
    pthread_mutex_lock(&cl->ap_lock);
    struct cluster_msg m = {CM_REPORT, cl->applied, 0, 0};
    pthread_mutex_unlock(&cl->ap_lock);
    cluster_missing(cl, &m.b, &m.c);
    for (size_t p = 0; p < cl->cfg.npeers; p++)
        send_msg(cl, (int)p, &m);
}

/* This node and the members heard within CL_REACH_MS make a majority. */
static bool majority_reachable(struct cluster *cl, uint64_t now)
{
    uint32_t heard = 1;
    for (uint32_t i = 0; i < cl->mem.n; i++) {
        uint64_t t = __atomic_load_n(&cl->peer_heard_us[i], __ATOMIC_RELAXED);
        heard += i != cl->mem.self && t && now < t + CL_REACH_MS * 1000u;
    }
    return heard > cl->mem.n / 2;
}

/* The engine status once it shows a quorum and a leader, waiting for one
 * (at most timeout_ms) while the last was seen less than CL_QUORUM_GRACE_MS
 * ago or a majority is reachable: a node in an election, not cut off, must
 * not answer a lookup from state that misses what the old leader committed.
 * The fault suite's slow-link run caught a mkdir answered EEXIST that way,
 * 0.2 s into an election on a node with a healthy link; and the grace alone
 * was too short for an election on a loaded machine. Before the first
 * quorum, the start-up grace stands for it (CL_START_GRACE_MS). -EROFS once the
 * grace is over and no majority is heard; -ETIMEDOUT when the whole timeout
 * passed while one was, so that cluster_sync() backs off: a follower that
 * the leader cannot reach but the other follower can hears a majority and
 * is never elected (pre-vote), and each lookup waited the full 2 s (renames
 * of 10-14 s on that node in session 9's long majority-isolated-from-leader
 * run; -EROFS at the deadline had kept the back-off from starting).
 * Not past the grace on a node whose apply fails (its disk is full): its
 * engine restarts over and over and no leader it finds lets it catch up, so
 * each lookup of a path waited the whole timeout (renames of 10-13 s in the
 * long disk-full run); it answers from local data, as a cut-off node does.
 * Nor before the network thread has read the sockets since the wait began
 * (net_passes): a node waking from a stall (SIGSTOP, a paused machine) has
 * its grace long past and no member heard lately, while what they sent
 * meanwhile sits unread; under ThreadSanitizer a follower frozen 3 s
 * answered ENOENT for a file created meanwhile, right after SIGCONT. */
static int wait_quorum(struct cluster *cl, int timeout_ms, struct engine_status *st)
{
    uint64_t deadline = cl_now_us() + (uint64_t)timeout_ms * 1000u;
    uint64_t pass0 = net_passes(cl->net);
    for (;;) {
        pthread_mutex_lock(&cl->st_lock);
        *st = cl->est;
        uint64_t grace_end = cl->quorum_seen_us ? cl->quorum_seen_us + CL_QUORUM_GRACE_MS * 1000u
                                                : cl->start_grace_end_us;
        pthread_mutex_unlock(&cl->st_lock);
        if (st->quorum_ok && st->leader >= 0)
            return 0;
        uint64_t now = cl_now_us();
        if (now >= grace_end && (!majority_reachable(cl, now) || apply_loop_failing(cl)) &&
            net_passes(cl->net) > pass0 + 1) /* one began after we looked */
            return -EROFS;
        if (now >= deadline) /* waited it out: cluster_sync() backs off */
            return -ETIMEDOUT;
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

/* One request to the leader; answers carry increasing tokens, and an
 * answer to a later request also serves every earlier one (its commit index
 * was read after they were sent). -EAGAIN: it answered that it has no lease. */
static int ask_leader(struct cluster *cl, int32_t leader, uint64_t deadline, uint64_t *idx)
{
    pthread_mutex_lock(&cl->ri_lock);
    uint64_t token = ++cl->ri_next;
    pthread_mutex_unlock(&cl->ri_lock);
    struct cluster_msg m = {CM_READ_INDEX_REQ, token, 0, 0};
    send_msg(cl, cl->mem.peer_of[leader], &m);
    pthread_mutex_lock(&cl->ri_lock);
    while (cl->ri_answered < token && cl_now_us() < deadline)
        cl_timedwait(&cl->ri_cond, &cl->ri_lock, 20);
    int rc = cl->ri_answered < token ? -ETIMEDOUT : cl->ri_ok ? 0 : -EAGAIN;
    *idx = cl->ri_commit;
    pthread_mutex_unlock(&cl->ri_lock);
    return rc;
}

/* Client side of the read index. A leader answers from its own commit
 * index while its lease holds; the others ask it. A leader without a lease
 * (just elected, or its majority answering slowly) is asked again until the
 * timeout: answering from local data at its first "no" would let a node
 * that is not cut off miss a mutation that returned elsewhere. */
int cluster_read_index(struct cluster *cl, int timeout_ms, uint64_t *idx)
{
    uint64_t deadline = cl_now_us() + (uint64_t)timeout_ms * 1000u;
    for (;;) {
        uint64_t now = cl_now_us();
        if (now >= deadline)
            return -ETIMEDOUT;
        struct engine_status st;
        int rc = wait_quorum(cl, (int)((deadline - now + 999) / 1000u), &st);
        if (rc)
            return rc;
        if (lease_holds(&st)) {
            *idx = st.commit;
            return 0;
        }
        if (st.role != ROLE_LEADER) {
            rc = ask_leader(cl, st.leader, deadline, idx);
            if (rc != -EAGAIN)
                return rc;
        }
        struct timespec ts = {0, 2 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

/* A node whose apply fails (its disk is full) cannot reach idx soon: the
 * failure at once, not after the timeout (a lookup then answers from local
 * data, as a cut-off node's does). */
int cluster_wait_applied(struct cluster *cl, uint64_t idx, int timeout_ms)
{
    uint64_t deadline = cl_now_us() + (uint64_t)timeout_ms * 1000u;
    pthread_mutex_lock(&cl->ap_lock);
    while (cl->applied < idx && !cl->apply_failing && cl_now_us() < deadline)
        cl_timedwait(&cl->ap_done, &cl->ap_lock, 20);
    int rc = cl->applied >= idx ? 0 : cl->apply_failing ? cl->apply_failing : -ETIMEDOUT;
    pthread_mutex_unlock(&cl->ap_lock);
    return rc;
}

uint64_t cluster_applied_index(struct cluster *cl)
{
    pthread_mutex_lock(&cl->ap_lock);
    uint64_t applied = cl->applied;
    pthread_mutex_unlock(&cl->ap_lock);
    return applied;
}

/* After a timed-out sync, until this node sees a leader with a quorum
 * again. A follower that the leader cannot reach but the others can is
 * never elected (pre-vote) and keeps hearing a majority, so each of its
 * lookups waited the full timeout (renames of over 10 s in the long
 * majority-isolated-from-leader run). Not longer: a node with a quorum
 * whose sync timed out once on a loaded machine answered lookups from local
 * data for a whole second afterwards, and CI's short majority-isolated-from-
 * leader run caught one stale (a rename answered ENOENT). */
static bool sync_backing_off(struct cluster *cl, uint64_t failed)
{
    if (!failed)
        return false;
    pthread_mutex_lock(&cl->st_lock);
    bool now_ok = cl->est.quorum_ok && cl->est.leader >= 0;
    uint64_t seen = cl->quorum_seen_us;
    pthread_mutex_unlock(&cl->st_lock);
    return !now_ok && seen < failed;
}

/* Where a slow sync spent its time: the read index round trip, or waiting
 * for this node's apply to reach the leader's index (a lagging node). */
static void log_slow_sync(uint64_t start, uint64_t ri_us, uint64_t idx, uint64_t applied, int rc)
{
    uint64_t total_us = cl_now_us() - start;
    if (total_us < SLOW_SYNC_US)
        return;
    log_warn("cluster: sync took %llu ms (read index %llu ms, index %llu, applied %llu): %s",
             (unsigned long long)(total_us / 1000), (unsigned long long)(ri_us / 1000),
             (unsigned long long)idx, (unsigned long long)applied, rc ? strerror(-rc) : "ok");
}

/* The read index was answered, so this node is led, not cut off, and its
 * store is behind (back from a partition or a restart): answered from there,
 * a lookup would miss what returned elsewhere. Past the caller's timeout it
 * waits on, up to CL_CATCHUP_MS from `start`, when the pace its apply kept
 * since `start` (from `from`) reaches idx in that time; else -ETIMEDOUT at
 * once, as before (a node replaying far more, or fetching a snapshot, which
 * applies nothing until it is in, answers from local data). */
static int wait_caught_up(struct cluster *cl, uint64_t idx, uint64_t from, uint64_t start)
{
    uint64_t now = cl_now_us(), cap = start + CL_CATCHUP_MS * 1000u;
    uint64_t at = cluster_applied_index(cl);
    if (at >= idx)
        return 0;
    if (now >= cap || at <= from)
        return -ETIMEDOUT;
    /* slots still to apply, at the pace of (at - from) per (now - start) */
    double need_us = (double)(idx - at) * (double)(now - start) / (double)(at - from);
    if (need_us > (double)(cap - now))
        return -ETIMEDOUT;
    return cluster_wait_applied(cl, idx, (int)((cap - now) / 1000u) + 1);
}

/* One deadline for both halves; see sync_backing_off(). */
int cluster_sync(struct cluster *cl, int timeout_ms, uint64_t *applied)
{
    uint64_t start = cl_now_us(), idx = 0;
    uint64_t from = cluster_applied_index(cl); /* the pace of its apply counts from here */
    uint64_t failed = __atomic_load_n(&cl->sync_failed_us, __ATOMIC_RELAXED);
    bool backing_off = sync_backing_off(cl, failed);
    int rc = backing_off ? -ETIMEDOUT : 0;
    if (!rc)
        rc = cluster_read_index(cl, timeout_ms, &idx);
    uint64_t ri_us = cl_now_us() - start;
    if (!rc) {
        uint64_t spent_ms = ri_us / 1000;
        int left = spent_ms < (uint64_t)timeout_ms ? timeout_ms - (int)spent_ms : 0;
        rc = cluster_wait_applied(cl, idx, left);
        if (rc == -ETIMEDOUT)
            rc = wait_caught_up(cl, idx, from, start);
    }
    if (rc == -ETIMEDOUT && !backing_off)
        __atomic_store_n(&cl->sync_failed_us, cl_now_us(), __ATOMIC_RELAXED);
    pthread_mutex_lock(&cl->ap_lock);
    *applied = cl->applied;
    pthread_mutex_unlock(&cl->ap_lock);
    log_slow_sync(start, ri_us, idx, *applied, rc);
    return rc;
}
