/* The network thread: epoll loop, listening, dialing with backoff, heartbeats; the API. */
#include "net/tls.h"
#include "net/transport_int.h"

#include "common/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define EV_LISTEN        UINT32_MAX
#define EV_WAKE          (UINT32_MAX - 1)
#define CONTROL_BUDGET   (4u << 20)
#define BULK_BUDGET      (256u << 10)
#define HANDSHAKE_MS     5000
#define URGENT_LANE_CAP  (2u << 20)
#define FAST_QUEUE       (64u << 10) /* the fast channel carries small frames only */
#define BULK_DEAD_FACTOR 5

void net_options_default(struct net_options *opt)
{
    memset(opt, 0, sizeof(*opt));
    opt->listen_fd = -1;
}

static void options_fill(struct net_options *o)
{
    o->heartbeat_ms = o->heartbeat_ms ? o->heartbeat_ms : 200;
    o->dead_ms = o->dead_ms ? o->dead_ms : 2000;
    o->backoff_min_ms = o->backoff_min_ms ? o->backoff_min_ms : 50;
    /* Only the smaller ID dials: a restarted node with the larger one is cut
     * off until the other's next attempt, so the cap is that wait's bound. */
    o->backoff_max_ms = o->backoff_max_ms ? o->backoff_max_ms : 1000;
    o->control_queue = o->control_queue ? o->control_queue : 8u << 20;
    o->bulk_queue = o->bulk_queue ? o->bulk_queue : 16u << 20;
    /* A queue must hold the largest frame of its channel. */
    if (o->control_queue < FRAME_HDR_LEN + NET_CONSENSUS_MAX)
        o->control_queue = FRAME_HDR_LEN + NET_CONSENSUS_MAX;
    if (o->bulk_queue < FRAME_HDR_LEN + FRAME_PAYLOAD_MAX)
        o->bulk_queue = FRAME_HDR_LEN + FRAME_PAYLOAD_MAX;
}

size_t net_npeers(const struct net *n)
{
    return n->cfg.npeers;
}

int net_peer_index(const struct net *n, const uint8_t id[NODE_ID_LEN])
{
    for (size_t i = 0; i < n->cfg.npeers; i++)
        if (memcmp(n->cfg.peers[i].id, id, NODE_ID_LEN) == 0)
            return (int)i;
    return -ENOENT;
}

int net_listen_port(const struct net *n)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    if (getsockname(n->listen_fd, (struct sockaddr *)&ss, &len) < 0)
        return -errno;
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/* The smaller ID dials, so each channel has exactly one connection. */
static bool we_dial(const struct net *n, int peer)
{
    return memcmp(n->self_id, n->cfg.peers[peer].id, NODE_ID_LEN) < 0;
}

static uint32_t jitter(struct net *n, uint32_t ms)
{
    n->rng ^= n->rng << 13;
    n->rng ^= n->rng >> 7;
    n->rng ^= n->rng << 17;
    return ms / 2 + (uint32_t)(n->rng % (ms / 2 + 1)); /* [ms/2, ms] */
}

static void schedule_dial(struct net *n, struct chan *ch)
{
    ch->next_dial_ms = net_now_ms() + jitter(n, ch->backoff_ms);
    ch->backoff_ms =
        ch->backoff_ms * 2 > n->opt.backoff_max_ms ? n->opt.backoff_max_ms : ch->backoff_ms * 2;
}

static struct conn *conn_alloc(struct net *n, int fd, const char *addr)
{
    for (int i = 0; i < MAX_CONNS; i++) {
        struct conn *c = &n->conns[i];
        if (c->state != CS_FREE)
            continue;
        c->ssl = SSL_new(n->ssl_ctx);
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        if (!c->ssl || SSL_set_fd(c->ssl, fd) != 1 || epoll_ctl(n->epfd, EPOLL_CTL_ADD, fd, &ev)) {
            SSL_free(c->ssl);
            c->ssl = NULL;
            return NULL;
        }
        c->fd = fd;
        c->events = EPOLLIN;
        c->peer = c->chan = -1;
        c->rx_len = c->hello_len = c->hello_off = 0;
        c->have_hdr = c->held = c->more = c->flush = false;
        c->since_ms = c->last_rx_ms = net_now_ms();
        snprintf(c->addr, sizeof(c->addr), "%s", addr);
        return c;
    }
    return NULL;
}

