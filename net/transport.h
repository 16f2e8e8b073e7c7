/*
 * transport.h - authenticated connections to every configured peer, run by one
 * network thread (epoll), and a frame API for the rest of the node.
 *
 * Each peer pair keeps three TLS 1.3 connections: CHAN_CONTROL (consensus,
 * heartbeats), CHAN_BULK (chunk replication) and CHAN_FAST (small frames
 * whose latency matters, such as the read index), so consensus frames never
 * queue behind chunk data in a socket buffer, and a read index never queues
 * behind the consensus stream (on a slow or lossy link that stream fills the
 * socket and its retransmissions hold back everything after them). The
 * network thread serves control and fast connections before bulk ones in
 * every loop turn. The node with the smaller ID dials (and redials with
 * capped exponential backoff and jitter); the other accepts. Certificates are
 * pinned: a connection whose certificate fingerprint is not the configured
 * peer ID is closed and logged with both IDs.
 *
 * Sending never blocks the network thread: net_send() copies a frame into the
 * channel's bounded queue (urgent frames into a separate queue that is sent
 * first). Frames queued when a connection drops are discarded; callers that
 * need delivery (replication) track acknowledgements themselves.
 *
 * Threads: net_send/net_resume/net_peer_info are safe from any thread;
 * callbacks run on the network thread and must not block (net_send from a
 * callback must use timeout 0).
 */
#ifndef QFS_NET_TRANSPORT_H
#define QFS_NET_TRANSPORT_H

#include "net/config.h"
#include "net/frame.h"
#include "net/msg.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct net;

struct net_callbacks {
    void *ctx;
    /*
     * A frame other than hello/ping/pong arrived. payload is valid only during
     * the call. Return 0 when consumed; -EAGAIN to keep the frame and stop
     * reading this connection until net_resume() (back pressure); any other
     * negative value closes the connection as a protocol error.
     */
    int (*on_frame)(void *ctx, int peer, int chan, unsigned type, uint16_t flags,
                    const uint8_t *payload, uint32_t len);
    /* A peer's channel came up or went down (may be NULL). */
    void (*on_peer)(void *ctx, int peer, int chan, bool up);
};

struct net_options {
    int listen_fd; /* a listening socket (the transport owns it), or -1 to bind cfg->listen */
    uint32_t heartbeat_ms;   /* ping period (0: 200) */
    uint32_t dead_ms;        /* silence closing a connection (0: 2000; bulk: 5x while the
                                control one is up) */
    uint32_t backoff_min_ms; /* first redial delay (0: 50) */
    uint32_t backoff_max_ms; /* redial delay cap (0: 1000) */
    size_t control_queue;    /* bytes queued per control connection (0: 8 MiB) */
    size_t bulk_queue;       /* bytes queued per bulk connection (0: 16 MiB) */
};

struct net_peer_info {
    uint8_t id[NODE_ID_LEN];
    char addr[NET_ADDR_STR];
    bool up[CHAN_COUNT_];
    bool alive;           /* control channel up and heard from within dead_ms */
    int64_t rtt_us;       /* last heartbeat round trip, -1 before the first */
    int64_t srtt_us;      /* smoothed round trip (RFC 6298 style), -1 before the first */
    int64_t last_seen_ms; /* ms since the last frame on the control channel, -1 never */
    uint64_t connects;    /* times the control channel came up */
};

/* Fills opt with defaults (listen_fd = -1). */
void net_options_default(struct net_options *opt);

/* Loads the TLS identity, starts listening and the network thread. 0 or -errno. */
int net_start(const struct net_config *cfg, const struct net_options *opt,
              const struct net_callbacks *cb, struct net **out);

/* Stops the thread and closes every connection. */
void net_stop(struct net *n);

size_t net_npeers(const struct net *n);
/* Index of the configured peer with this ID, or -ENOENT. */
int net_peer_index(const struct net *n, const uint8_t id[NODE_ID_LEN]);
/* The port actually listened on (useful with port 0). */
int net_listen_port(const struct net *n);

/*
 * Queues one frame to peer on chan. FRAME_F_URGENT frames go ahead of all
 * queued non-urgent ones. Waits up to timeout_ms for queue space (0: no wait).
 * Returns 0, -ENOTCONN (channel down), -EAGAIN / -ETIMEDOUT (queue full),
 * -EMSGSIZE or -EINVAL.
 */
int net_send(struct net *n, int peer, int chan, unsigned type, uint16_t flags, const void *payload,
             size_t len, int timeout_ms);

/* Bytes queued and not yet written on a channel (for flow-control decisions). */
size_t net_queued(struct net *n, int peer, int chan);

/* Re-offers the frame held by -EAGAIN and resumes reading that connection. */
void net_resume(struct net *n, int peer, int chan);

int net_peer_info(struct net *n, int peer, struct net_peer_info *info);

/* Passes the network thread has completed, each reading every socket that
 * was ready and then running the timers. A thread about to conclude that
 * peers are silent waits until a pass that began after it looked has
 * completed: after a stall of this process, what they sent meanwhile is
 * still unread in the sockets. */
uint64_t net_passes(struct net *n);

#endif
