/*
 * snapshot.c - the snapshot transfer: the thread that serves a peer's
 * request or fetches this node's snapshot, and the network thread's side
 * (snapshot.h). The install itself is snapshot_install.c.
 */
#include "fs/cluster/snapshot.h"
#include "fs/cluster/cluster_internal.h"
#include "fs/cluster/snapshot_msg.h"
#include "fs/core/core_cluster.h"

#include "common/file_io.h"
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SNAP_IDLE_MS 10000 /* a transfer without a piece for this long is dropped */
#define SNAP_SEND_MS 200   /* one wait for room in the bulk queue, then check for an abort */
/* After a failed fetch (a full disk here), the engine's next asks are let
 * through only after a wait, 1 s doubling to 5 s: each serve costs the peer a
 * copy of its whole metadata store, and a node that needs a snapshot cannot
 * catch up without one (with a 30 s cap, a node whose disk had just been
 * freed made its mutations and lookups time out for 30 s). */
#define SNAP_RETRY_MIN_MS 1000
#define SNAP_RETRY_MAX_MS 5000

enum snap_state { SNAP_IDLE, SNAP_SERVING, SNAP_FETCHING };

struct snapshot {
    struct cluster *cl;
    pthread_t thread;
    bool started;
    uint8_t *buf; /* thread only: one SNAP_DATA frame being sent */
    char recv_path[PATH_MAX];

    pthread_mutex_t lock; /* guards every field below */
    pthread_cond_t cond;  /* work for the thread, a piece, a drop, or stop */
    bool stop;
    int want; /* member to fetch from, -1: none */
    enum snap_state state;
    int peer;      /* transport peer of the transfer (or of serve_pending) */
    uint64_t xfer; /* its id (the requester's) */
    uint64_t next_xfer;
    bool dropped; /* the peer's bulk channel went down during it */
    bool serve_pending;
    uint64_t peer_applied; /* the requester's applied index */
    struct snap_data got;  /* fetching: the piece handed over, in piece[] */
    uint8_t *piece;
    bool have_piece, paused; /* paused: the network thread holds the next frame */
    uint64_t retry_at_ms;    /* no fetch before this (monotonic), after a failed one */
    uint32_t retry_wait_ms;  /* the wait after the next failure */
};

static bool cancelled(void *arg)
{
    struct snapshot *s = arg;
    pthread_mutex_lock(&s->lock);
    bool c = s->stop;
    pthread_mutex_unlock(&s->lock);
    return c;
}

/* Thread: the transfer is over (stop, or its peer went away). */
static bool aborted(struct snapshot *s)
{
    pthread_mutex_lock(&s->lock);
    bool a = s->stop || s->dropped;
    pthread_mutex_unlock(&s->lock);
    return a;
}

static const char *peer_name(struct snapshot *s, int peer)
{
    return s->cl->mem.human[s->cl->mem.index_of[peer]];
}

/* Sends one SNAP_DATA frame of len bytes from s->buf, waiting for room in
 * the bulk queue as long as the transfer lives (that is the flow control). */
static int send_data(struct snapshot *s, int peer, size_t len)
{
    for (;;) {
        int rc = net_send(s->cl->net, peer, CHAN_BULK, FT_SNAP_DATA, 0, s->buf, len, SNAP_SEND_MS);
        if (rc != -EAGAIN && rc != -ETIMEDOUT)
            return rc;
        if (aborted(s))
            return -ECONNRESET;
    }
}

static void refuse(struct snapshot *s, int peer, uint64_t xfer, uint8_t status)
{
    struct snap_data m = {.status = status, .xfer = xfer};
    snap_data_hdr_encode(&m, s->buf);
    send_data(s, peer, SNAP_DATA_HDR_LEN);
}

/* A compacted copy of the metadata environment in an unlinked temp file. */
static int copy_env(struct snapshot *s, int *fd_out, uint64_t *total)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof(path), "%s/snapshot.serve.XXXXXX", s->cl->cfg.data_dir) >=
        (int)sizeof(path))
        return -ENAMETOOLONG;
    int fd = mkostemp(path, O_CLOEXEC);
    if (fd < 0)
        return -errno;
    unlink(path); /* nothing left behind, whatever happens next */
    int rc =
        meta_err(mdb_env_copyfd2(meta_store_env(core_meta_store(s->cl->core)), fd, MDB_CP_COMPACT));
    off_t end = rc ? 0 : lseek(fd, 0, SEEK_END);
    if (!rc && end <= 0)
        rc = end < 0 ? -errno : -EIO;
    if (rc) {
        close(fd);
        return rc;
    }
    *fd_out = fd;
    *total = (uint64_t)end;
    return 0;
}

