/*
 * repl_int.h - the replicator's private state, shared by replicate.c (setup,
 * frame routing), repl_push.c (sender side of push), repl_serve.c (receiver
 * side: storing pushed batches, answering have-queries and fetches),
 * repl_fetch.c (pull) and repl_dropped.c (push-dropped notices). Not part
 * of the module's contract.
 */
#ifndef QFS_NET_REPL_INT_H
#define QFS_NET_REPL_INT_H

#include "common/log.h"
#include "net/frame.h"
#include "net/replicate.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#define REPL_MAX_JOBS  64
#define RX_SLOTS_MAX   16
#define FETCH_SLOTS    48
#define URGENT_FETCHES 16 /* slots only urgent fetches may take */
#define HAVE_SLOTS     8
/* A peer down for 4 s under the fault suite's load missed 4,830 chunks of
 * dropped jobs from one sender: room for 13 times that, 2 MiB each,
 * allocated only once a job was dropped or a notice came. */
#define DROP_RING_CAP 65536 /* per peer: hashes of dropped jobs not told yet */
#define GONE_GEN_KEYS 65536 /* per generation: chunks peers said they dropped */

struct job_peer {
    uint8_t *acked; /* bitmaps of n bits */
    uint8_t *sent;  /* sent on the current connection, not acked */
    size_t cursor;  /* no unsent, unacked chunk below this index */
    size_t nacked;
};

struct repl_push {
    struct repl *r;
    size_t n;
    uint8_t (*hashes)[32];
    uint32_t *lens;
    uint8_t *suspect; /* bit i: a peer refused chunk i as corrupt: read it verified */
    uint32_t *table;  /* open addressing: index + 1 by hash, 0 empty */
    size_t table_cap;
    int error; /* a chunk could not be read locally */
    bool released;
    bool busy; /* the sender thread is using it unlocked: do not free */
    struct job_peer peers[NET_MAX_PEERS];
};

/* Hashes to tell one peer about, by sequence number: [tail, head), slot
 * seq % DROP_RING_CAP; [tail, sent) went out on the current connection and
 * wait for proof that they arrived. When full, the oldest are overwritten
 * (that peer then finds those chunks only once its own wait for the push
 * ends). */
struct drop_ring {
    uint8_t (*hashes)[32]; /* allocated at the first drop for this peer */
    uint64_t head, sent, tail;
    uint64_t notice_id; /* id of the last notice sent (batch ids count on); 0: none */
};

/* Chunks peers said they will not push here: keys (a hash's first 8 bytes,
 * never 0) in two open-addressed generations of 2 * GONE_GEN_KEYS slots;
 * when the current one holds GONE_GEN_KEYS keys it becomes the old one. */
struct gone_set {
    uint64_t *cur, *old; /* allocated at the first notice */
    size_t cur_n;
};

struct rx_item {
    int peer;
    int chan;
    unsigned type;
    uint16_t flags;
    uint32_t len;
    uint8_t *buf; /* FRAME_PAYLOAD_MAX bytes, allocated once */
};

enum fetch_state { FS_FREE, FS_WAIT, FS_DONE };

struct fetch_slot {
    enum fetch_state state;
    uint64_t req_id;
    uint8_t hash[32];
    int peer;
    uint8_t status;
    uint32_t len;
    uint8_t *buf; /* NET_CHUNK_MAX bytes, allocated on first use */
};

struct have_slot {
    bool busy, done;
    uint64_t id;
    int peer;
    uint32_t count;
    uint8_t bits[MSG_HAVE_MAX / 8];
};

