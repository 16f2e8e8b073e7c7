/*
 * transport_int.h - the transport's private state, shared by transport.c
 * (event loop, timers, public API) and conn.c (one connection's I/O).
 * Not part of the module's contract.
 */
#ifndef QFS_NET_TRANSPORT_INT_H
#define QFS_NET_TRANSPORT_INT_H

#include "net/clock.h"
#include "net/frame.h"
#include "net/lane.h"
#include "net/transport.h"

#include <pthread.h>
#include <stdatomic.h>

#include <openssl/ssl.h>

#define MAX_CONNS   (CHAN_COUNT_ * NET_MAX_PEERS + 16) /* identified + handshaking */
#define LANE_URGENT 0
#define LANE_NORMAL 1

enum conn_state { CS_FREE, CS_CONNECTING, CS_HANDSHAKE, CS_HELLO, CS_UP };

/* One TCP+TLS connection. Network thread only. */
struct conn {
    enum conn_state state;
    int fd;
    SSL *ssl;
    bool dialer;
    int peer; /* known at dial time, or after the hello when accepting; -1 before */
    int chan;
    uint32_t events; /* current epoll interest */
    uint8_t *rx;     /* reused across frames and across connections of this slot */
    size_t rx_cap, rx_len;
    struct frame_hdr hdr;
    bool have_hdr;
    bool held;  /* a frame is waiting for net_resume() */
    bool more;  /* TLS may hold readable data: read again without waiting for epoll */
    bool flush; /* frames may have been queued: write without waiting for epoll */
    uint8_t hello[FRAME_HDR_LEN + MSG_HELLO_LEN];
    size_t hello_off, hello_len;
    uint64_t since_ms, last_rx_ms;
    char addr[NET_ADDR_STR];
};

/* One of a peer's channels (enum msg_channel). */
struct chan {
    pthread_mutex_t lock;   /* guards lanes, up, run_lane, run_left */
    pthread_cond_t changed; /* lane space freed or up changed */
    struct lane lanes[2];
    bool up;
    int run_lane;          /* lane of the run of whole frames being written */
    size_t run_left;       /* its bytes still to write; 0 between runs */
    atomic_bool resume;    /* net_resume() asked */
    struct conn *conn;     /* network thread only */
    uint64_t next_dial_ms; /* network thread only */
    uint32_t backoff_ms;   /* network thread only */
};

struct peer_stats {
    int64_t rtt_us, srtt_us;
    uint64_t last_rx_ms; /* control channel, 0 never */
    uint64_t connects;
};

struct net {
    struct net_config cfg;
    struct net_options opt;
    struct net_callbacks cb;
    uint8_t self_id[NODE_ID_LEN];
    SSL_CTX *ssl_ctx;
    int epfd, listen_fd, wake_fd;
    pthread_t thread;
    atomic_bool stop;
    uint64_t rng;
    uint64_t ping_seq, next_tick_ms;
    uint64_t last_tick_ms;   /* net thread only: when on_tick last ran */
    _Atomic uint64_t passes; /* loop passes completed (net_passes) */
    struct chan chans[NET_MAX_PEERS][CHAN_COUNT_];
    struct conn conns[MAX_CONNS];
    pthread_mutex_t stats_lock; /* guards stats */
    struct peer_stats stats[NET_MAX_PEERS];
};

/* conn.c */
void conn_set_events(struct net *n, struct conn *c, uint32_t events);
void conn_close(struct net *n, struct conn *c, const char *why);
void conn_handshake(struct net *n, struct conn *c);
void conn_on_events(struct net *n, struct conn *c, uint32_t events, size_t budget);
void conn_flush(struct net *n, struct conn *c, size_t budget);
/* transport.c: the connection became the peer's channel. */
void net_attach(struct net *n, struct conn *c);
/* transport.c: the connection of a channel is gone. */
void net_detach(struct net *n, struct conn *c);
void net_on_pong(struct net *n, int peer, uint64_t sent_ns);

#endif