static int stream(struct snapshot *s, int peer, uint64_t xfer, int fd, uint64_t total)
{
    for (uint64_t off = 0; off < total;) {
        uint32_t n = total - off < SNAP_PIECE_MAX ? (uint32_t)(total - off) : SNAP_PIECE_MAX;
        ssize_t r = pread(fd, s->buf + SNAP_DATA_HDR_LEN, n, (off_t)off);
        if (r != (ssize_t)n)
            return r < 0 ? -errno : -EIO;
        struct snap_data m = {SNAP_OK, xfer, off, total, n, NULL};
        snap_data_hdr_encode(&m, s->buf);
        int rc = send_data(s, peer, SNAP_DATA_HDR_LEN + n);
        if (rc)
            return rc;
        off += n;
    }
    return 0;
}

static void serve(struct snapshot *s)
{
    pthread_mutex_lock(&s->lock);
    int peer = s->peer;
    uint64_t xfer = s->xfer, theirs = s->peer_applied;
    pthread_mutex_unlock(&s->lock);
    pthread_mutex_lock(&s->cl->ap_lock);
    uint64_t mine = s->cl->applied;
    pthread_mutex_unlock(&s->cl->ap_lock);
    if (mine <= theirs) {
        refuse(s, peer, xfer, SNAP_NOT_AHEAD);
        return;
    }
    int fd;
    uint64_t total;
    int rc = copy_env(s, &fd, &total);
    if (rc) {
        log_error("cluster: cannot copy the metadata for %s's snapshot: %s", peer_name(s, peer),
                  strerror(-rc));
        refuse(s, peer, xfer, SNAP_FAILED);
        return;
    }
    log_info("cluster: sending a metadata snapshot (%llu bytes, applied %llu) to %s",
             (unsigned long long)total, (unsigned long long)mine, peer_name(s, peer));
    uint64_t t0 = cl_now_us();
    rc = stream(s, peer, xfer, fd, total);
    close(fd);
    if (rc)
        log_warn("cluster: snapshot to %s stopped: %s", peer_name(s, peer), strerror(-rc));
    else
        log_info("cluster: snapshot queued for %s in %llu ms", peer_name(s, peer),
                 (unsigned long long)(cl_now_us() - t0) / 1000);
}

static int status_err(uint8_t status)
{
    return status == SNAP_BUSY ? -EBUSY : status == SNAP_NOT_AHEAD ? -EALREADY : -EIO;
}

/* Waits for the next piece (s->lock held); 0 when one is in s->got. */
static int next_piece(struct snapshot *s)
{
    uint64_t deadline = cl_now_us() + SNAP_IDLE_MS * 1000u;
    while (!s->have_piece && !s->stop && !s->dropped && cl_now_us() < deadline)
        cl_timedwait(&s->cond, &s->lock, 100);
    if (s->have_piece)
        return s->got.status == SNAP_OK ? 0 : status_err(s->got.status);
    return s->stop ? -ECANCELED : s->dropped ? -ECONNRESET : -ETIMEDOUT;
}

/* Writes the pieces of the transfer to fd, in order, until the last one. */
static int receive(struct snapshot *s, int fd)
{
    uint64_t done = 0, total = 0;
    for (;;) {
        pthread_mutex_lock(&s->lock);
        int rc = next_piece(s);
        if (!rc && (s->got.offset != done || (done && s->got.total != total)))
            rc = -EPROTO; /* pieces come in order on one connection */
        struct snap_data d = s->got;
        int peer = s->peer;
        pthread_mutex_unlock(&s->lock);
        if (rc)
            return rc; /* snap_main releases the piece and the connection */
        rc = file_pwrite_all(fd, s->piece, d.len, d.offset); /* piece[] is ours while have_piece */
        pthread_mutex_lock(&s->lock);
        s->have_piece = false;
        bool resume = s->paused;
        s->paused = false;
        pthread_mutex_unlock(&s->lock);
        if (resume)
            net_resume(s->cl->net, peer, CHAN_BULK);
        if (rc)
            return rc;
        done += d.len;
        total = d.total;
        if (done == total)
            return 0;
    }
}