struct repl {
    struct chunk_io io;
    struct repl_options opt;
    struct net *net;
    pthread_mutex_t lock;   /* guards everything below except the thread-only buffers */
    pthread_cond_t tx_cond; /* push sender: acks, jobs, peers up */
    pthread_cond_t done;    /* waiters: job progress, fetch and have answers, free slots */
    pthread_cond_t rx_cond; /* receiver: queued frames */
    bool stop;
    struct repl_push *jobs[REPL_MAX_JOBS];
    size_t inflight[NET_MAX_PEERS];
    uint64_t peer_gen[NET_MAX_PEERS]; /* bumped when a bulk channel goes down */
    bool bulk_up[NET_MAX_PEERS];
    bool ctl_up[NET_MAX_PEERS];
    /* A peer that could not store chunks (its disk is full) is sent none
     * before refused_until_ms, and the wait doubles while it keeps refusing:
     * a resend loop would only burn both nodes' CPU and fill their logs. */
    uint64_t refused_until_ms[NET_MAX_PEERS];
    uint32_t refuse_backoff_ms[NET_MAX_PEERS];
    struct log_limit refused_log; /* this node's reports of a peer refusing */
    struct log_limit store_log;   /* this node's own failures to store */
    struct log_limit drop_log;    /* background pushes given up for room */
    struct rx_item rx[RX_SLOTS_MAX];
    int rx_slots, rx_head, rx_count;
    bool rx_held[NET_MAX_PEERS][CHAN_COUNT_];
    /* When a push batch from the peer last arrived or finished storing
     * (repl_push_arriving): while it holds the rx slots, its next batches
     * wait in the socket, and the stores keep this fresh. */
    uint64_t push_seen_ms[NET_MAX_PEERS];
    struct drop_ring dropped_out[NET_MAX_PEERS]; /* push thread sends, job drops fill */
    struct gone_set gone;                        /* told by peers (network thread) */
    struct log_limit gone_log;                   /* peers' notices, reported */
    struct log_limit nomem_log;                  /* dropped chunks this node could not list */
    struct fetch_slot fetch[FETCH_SLOTS];
    struct have_slot have[HAVE_SLOTS];
    uint64_t next_id;
    unsigned rr;            /* round-robin start for choosing a peer */
    atomic_uint chunks_out; /* counts sent chunks for the corrupt hook */
    struct repl_stats stats;
    pthread_t tx_thread, rx_thread;
    bool threads;
    uint8_t *tx_buf;        /* push sender thread only: one batch */
    uint8_t *serve_buf;     /* receiver thread only: a fetch response */
    uint8_t *urgent_buf;    /* network thread only: an urgent fetch response */
    uint8_t *ack_buf;       /* receiver thread only */
    struct net_chunk *puts; /* receiver thread only: MSG_BATCH_MAX_CHUNKS */
};

/* repl_push.c */
void *repl_tx_main(void *arg);
void repl_on_ack(struct repl *r, int peer, const struct msg_list *ack);
void repl_push_peer_down(struct repl *r, int peer);
/* repl_serve.c */
void *repl_rx_main(void *arg);
int repl_enqueue(struct repl *r, int peer, int chan, unsigned type, uint16_t flags,
                 const uint8_t *p, uint32_t len);
int repl_serve_fetch(struct repl *r, int peer, int chan, uint16_t flags, const uint8_t *p,
                     uint32_t len, uint8_t *buf);
/* Flips a byte of data if the corrupt-on-send hook picks this chunk. */
void repl_maybe_corrupt(struct repl *r, uint8_t *data, uint32_t len);
/* repl_dropped.c */
void repl_dropped_free(struct repl *r);
/* A job leaves the table unfinished: its chunks peers lack go on their
 * rings, and what it still counts in flight is taken off. Lock held. */
void repl_dropped_record(struct repl *r, const struct repl_push *j);
/* Sends one notice to a peer whose ring holds hashes and whose bulk channel
 * is up; false if there was none, or the channel was down. Push thread,
 * lock held (released while sending). */
bool repl_dropped_send(struct repl *r, size_t npeers);
/* peer acked batch_id: notices sent before it arrived. Lock held. */
void repl_dropped_confirm(struct repl *r, int peer, uint64_t batch_id);
/* peer's bulk channel went down: what was not confirmed goes again. Lock held. */
void repl_dropped_peer_down(struct repl *r, int peer);
/* A push-dropped frame from peer. Network thread. */
void repl_on_dropped(struct repl *r, int peer, const struct msg_list *m);
/* repl_fetch.c */
void repl_on_fetch_resp(struct repl *r, int peer, const struct msg_fetch_resp *m);
void repl_on_have_answer(struct repl *r, int peer, const struct msg_list *m);
void repl_fetch_peer_down(struct repl *r, int peer);
/* replicate.c: ID of a peer for logs. */
void repl_peer_name(struct repl *r, int peer, char *out);

static inline bool bit_get(const uint8_t *b, size_t i)
{
    return (b[i / 8] >> (i % 8)) & 1;
}

static inline void bit_set(uint8_t *b, size_t i, bool v)
{
    if (v)
        b[i / 8] |= (uint8_t)(1u << (i % 8));
    else
        b[i / 8] &= (uint8_t) ~(1u << (i % 8));
}

#endif