/* TCP_THIN_LINEAR_TIMEOUTS: while fewer than four segments are in flight
 * (a control channel: heartbeats, read indexes, Paxos messages) a lost
 * segment is resent after one RTO each time, for the first six tries,
 * instead of after 1, 2, 4, 8... RTOs. On a lossy link a read index lost
 * twice otherwise waits out the 2 s sync timeout.
 *
 * TCP_NOTSENT_LOWAT: the kernel takes at most that many bytes that it
 * has not sent yet; the rest waits in the channel's lanes, where an urgent
 * frame overtakes it. Without it the send buffer autotunes to megabytes, and
 * on a slow link (40 KB/s at 5% loss and 200 ms) an urgent read index queued
 * behind a follower's normal frames for more than 10 s. Bytes in flight are
 * not counted, so a fast link keeps its full window. A channel's value is
 * set once its hello names it (NOTSENT_LOWAT_BULK); until then the smaller. */
#define NOTSENT_LOWAT_CONTROL (16 * 1024)
#define NOTSENT_LOWAT_BULK    (128 * 1024) /* less cuts a chunk push's speed 10% */
static void set_sock_opts(int fd)
{
    int one = 1, lowat = NOTSENT_LOWAT_CONTROL;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    setsockopt(fd, IPPROTO_TCP, TCP_THIN_LINEAR_TIMEOUTS, &one, sizeof(one));
    setsockopt(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &lowat, sizeof(lowat));
}

static void dial(struct net *n, int peer, int chan)
{
    struct chan *ch = &n->chans[peer][chan];
    const struct net_addr *a = &n->cfg.peers[peer].addr;
    int fd = socket(a->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct conn *c = fd >= 0 ? conn_alloc(n, fd, a->str) : NULL;
    if (!c) {
        if (fd >= 0)
            close(fd);
        schedule_dial(n, ch);
        return;
    }
    set_sock_opts(fd);
    c->dialer = true;
    c->peer = peer;
    c->chan = chan;
    SSL_set_connect_state(c->ssl);
    ch->conn = c;
    if (connect(fd, (const struct sockaddr *)&a->sa, a->len) == 0 || errno == EINPROGRESS) {
        c->state = CS_CONNECTING;
        conn_set_events(n, c, EPOLLOUT);
        return;
    }
    log_debug("net: connect to %s: %s", a->str, strerror(errno));
    c->state = CS_CONNECTING;
    conn_close(n, c, NULL);
}

static void on_connected(struct net *n, struct conn *c)
{
    int err = 0;
    socklen_t len = sizeof(err);
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err) {
        log_debug("net: connect to %s: %s", c->addr, strerror(err));
        conn_close(n, c, NULL);
        return;
    }
    c->state = CS_HANDSHAKE;
    conn_handshake(n, c);
}

static void addr_format(const struct sockaddr_storage *ss, char *out)
{
    char host[INET6_ADDRSTRLEN] = "?";
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
        snprintf(out, NET_ADDR_STR, "[%s]:%u", host, ntohs(s6->sin6_port));
        return;
    }
    const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
    inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
    snprintf(out, NET_ADDR_STR, "%s:%u", host, ntohs(s4->sin_port));
}

static void on_accept(struct net *n)
{
    for (;;) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        int fd = accept4(n->listen_fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        char addr[NET_ADDR_STR];
        addr_format(&ss, addr);
        struct conn *c = conn_alloc(n, fd, addr);
        if (!c) {
            log_warn("net: too many connections; refused %s", addr);
            close(fd);
            continue;
        }
        set_sock_opts(fd);
        c->dialer = false;
        c->state = CS_HANDSHAKE;
        SSL_set_accept_state(c->ssl);
        conn_handshake(n, c);
    }
}

void net_attach(struct net *n, struct conn *c)
{
    struct chan *ch = &n->chans[c->peer][c->chan];
    if (ch->conn && ch->conn != c) {
        struct conn *old = ch->conn;
        conn_close(n, old, "replaced by a new connection");
    }
    ch->conn = c;
    ch->backoff_ms = n->opt.backoff_min_ms;
    if (c->chan == CHAN_BULK) {
        int lowat = NOTSENT_LOWAT_BULK;
        setsockopt(c->fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &lowat, sizeof(lowat));
    }
    pthread_mutex_lock(&ch->lock);
    ch->up = true;
    ch->run_left = 0;
    atomic_store(&ch->resume, false);
    pthread_cond_broadcast(&ch->changed);
    pthread_mutex_unlock(&ch->lock);
    if (c->chan == CHAN_CONTROL) {
        pthread_mutex_lock(&n->stats_lock);
        n->stats[c->peer].connects++;
        n->stats[c->peer].last_rx_ms = net_now_ms();
        pthread_mutex_unlock(&n->stats_lock);
    }
    char id[NODE_ID_STR_LEN + 1];
    node_id_format(n->cfg.peers[c->peer].id, id);
    log_info("net: %s channel to peer %s (%s) is up", msg_channel_name(c->chan), id, c->addr);
    if (n->cb.on_peer)
        n->cb.on_peer(n->cb.ctx, c->peer, c->chan, true);
}

