/* One peer connection: TLS handshake, identity pinning, hello, frame I/O. */
#include "net/msg.h"
#include "net/tls.h"
#include "net/transport_int.h"

#include "common/bytes.h"
#include "common/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <openssl/err.h>

#define WRITE_MAX (256u * 1024) /* bytes offered to one SSL_write */

void conn_set_events(struct net *n, struct conn *c, uint32_t events)
{
    if (events == c->events)
        return;
    struct epoll_event ev = {.events = events, .data.u32 = (uint32_t)(c - n->conns)};
    if (epoll_ctl(n->epfd, EPOLL_CTL_MOD, c->fd, &ev) == 0)
        c->events = events;
}

static void peer_name(struct net *n, int peer, char *out)
{
    if (peer < 0)
        strcpy(out, "(unidentified)");
    else
        node_id_format(n->cfg.peers[peer].id, out);
}

void conn_close(struct net *n, struct conn *c, const char *why)
{
    char id[NODE_ID_STR_LEN + 1];
    peer_name(n, c->peer, id);
    if (why)
        log_info("net: closing %s connection %s peer %s: %s",
                 c->chan >= 0 ? msg_channel_name(c->chan) : "new", c->addr, id, why);
    if (c->peer >= 0 && c->chan >= 0)
        net_detach(n, c);
    epoll_ctl(n->epfd, EPOLL_CTL_DEL, c->fd, NULL);
    SSL_free(c->ssl);
    close(c->fd);
    c->ssl = NULL;
    c->fd = -1;
    c->state = CS_FREE;
}

static const char *ssl_err_text(char *buf, size_t len)
{
    unsigned long e = ERR_get_error();
    if (!e)
        return "connection closed";
    ERR_error_string_n(e, buf, len);
    ERR_clear_error();
    return buf;
}

/* Pinning: the dialer expects its configured peer; the acceptor any configured peer. */
static int check_identity(struct net *n, struct conn *c)
{
    uint8_t got[NODE_ID_LEN];
    char got_s[NODE_ID_STR_LEN + 1], want_s[NODE_ID_STR_LEN + 1];
    if (tls_peer_id(c->ssl, got) < 0) {
        log_error("net: %s presented no certificate; refused", c->addr);
        return -EPERM;
    }
    node_id_format(got, got_s);
    if (c->dialer) {
        if (memcmp(got, n->cfg.peers[c->peer].id, NODE_ID_LEN) == 0)
            return 0;
        node_id_format(n->cfg.peers[c->peer].id, want_s);
        log_error("net: refused %s: it presented ID %s, expected %s", c->addr, got_s, want_s);
        return -EPERM;
    }
    int p = net_peer_index(n, got);
    if (p < 0) {
        log_error("net: refused %s: it presented ID %s, which is not a configured peer", c->addr,
                  got_s);
        return -EPERM;
    }
    c->peer = p;
    return 0;
}

static void queue_hello(struct net *n, struct conn *c)
{
    frame_encode_header(c->hello, FT_HELLO, 0, MSG_HELLO_LEN);
    msg_hello_encode(c->hello + FRAME_HDR_LEN, n->self_id, (uint8_t)(c->dialer ? c->chan : 0));
    c->hello_off = 0;
    c->hello_len = sizeof(c->hello);
}

void conn_handshake(struct net *n, struct conn *c)
{
    int r = c->dialer ? SSL_connect(c->ssl) : SSL_accept(c->ssl);
    if (r == 1) {
        if (check_identity(n, c) < 0) {
            conn_close(n, c, NULL);
            return;
        }
        c->state = CS_HELLO;
        c->last_rx_ms = net_now_ms();
        if (c->dialer) {
            queue_hello(n, c);
            conn_flush(n, c, WRITE_MAX);
        }
        conn_on_events(n, c, EPOLLIN, WRITE_MAX);
        return;
    }
    int e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        conn_set_events(n, c, EPOLLIN | (e == SSL_ERROR_WANT_WRITE ? EPOLLOUT : 0));
        return;
    }
    char buf[200];
    log_warn("net: TLS handshake with %s failed: %s", c->addr, ssl_err_text(buf, sizeof(buf)));
    conn_close(n, c, NULL);
}

