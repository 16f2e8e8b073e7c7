/*
 * replicate.h - moving chunks between nodes over the transport's bulk channel.
 *
 * Push: repl_push_start() sends a list of chunks to every peer in batches;
 * a receiver checks each chunk against its SHA-256 name, stores the batch
 * durably (chunk_io.put_batch) and only then acks it. repl_push_wait() returns
 * once k peers acked every chunk (a content commit waits for a majority).
 * Released jobs keep going in the background until every peer has them.
 * A dropped connection resets only unacknowledged chunks: after the redial the
 * sender resumes with what was not acked. A chunk that fails its hash is never
 * stored; the receiver nacks it, logs the sending peer, and the sender resends.
 *
 * Pull: repl_fetch() gets one chunk at once for a reader, on the control
 * channel's urgent queue so it passes background work; repl_pull() asks peers
 * which of a list they hold and fetches the missing ones (anti-entropy).
 *
 * Memory: chunk bytes in flight per peer are bounded by window; received
 * batches waiting to be stored by rx_window (the transport stops reading the
 * connection when it is full). Nothing grows with the amount transferred but
 * the caller's hash lists.
 *
 * Wiring: create the replicator, start the transport with callbacks that pass
 * every frame for which repl_handles() is true to repl_on_frame() and every
 * peer event to repl_on_peer(), then repl_attach() the transport.
 */
#ifndef QFS_NET_REPLICATE_H
#define QFS_NET_REPLICATE_H

#include "net/chunk_io.h"
#include "net/transport.h"

struct repl;
struct repl_push;

struct repl_options {
    size_t window;      /* chunk bytes sent and not acked, per peer (0: 16 MiB) */
    size_t batch_bytes; /* target chunk bytes per push batch (0: 4 MiB, one fsync each at the
                           receiver) */
    size_t rx_window;   /* received push bytes waiting to be stored (0: 16 MiB) */
    /* Test hook: flip one byte of the Nth chunk this node sends (push or
     * fetch response), once. 0 = off. repl_options_default() reads it from
     * the environment variable QFS_TEST_CORRUPT_CHUNK. */
    unsigned corrupt_nth;
};

/* Chunks received in answer to this node's own fetch requests and verified,
 * and their bytes. A chunk a push delivered meanwhile is in it only if a
 * fetch answer brought it too (its bytes then came twice). */
struct repl_fetched {
    uint64_t chunks, bytes;
};

struct repl_stats {
    uint64_t chunks_sent, bytes_sent; /* chunk payloads pushed or served */
    uint64_t chunks_stored;           /* received, verified and stored */
    uint64_t chunks_dup;              /* received but already present */
    uint64_t chunks_bad;              /* received and failed their hash */
    uint64_t chunks_unstored;         /* received and good, but storing them failed */
    uint64_t fetches, fetch_retries;
    struct repl_fetched fetched; /* by repl_fetch and repl_pull, stored or not */
};

void repl_options_default(struct repl_options *o);

int repl_create(const struct chunk_io *store, const struct repl_options *opt, struct repl **out);
/* Starts the replication threads on a running transport. */
int repl_attach(struct repl *r, struct net *n);
/*
 * Shutdown, in this order: repl_detach() stops the replication threads (and
 * wakes every waiter with an error), net_stop() ends the callbacks, then
 * repl_destroy() frees the replicator. Jobs must have been released.
 */
void repl_detach(struct repl *r);
void repl_destroy(struct repl *r);

/* True for the frame types the replicator handles. */
int repl_handles(unsigned type);
int repl_on_frame(struct repl *r, int peer, int chan, unsigned type, uint16_t flags,
                  const uint8_t *payload, uint32_t len);
void repl_on_peer(struct repl *r, int peer, int chan, int up);

/* Starts pushing n chunks (present in the local store) to every peer (after repl_attach). */
int repl_push_start(struct repl *r, const uint8_t (*hashes)[32], size_t n, struct repl_push **job);
/*
 * Waits until at least k peers hold every chunk of the job. Returns the number
 * of such peers (>= k), or -ETIMEDOUT after timeout_ms (-1: no limit).
 */
int repl_push_wait(struct repl_push *job, int k, int timeout_ms);
/* The caller is done with the job; it finishes (or is dropped) in the background. */
void repl_push_release(struct repl_push *job);

/*
 * Fetches one chunk from any peer that has it, ahead of background work,
 * verifies it, stores it, and copies it into buf. A chunk that cannot be
 * stored (a full disk) is still copied: the reader gets it, and the
 * background sync fetches it again later. 0, -ENOENT (no reachable peer has
 * a good copy), -ENOTCONN (no peer reachable), -ETIMEDOUT, -ENOBUFS.
 */
int repl_fetch(struct repl *r, const uint8_t hash[32], uint8_t *buf, size_t cap, uint32_t *len,
               int timeout_ms);

/*
 * Makes every listed chunk local: skips those present, asks peers which they
 * hold, fetches the rest. Returns the number still missing (0 = all local),
 * or -errno. Adds to *got (unless NULL) what its own fetches received, so a
 * caller can tell its transfers from chunks that a push stored meanwhile.
 */
long repl_pull(struct repl *r, const uint8_t (*hashes)[32], size_t n, int timeout_ms,
               struct repl_fetched *got);

/*
 * Asks every peer which of the listed chunks it holds, and copies into out
 * the ones at least one of them lacks (all of them if a peer is not
 * connected or does not answer). Returns how many, or -errno. A push of only
 * these leaves every listed chunk on every peer that acks it; a chunk store
 * that answers "held" protects the chunk from its GC for a grace period.
 */
long repl_peers_lack(struct repl *r, const uint8_t (*hashes)[32], size_t n, uint8_t (*out)[32],
                     int timeout_ms);
void repl_get_stats(struct repl *r, struct repl_stats *out);
/* True when peer (a transport index) pushed this node a batch, or this node
 * finished storing one of its batches, within the last within_ms: more of
 * its push is likely on the way (chunk_sync.h waits for it before pulling). */
bool repl_push_arriving(struct repl *r, int peer, uint32_t within_ms);
/* True when a peer said it gave up pushing this chunk here (a sender keeps
 * a bounded number of unfinished push jobs, and drops the oldest to start a
 * new one): pull it rather than wait. Remembers the last 65,536 to 131,072
 * chunks so told; a false "true" (two hashes sharing 8 bytes) costs only an
 * early pull. */
bool repl_push_given_up(struct repl *r, const uint8_t hash[32]);
/* What the push jobs still owe peer (a transport peer index): chunks not
 * acked yet, and their bytes, where a chunk not read yet counts as
 * est_chunk_bytes (its length is known only once it is sent). */
void repl_get_backlog(struct repl *r, int peer, uint32_t est_chunk_bytes, uint64_t *chunks,
                      uint64_t *bytes);

#endif