void net_detach(struct net *n, struct conn *c)
{
    struct chan *ch = &n->chans[c->peer][c->chan];
    if (ch->conn != c)
        return;
    ch->conn = NULL;
    if (we_dial(n, c->peer))
        schedule_dial(n, ch);
    if (c->state != CS_UP)
        return;
    pthread_mutex_lock(&ch->lock);
    ch->up = false;
    /* A partly written frame cannot be finished on another connection. */
    lane_clear(&ch->lanes[LANE_URGENT]);
    lane_clear(&ch->lanes[LANE_NORMAL]);
    ch->run_left = 0;
    pthread_cond_broadcast(&ch->changed);
    pthread_mutex_unlock(&ch->lock);
    if (n->cb.on_peer)
        n->cb.on_peer(n->cb.ctx, c->peer, c->chan, false);
}

void net_on_pong(struct net *n, int peer, uint64_t sent_ns)
{
    int64_t rtt = (int64_t)((net_now_ns() - sent_ns) / 1000u);
    pthread_mutex_lock(&n->stats_lock);
    struct peer_stats *s = &n->stats[peer];
    s->rtt_us = rtt;
    s->srtt_us = s->srtt_us < 0 ? rtt : (7 * s->srtt_us + rtt) / 8;
    s->last_rx_ms = net_now_ms();
    pthread_mutex_unlock(&n->stats_lock);
}

static void wake(struct net *n)
{
    uint64_t one = 1;
    if (write(n->wake_fd, &one, sizeof(one)) < 0)
        log_debug("net: wake write: %s", strerror(errno));
}

/* Queues a ping unless a producer holds the channel: the loop must not wait on one. */
static void ping(struct net *n, struct chan *ch, const uint8_t *p)
{
    if (pthread_mutex_trylock(&ch->lock) != 0)
        return; /* the next heartbeat will do */
    bool idle = !lane_pending(&ch->lanes[0]) && !lane_pending(&ch->lanes[1]);
    if (ch->up && lane_fits(&ch->lanes[LANE_URGENT], FRAME_HDR_LEN + MSG_PING_LEN))
        lane_append(&ch->lanes[LANE_URGENT], FT_PING, FRAME_F_URGENT, p, MSG_PING_LEN);
    pthread_mutex_unlock(&ch->lock);
    if (idle)
        wake(n);
}

/* Network thread only. */
static bool control_up(const struct chan *ch)
{
    return ch->conn && ch->conn->state == CS_UP;
}

/* stalled: this thread did not run for a while (the process was stopped,
 * the machine paused), so a quiet connection says nothing about its peer:
 * what the peer sent meanwhile has not been read yet. */
static void send_pings(struct net *n, uint64_t now, bool stalled)
{
    uint8_t p[MSG_PING_LEN];
    msg_ping_encode(p, ++n->ping_seq, net_now_ns());
    for (size_t i = 0; i < n->cfg.npeers; i++)
        for (int c = 0; c < CHAN_COUNT_; c++) {
            struct conn *cn = n->chans[i][c].conn;
            if (!cn || cn->state != CS_UP)
                continue;
            /* Bulk may be quiet while the peer stores a full window on a slow
             * disk, but then its control channel answers. Without one, a
             * quiet bulk connection is as dead as the control one was: kept,
             * it would come back from a partition only at TCP's next
             * retransmission, seconds after the heal (3.2 s measured), with
             * every push and pull behind it. A held connection is quiet
             * because we stopped reading. */
            uint64_t limit = n->opt.dead_ms;
            if (c == CHAN_BULK && control_up(&n->chans[i][CHAN_CONTROL]))
                limit *= BULK_DEAD_FACTOR;
            if (!cn->held && !stalled && now - cn->last_rx_ms > limit) {
                conn_close(n, cn, "peer silent for too long");
                continue;
            }
            ping(n, &n->chans[i][c], p);
        }
}

