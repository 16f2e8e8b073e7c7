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
    int (*fetch)(void *ctx, const uint8_t hash[32], uint8_t *buf, size_t cap, uint32_t *len);
};

/* Installs r (copied) before the mount serves requests. */
void core_set_remote(struct core *c, const struct core_remote *r);

#endif
