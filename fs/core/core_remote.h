/*
 * core_remote.h - what the core asks of the other nodes about chunks, as
 * callbacks, so that fs/core does not depend on net/. The cluster
 * (fs/cluster/) supplies them with core_set_remote(); a single-node mount has
 * none and the core behaves as before.
 *
 * Contract (all callbacks thread-safe, called from FUSE threads):
 *  - replicate(): the chunks are already durable in the local store; returns
 *    0 once they are durable on a majority of the cluster (this node counts),
 *    or -EROFS / -ETIMEDOUT. A content command is proposed only after it
 *    returned 0 for every new chunk the command references.
 *  - replicate_start() / replicate_wait() (optional; both or neither):
 *    replicate() in two halves, so that the chunks of one batch travel while
 *    the next batch is still being cut and stored here. Only the first n_ask
 *    hashes may already be on peers (this node held them before this
 *    commit): those are asked about first; the rest are pushed at once.
 *    start copies the hashes and sets *job (NULL: nothing to wait for) or
 *    returns -errno (nothing started); wait returns what replicate() would
 *    have and frees the job. Every job started is waited for exactly once.
 *  - fetch(): a chunk a committed map references is absent here or failed its
 *    hash: get a verified copy from a peer, store it locally, copy it into buf.
 *    0, -ENOENT (no reachable peer has it), -ENOTCONN, -ETIMEDOUT.
 */
#ifndef QFS_FS_CORE_CORE_REMOTE_H
#define QFS_FS_CORE_CORE_REMOTE_H

#include <stddef.h>
#include <stdint.h>

struct core;

struct core_remote {
    void *ctx;
    int (*replicate)(void *ctx, const uint8_t (*hashes)[32], size_t n);
    int (*replicate_start)(void *ctx, const uint8_t (*hashes)[32], size_t n, size_t n_ask,
                           void **job);
    int (*replicate_wait)(void *ctx, void *job);
    int (*fetch)(void *ctx, const uint8_t hash[32], uint8_t *buf, size_t cap, uint32_t *len);
};

/* Installs r (copied) before the mount serves requests. */
void core_set_remote(struct core *c, const struct core_remote *r);

#endif