/* Heartbeats, dead peers, redials and stuck handshakes. */
static void on_tick(struct net *n)
{
    uint64_t now = net_now_ms();
    bool stalled = n->last_tick_ms && now - n->last_tick_ms > n->opt.dead_ms / 2;
    n->last_tick_ms = now;
    for (int i = 0; i < MAX_CONNS; i++) {
        struct conn *c = &n->conns[i];
        if (c->state != CS_FREE && c->state != CS_UP && now - c->since_ms > HANDSHAKE_MS)
            conn_close(n, c, "handshake timed out");
    }
    for (size_t i = 0; i < n->cfg.npeers; i++)
        for (int c = 0; c < CHAN_COUNT_; c++) {
            struct chan *ch = &n->chans[i][c];
            if (we_dial(n, (int)i) && !ch->conn && now >= ch->next_dial_ms)
                dial(n, (int)i, c);
        }
    if (now >= n->next_tick_ms) {
        send_pings(n, now, stalled);
        n->next_tick_ms = now + n->opt.heartbeat_ms;
    }
}

/* Work queued by other threads: frames to send, held frames to re-offer.
 * Only a resumed connection is read again: reading every one at each wake
 * cost a read() answering EAGAIN per connection (6 with two peers), most of
 * a leader's syscalls under many clients. */
static void on_wake(struct net *n)
{
    uint64_t v;
    if (read(n->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
        log_debug("net: wake read: %s", strerror(errno));
    for (size_t i = 0; i < n->cfg.npeers; i++)
        for (int c = 0; c < CHAN_COUNT_; c++) {
            struct chan *ch = &n->chans[i][c];
            struct conn *cn = ch->conn;
            if (!cn || cn->state != CS_UP)
                continue;
            if (atomic_exchange(&ch->resume, false) && cn->held) {
                cn->held = false; /* read_frames() re-delivers the complete frame */
                cn->more = true;
            }
            cn->flush = true;
        }
}

static bool conn_is_bulk(const struct conn *c)
{
    return c->state == CS_UP && c->chan == CHAN_BULK;
}

/* Control connections (and handshakes) first, then bulk with a budget each. */
static void run_ready(struct net *n, struct epoll_event *evs, int nev)
{
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < nev; i++) {
            uint32_t id = evs[i].data.u32;
            if (id >= MAX_CONNS || n->conns[id].state == CS_FREE)
                continue;
            struct conn *c = &n->conns[id];
            if (conn_is_bulk(c) != (pass == 1))
                continue;
            c->more = false;
            if (c->state == CS_CONNECTING)
                on_connected(n, c);
            else
                conn_on_events(n, c, evs[i].events, pass ? BULK_BUDGET : CONTROL_BUDGET);
        }
        for (int i = 0; i < MAX_CONNS; i++) {
            struct conn *c = &n->conns[i];
            if (c->state < CS_HELLO || conn_is_bulk(c) != (pass == 1))
                continue;
            size_t budget = pass ? BULK_BUDGET : CONTROL_BUDGET;
            bool flush = c->flush;
            c->flush = false;
            if (c->more)
                conn_on_events(n, c, EPOLLIN, budget);
            else if (flush)
                conn_flush(n, c, budget);
        }
    }
}

static bool any_more(const struct net *n)
{
    for (int i = 0; i < MAX_CONNS; i++)
        if (n->conns[i].state >= CS_HELLO && n->conns[i].more)
            return true;
    return false;
}

static void *net_thread(void *arg)
{
    pthread_setname_np(pthread_self(), "qfs-net"); /* for top -H, perf, gdb */
    struct net *n = arg;
    struct epoll_event evs[64];
    /* A peer closing mid-write must give EPIPE here, not kill the process. */
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, NULL);
    while (!atomic_load(&n->stop)) {
        int timeout = any_more(n) ? 0 : 20;
        int nev = epoll_wait(n->epfd, evs, 64, timeout);
        if (nev < 0 && errno != EINTR) {
            log_error("net: epoll_wait: %s", strerror(errno));
            break;
        }
        if (nev < 0) /* stopped and continued: read what came meanwhile first */
            continue;
        for (int i = 0; i < nev; i++) {
            if (evs[i].data.u32 == EV_LISTEN)
                on_accept(n);
            else if (evs[i].data.u32 == EV_WAKE)
                on_wake(n);
        }
        run_ready(n, evs, nev);
        on_tick(n);
        atomic_fetch_add(&n->passes, 1);
    }
    return NULL;
}