/* A hello in state CS_HELLO: checks it against the certificate and attaches. */
static int on_hello(struct net *n, struct conn *c)
{
    struct msg_hello h;
    if (msg_hello_decode(c->rx + FRAME_HDR_LEN, c->hdr.len, &h) < 0)
        return -EPROTO;
    if (memcmp(h.node_id, n->cfg.peers[c->peer].id, NODE_ID_LEN) != 0) {
        log_error("net: %s sent a hello with an ID that is not its certificate's", c->addr);
        return -EPERM;
    }
    if (!c->dialer) {
        c->chan = h.channel;
        queue_hello(n, c);
    } else if (h.channel != 0) {
        return -EPROTO;
    }
    c->state = CS_UP;
    net_attach(n, c);
    return 0;
}

static int dispatch(struct net *n, struct conn *c)
{
    const uint8_t *p = c->rx + FRAME_HDR_LEN;
    if (c->state == CS_HELLO)
        return c->hdr.type == FT_HELLO ? on_hello(n, c) : -EPROTO;
    struct msg_ping ping;
    switch (c->hdr.type) {
    case FT_HELLO:
        return -EPROTO;
    case FT_PING:
    case FT_PONG:
        if (msg_ping_decode(p, c->hdr.len, &ping) < 0)
            return -EPROTO;
        if (c->hdr.type == FT_PONG) {
            if (c->chan == CHAN_CONTROL)
                net_on_pong(n, c->peer, ping.sent_ns);
            return 0;
        }
        /* A full queue drops the pong; the peer's next ping will do. */
        net_send(n, c->peer, c->chan, FT_PONG, FRAME_F_URGENT, p, MSG_PING_LEN, 0);
        return 0;
    default:
        return n->cb.on_frame(n->cb.ctx, c->peer, c->chan, c->hdr.type, c->hdr.flags, p,
                              c->hdr.len);
    }
}

static int rx_reserve(struct conn *c, size_t want)
{
    if (want <= c->rx_cap)
        return 0;
    uint8_t *b = realloc(c->rx, want);
    if (!b)
        return -ENOMEM;
    c->rx = b;
    c->rx_cap = want;
    return 0;
}

/* A whole header is in rx: checks it, or logs and fails. */
static int take_header(struct net *n, struct conn *c)
{
    int rc = frame_decode_header(c->rx, FRAME_HDR_LEN, &c->hdr);
    if (rc < 0) {
        char id[NODE_ID_STR_LEN + 1];
        peer_name(n, c->peer, id);
        log_error(
            "net: %s (peer %s) sent a bad frame header: %s (version %u, type %u, length "
            "%u); closing",
            c->addr, id,
            rc == -EMSGSIZE          ? "frame too large for its type"
            : rc == -EPROTONOSUPPORT ? "another wire version than this node's " FRAME_VERSION_STR
                                       " (run the same release on every node)"
                                     : "unknown magic, version, type or flags",
            c->rx[4], c->rx[5],
            (unsigned)(c->rx[8] | c->rx[9] << 8 | c->rx[10] << 16 | (unsigned)c->rx[11] << 24));
        return rc;
    }
    c->have_hdr = true;
    return rx_reserve(c, FRAME_HDR_LEN + c->hdr.len);
}

/* Delivers the complete frame in rx. 1 if held for back pressure. */
static int deliver(struct net *n, struct conn *c)
{
    int rc = dispatch(n, c);
    if (rc == -EAGAIN) {
        c->held = true;
        conn_set_events(n, c, c->events & ~(uint32_t)EPOLLIN);
        return 1;
    }
    if (rc < 0) {
        char id[NODE_ID_STR_LEN + 1];
        peer_name(n, c->peer, id);
        log_error("net: %s (peer %s) sent a malformed %s frame (%u bytes); closing", c->addr, id,
                  frame_type_name(c->hdr.type), c->hdr.len);
        return rc;
    }
    c->last_rx_ms = net_now_ms();
    c->have_hdr = false;
    c->rx_len = 0;
    return 0;
}

/* Reads and delivers frames until TLS has no more data or budget runs out. */
static int read_frames(struct net *n, struct conn *c, size_t budget)
{
    c->more = false;
    while (!c->held && c->state >= CS_HELLO) {
        size_t want = c->have_hdr ? FRAME_HDR_LEN + c->hdr.len : FRAME_HDR_LEN;
        if (c->rx_len == want) {
            int rc = c->have_hdr ? deliver(n, c) : take_header(n, c);
            if (rc < 0)
                return rc;
            continue;
        }
        if (budget == 0) {
            c->more = true;
            return 0;
        }
        int r = SSL_read(c->ssl, c->rx + c->rx_len, (int)(want - c->rx_len));
        if (r <= 0) {
            int e = SSL_get_error(c->ssl, r);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
                return 0;
            ERR_clear_error();
            return -ECONNRESET;
        }
        c->rx_len += (size_t)r;
        budget = (size_t)r > budget ? 0 : budget - (size_t)r;
    }
    return 0;
}