static int request(struct snapshot *s, int peer, uint64_t xfer)
{
    pthread_mutex_lock(&s->cl->ap_lock);
    struct snap_req m = {xfer, s->cl->applied};
    pthread_mutex_unlock(&s->cl->ap_lock);
    uint8_t buf[SNAP_REQ_LEN];
    snap_req_encode(&m, buf);
    return net_send(s->cl->net, peer, CHAN_BULK, FT_SNAP_REQ, 0, buf, sizeof(buf), 1000);
}

/* 0 (or -EALREADY: nothing to install), or the failure, logged. */
static int fetch(struct snapshot *s)
{
    pthread_mutex_lock(&s->lock);
    int peer = s->peer;
    uint64_t xfer = s->xfer;
    pthread_mutex_unlock(&s->lock);
    int fd = open(s->recv_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int rc = fd < 0 ? -errno : request(s, peer, xfer);
    if (!rc) {
        log_info("cluster: this node is behind %s's log: fetching its metadata snapshot",
                 peer_name(s, peer));
        rc = receive(s, fd);
    }
    if (fd >= 0)
        close(fd);
    if (!rc)
        rc = snapshot_install(s->cl, s->recv_path, cancelled, s);
    unlink(s->recv_path);
    if (rc == -EALREADY)
        log_info("cluster: %s's snapshot is not ahead of this node", peer_name(s, peer));
    else if (rc)
        log_warn("cluster: snapshot from %s failed: %s (the engine asks again)", peer_name(s, peer),
                 strerror(-rc));
    if (rc && rc != -EALREADY)
        apply_loop_snapshot_failed(s->cl, rc);
    return rc;
}

/* Lock held. A failed fetch holds the next one back; a good one clears that. */
static void after_fetch(struct snapshot *s, int rc)
{
    if (!rc || rc == -EALREADY) {
        s->retry_at_ms = 0;
        s->retry_wait_ms = SNAP_RETRY_MIN_MS;
        return;
    }
    s->retry_at_ms = net_now_ms() + s->retry_wait_ms;
    s->retry_wait_ms =
        s->retry_wait_ms * 2 > SNAP_RETRY_MAX_MS ? SNAP_RETRY_MAX_MS : s->retry_wait_ms * 2;
}

/* Picks the next job (s->lock held): serve first, it is someone's wait. */
static enum snap_state next_job(struct snapshot *s)
{
    if (s->serve_pending) {
        s->serve_pending = false;
        return SNAP_SERVING;
    }
    if (s->want < 0)
        return SNAP_IDLE;
    int peer = s->cl->mem.peer_of[s->want];
    s->want = -1;
    if (peer < 0)
        return SNAP_IDLE;
    s->peer = peer;
    s->xfer = ++s->next_xfer;
    s->dropped = s->have_piece = false;
    return SNAP_FETCHING;
}

static void *snap_main(void *arg)
{
    pthread_setname_np(pthread_self(), "qfs-snapshot"); /* for top -H, perf, gdb */
    struct snapshot *s = arg;
    pthread_mutex_lock(&s->lock);
    while (!s->stop) {
        s->state = next_job(s);
        if (s->state == SNAP_IDLE) {
            pthread_cond_wait(&s->cond, &s->lock);
            continue;
        }
        enum snap_state st = s->state;
        pthread_mutex_unlock(&s->lock);
        int rc = 0;
        if (st == SNAP_SERVING)
            serve(s);
        else
            rc = fetch(s);
        pthread_mutex_lock(&s->lock);
        if (st == SNAP_FETCHING)
            after_fetch(s, rc);
        s->state = SNAP_IDLE;
        bool resume = s->paused; /* a stale piece may still hold the connection */
        s->paused = s->have_piece = false;
        int peer = s->peer;
        if (resume) {
            pthread_mutex_unlock(&s->lock);
            net_resume(s->cl->net, peer, CHAN_BULK);
            pthread_mutex_lock(&s->lock);
        }
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

void snapshot_need(struct snapshot *s, uint32_t member, uint64_t log_start)
{
    if (!s || member >= s->cl->mem.n || member == s->cl->mem.self)
        return;
    pthread_mutex_lock(&s->lock);
    bool start =
        !s->stop && s->state != SNAP_FETCHING && s->want < 0 && net_now_ms() >= s->retry_at_ms;
    if (start) {
        s->want = (int)member;
        pthread_cond_signal(&s->cond);
    }
    pthread_mutex_unlock(&s->lock);
    if (start)
        log_info("cluster: %s truncated its log below slot %llu, which this node needs",
                 s->cl->mem.human[member], (unsigned long long)log_start);
}

/* A request: taken if no transfer is under way, else refused at once. */
static int on_req(struct snapshot *s, int peer, const uint8_t *p, uint32_t len)
{
    struct snap_req m;
    if (snap_req_decode(p, len, &m))
        return -EPROTO;
    pthread_mutex_lock(&s->lock);
    bool take = s->state == SNAP_IDLE && !s->serve_pending && s->want < 0 && !s->stop;
    if (take) {
        s->serve_pending = true;
        s->peer = peer;
        s->xfer = m.xfer;
        s->peer_applied = m.applied;
        s->dropped = false;
        pthread_cond_signal(&s->cond);
    }
    pthread_mutex_unlock(&s->lock);
    if (!take) {
        uint8_t buf[SNAP_DATA_HDR_LEN];
        struct snap_data r = {.status = SNAP_BUSY, .xfer = m.xfer};
        snap_data_hdr_encode(&r, buf);
        net_send(s->cl->net, peer, CHAN_BULK, FT_SNAP_DATA, 0, buf, sizeof(buf), 0);
    }
    return 0;
}

/* A piece: copied into the one-piece buffer, or held (-EAGAIN) while full. */
static int on_data(struct snapshot *s, int peer, const uint8_t *p, uint32_t len)
{
    struct snap_data m;
    if (snap_data_decode(p, len, &m))
        return -EPROTO;
    int rc = 0;
    pthread_mutex_lock(&s->lock);
    if (s->state != SNAP_FETCHING || peer != s->peer || m.xfer != s->xfer || s->dropped) {
        /* a transfer this node gave up: dropped */
    } else if (s->have_piece) {
        s->paused = true;
        rc = -EAGAIN;
    } else {
        s->got = m;
        memcpy(s->piece, m.piece, m.len);
        s->have_piece = true;
        pthread_cond_signal(&s->cond);
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int snapshot_on_frame(struct snapshot *s, int peer, unsigned type, const uint8_t *p, uint32_t len)
{
    int rc = type == FT_SNAP_REQ ? on_req(s, peer, p, len) : on_data(s, peer, p, len);
    if (rc == -EPROTO)
        log_warn("cluster: malformed %s frame from %s (%u bytes)", frame_type_name(type),
                 peer_name(s, peer), len);
    return rc;
}

void snapshot_on_peer(struct snapshot *s, int peer, int chan, bool up)
{
    if (up || chan != CHAN_BULK)
        return;
    pthread_mutex_lock(&s->lock);
    if (peer == s->peer && (s->state != SNAP_IDLE || s->serve_pending)) {
        s->dropped = true;
        pthread_cond_signal(&s->cond);
    }
    pthread_mutex_unlock(&s->lock);
}

int snapshot_start(struct cluster *cl, struct snapshot **out)
{
    struct snapshot *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->cl = cl;
    s->want = -1;
    s->peer = -1;
    s->retry_wait_ms = SNAP_RETRY_MIN_MS;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);
    int rc = snprintf(s->recv_path, sizeof(s->recv_path), "%s/snapshot.recv", cl->cfg.data_dir) >=
                     (int)sizeof(s->recv_path)
                 ? -ENAMETOOLONG
                 : 0;
    unlink(s->recv_path); /* a transfer cut short by a crash */
    s->buf = malloc(SNAP_DATA_HDR_LEN + SNAP_PIECE_MAX);
    s->piece = malloc(SNAP_PIECE_MAX);
    if (!rc)
        rc = s->buf && s->piece ? -pthread_create(&s->thread, NULL, snap_main, s) : -ENOMEM;
    s->started = rc == 0;
    if (rc) {
        snapshot_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

void snapshot_stop(struct snapshot *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->lock);
    s->stop = true;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
    if (s->started)
        pthread_join(s->thread, NULL);
    s->started = false;
}

void snapshot_free(struct snapshot *s)
{
    if (!s)
        return;
    snapshot_stop(s);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->cond);
    free(s->buf);
    free(s->piece);
    free(s);
}