uint64_t net_passes(struct net *n)
{
    return atomic_load(&n->passes);
}

static int wait_space(struct chan *ch, struct lane *l, size_t need, int timeout_ms)
{
    struct timespec dl;
    net_deadline(&dl, timeout_ms);
    while (ch->up && !lane_fits(l, need)) {
        if (timeout_ms == 0)
            return -EAGAIN;
        if (pthread_cond_timedwait(&ch->changed, &ch->lock, &dl) == ETIMEDOUT)
            return ch->up && !lane_fits(l, need) ? -ETIMEDOUT : 0;
    }
    return ch->up ? 0 : -ENOTCONN;
}

int net_send(struct net *n, int peer, int chan, unsigned type, uint16_t flags, const void *payload,
             size_t len, int timeout_ms)
{
    if (peer < 0 || (size_t)peer >= n->cfg.npeers || chan < 0 || chan >= CHAN_COUNT_ ||
        frame_max_payload(type) == 0 || (flags & ~FRAME_F_KNOWN))
        return -EINVAL;
    struct chan *ch = &n->chans[peer][chan];
    struct lane *l = &ch->lanes[(flags & FRAME_F_URGENT) ? LANE_URGENT : LANE_NORMAL];
    size_t need = FRAME_HDR_LEN + len;
    if (len > frame_max_payload(type) || need > l->cap)
        return -EMSGSIZE;
    pthread_mutex_lock(&ch->lock);
    int rc = wait_space(ch, l, need, timeout_ms);
    bool idle = false;
    if (rc == 0) {
        idle = !lane_pending(&ch->lanes[0]) && !lane_pending(&ch->lanes[1]);
        lane_append(l, type, flags, payload, len);
    }
    pthread_mutex_unlock(&ch->lock);
    /* A busy channel is being written already; only an idle one needs the thread. */
    if (idle)
        wake(n);
    return rc;
}

size_t net_queued(struct net *n, int peer, int chan)
{
    struct chan *ch = &n->chans[peer][chan];
    pthread_mutex_lock(&ch->lock);
    size_t q = lane_pending(&ch->lanes[0]) + lane_pending(&ch->lanes[1]);
    pthread_mutex_unlock(&ch->lock);
    return q;
}

void net_resume(struct net *n, int peer, int chan)
{
    atomic_store(&n->chans[peer][chan].resume, true);
    wake(n);
}

int net_peer_info(struct net *n, int peer, struct net_peer_info *info)
{
    if (peer < 0 || (size_t)peer >= n->cfg.npeers)
        return -EINVAL;
    memcpy(info->id, n->cfg.peers[peer].id, NODE_ID_LEN);
    snprintf(info->addr, sizeof(info->addr), "%s", n->cfg.peers[peer].addr.str);
    for (int c = 0; c < CHAN_COUNT_; c++) {
        struct chan *ch = &n->chans[peer][c];
        pthread_mutex_lock(&ch->lock);
        info->up[c] = ch->up;
        pthread_mutex_unlock(&ch->lock);
    }
    uint64_t now = net_now_ms();
    pthread_mutex_lock(&n->stats_lock);
    const struct peer_stats *s = &n->stats[peer];
    info->rtt_us = s->rtt_us;
    info->srtt_us = s->srtt_us;
    info->last_seen_ms = s->last_rx_ms ? (int64_t)(now - s->last_rx_ms) : -1;
    info->connects = s->connects;
    pthread_mutex_unlock(&n->stats_lock);
    info->alive = info->up[CHAN_CONTROL] && info->last_seen_ms >= 0 &&
                  info->last_seen_ms <= (int64_t)n->opt.dead_ms;
    return 0;
}