void conn_on_events(struct net *n, struct conn *c, uint32_t events, size_t budget)
{
    if (c->state == CS_HANDSHAKE) {
        conn_handshake(n, c);
        return;
    }
    if ((events & (EPOLLERR | EPOLLHUP)) && c->held) {
        /* Level-triggered hang-ups would spin the loop until the resume. */
        conn_close(n, c, "closed by peer");
        return;
    }
    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
        if (rx_reserve(c, FRAME_HDR_LEN) < 0) {
            conn_close(n, c, "out of memory");
            return;
        }
        int rc = read_frames(n, c, budget);
        if (rc < 0) {
            conn_close(n, c, rc == -ECONNRESET ? "closed by peer" : "protocol error");
            return;
        }
    }
    if (c->state >= CS_HELLO)
        conn_flush(n, c, budget);
}

/* Writes the hello (before any lane data). 1 when done, 0 to wait, <0 error. */
static int flush_hello(struct conn *c)
{
    while (c->hello_off < c->hello_len) {
        int r = SSL_write(c->ssl, c->hello + c->hello_off, (int)(c->hello_len - c->hello_off));
        if (r <= 0) {
            int e = SSL_get_error(c->ssl, r);
            return (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) ? 0 : -EIO;
        }
        c->hello_off += (size_t)r;
    }
    return 1;
}

/* A queued frame's size: its length field (u32 LE at byte 8, frame.h) plus
 * the header; the lane holds only frames this node encoded. */
static size_t frame_bytes(const uint8_t *h)
{
    return FRAME_HDR_LEN + (size_t)get_u32(h + 8);
}

/* The run to write next: the whole frames at the lane's head that fit in
 * WRITE_MAX together (at least one). One SSL_write, one TLS record and one
 * syscall for what would otherwise take one each per frame: a leader queues
 * several small consensus frames per turn. */
static size_t run_bytes(const struct lane *l)
{
    size_t run = 0, pending = lane_pending(l);
    while (run < pending) {
        size_t f = frame_bytes(l->buf + l->off + run);
        if (run && run + f > WRITE_MAX)
            break;
        run += f;
    }
    return run;
}

/* Writes queued frames, urgent lane first; the lane is chosen again only
 * between runs of whole frames, so an urgent frame never lands inside a
 * normal one. */
static int flush_lanes(struct chan *ch, SSL *ssl, size_t budget, bool *blocked)
{
    int rc = 0;
    /* Never wait for a producer copying a batch in: come back next turn. */
    if (pthread_mutex_trylock(&ch->lock) != 0)
        return 1;
    while (budget > 0) {
        if (ch->run_left == 0) {
            ch->run_lane = lane_pending(&ch->lanes[LANE_URGENT]) ? LANE_URGENT : LANE_NORMAL;
            ch->run_left = run_bytes(&ch->lanes[ch->run_lane]);
            if (ch->run_left == 0)
                break;
        }
        struct lane *l = &ch->lanes[ch->run_lane];
        size_t len = ch->run_left < WRITE_MAX ? ch->run_left : WRITE_MAX;
        int r = SSL_write(ssl, l->buf + l->off, (int)len);
        if (r <= 0) {
            int e = SSL_get_error(ssl, r);
            *blocked = e == SSL_ERROR_WANT_WRITE;
            rc = (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) ? 0 : -EIO;
            break;
        }
        lane_consume(l, (size_t)r);
        ch->run_left -= (size_t)r;
        budget = (size_t)r > budget ? 0 : budget - (size_t)r;
        pthread_cond_broadcast(&ch->changed);
    }
    if (rc == 0 && budget == 0)
        rc = 1;
    pthread_mutex_unlock(&ch->lock);
    return rc;
}

void conn_flush(struct net *n, struct conn *c, size_t budget)
{
    bool blocked = false;
    int rc = flush_hello(c);
    if (rc == 0)
        blocked = true;
    else if (rc > 0 && c->state == CS_UP)
        rc = flush_lanes(&n->chans[c->peer][c->chan], c->ssl, budget, &blocked);
    if (rc < 0) {
        conn_close(n, c, "write failed");
        return;
    }
    if (rc > 0 && c->state == CS_UP)
        c->more = true; /* budget used up: come back next turn */
    uint32_t ev = (c->held ? 0 : EPOLLIN) | (blocked ? EPOLLOUT : 0);
    conn_set_events(n, c, ev);
}