static int open_listener(struct net *n)
{
    if (n->opt.listen_fd >= 0) {
        n->listen_fd = n->opt.listen_fd;
        int fl = fcntl(n->listen_fd, F_GETFL);
        return fl < 0 ? -errno : fcntl(n->listen_fd, F_SETFL, fl | O_NONBLOCK) < 0 ? -errno : 0;
    }
    const struct net_addr *a = &n->cfg.listen;
    n->listen_fd = socket(a->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (n->listen_fd < 0 ||
        setsockopt(n->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        bind(n->listen_fd, (const struct sockaddr *)&a->sa, a->len) < 0 ||
        listen(n->listen_fd, 64) < 0) {
        int e = errno;
        log_error("net: cannot listen on %s: %s", a->str, strerror(e));
        return -e;
    }
    return 0;
}

static int chans_init(struct net *n)
{
    for (size_t i = 0; i < n->cfg.npeers; i++) {
        for (int c = 0; c < CHAN_COUNT_; c++) {
            struct chan *ch = &n->chans[i][c];
            pthread_mutex_init(&ch->lock, NULL);
            pthread_cond_init(&ch->changed, NULL);
            ch->backoff_ms = n->opt.backoff_min_ms;
            size_t normal = c == CHAN_CONTROL ? n->opt.control_queue
                            : c == CHAN_BULK  ? n->opt.bulk_queue
                                              : FAST_QUEUE;
            if (lane_init(&ch->lanes[LANE_URGENT], URGENT_LANE_CAP) < 0 ||
                lane_init(&ch->lanes[LANE_NORMAL], normal) < 0)
                return -ENOMEM;
        }
        n->stats[i].rtt_us = n->stats[i].srtt_us = -1;
    }
    return 0;
}

static int net_init(struct net *n)
{
    n->ssl_ctx = tls_ctx_new(n->cfg.cert_path, n->cfg.key_path, n->self_id);
    if (!n->ssl_ctx)
        return -EACCES;
    if (memcmp(n->self_id, n->cfg.node_id, NODE_ID_LEN) != 0) {
        log_error("net: %s is not the certificate of this node's configured node-id",
                  n->cfg.cert_path);
        return -EACCES;
    }
    if (getrandom(&n->rng, sizeof(n->rng), 0) != sizeof(n->rng) || n->rng == 0)
        n->rng = net_now_ns() | 1;
    int rc = chans_init(n);
    if (rc < 0)
        return rc;
    rc = open_listener(n);
    if (rc < 0)
        return rc;
    n->epfd = epoll_create1(EPOLL_CLOEXEC);
    n->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    struct epoll_event l = {.events = EPOLLIN, .data.u32 = EV_LISTEN};
    struct epoll_event w = {.events = EPOLLIN, .data.u32 = EV_WAKE};
    if (n->epfd < 0 || n->wake_fd < 0 || epoll_ctl(n->epfd, EPOLL_CTL_ADD, n->listen_fd, &l) ||
        epoll_ctl(n->epfd, EPOLL_CTL_ADD, n->wake_fd, &w))
        return -errno;
    return 0;
}

static void net_free(struct net *n)
{
    for (int i = 0; i < MAX_CONNS; i++) {
        if (n->conns[i].state != CS_FREE)
            conn_close(n, &n->conns[i], NULL);
        free(n->conns[i].rx);
    }
    for (size_t i = 0; i < n->cfg.npeers; i++)
        for (int c = 0; c < CHAN_COUNT_; c++) {
            lane_free(&n->chans[i][c].lanes[0]);
            lane_free(&n->chans[i][c].lanes[1]);
            pthread_mutex_destroy(&n->chans[i][c].lock);
            pthread_cond_destroy(&n->chans[i][c].changed);
        }
    if (n->listen_fd >= 0)
        close(n->listen_fd);
    if (n->wake_fd >= 0)
        close(n->wake_fd);
    if (n->epfd >= 0)
        close(n->epfd);
    SSL_CTX_free(n->ssl_ctx);
    pthread_mutex_destroy(&n->stats_lock);
    free(n);
}

int net_start(const struct net_config *cfg, const struct net_options *opt,
              const struct net_callbacks *cb, struct net **out)
{
    struct net *n = calloc(1, sizeof(*n));
    if (!n)
        return -ENOMEM;
    n->cfg = *cfg;
    n->opt = *opt;
    options_fill(&n->opt);
    n->cb = *cb;
    n->epfd = n->listen_fd = n->wake_fd = -1;
    for (int i = 0; i < MAX_CONNS; i++)
        n->conns[i].fd = -1;
    pthread_mutex_init(&n->stats_lock, NULL);
    int rc = net_init(n);
    if (rc == 0 && pthread_create(&n->thread, NULL, net_thread, n) != 0)
        rc = -EAGAIN;
    if (rc < 0) {
        net_free(n);
        return rc;
    }
    *out = n;
    return 0;
}

void net_stop(struct net *n)
{
    atomic_store(&n->stop, true);
    wake(n);
    pthread_join(n->thread, NULL);
    /* No more callbacks from here on: on_peer is not called for these closes. */
    n->cb.on_peer = NULL;
    net_free(n);
}
