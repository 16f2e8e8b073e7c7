/*
 * chunk_io.h - what replication needs from a chunk store, as callbacks, so
 * that net/ does not depend on fs/. The cluster plugs in the LMDB chunk store
 * (fs/chunk/chunk_store.h has exactly these operations); tests use a
 * directory of files (tests/net/file_store.h).
 *
 * Contract: all are thread-safe. get() copies and may verify; put_batch()
 * is durable when it returns 0 and skips chunks already present. The caller
 * has already checked every chunk it puts against its SHA-256 name.
 */
#ifndef QFS_NET_CHUNK_IO_H
#define QFS_NET_CHUNK_IO_H

#include <stddef.h>
#include <stdint.h>

#define NET_HASH_PREFIX_LEN 16

struct net_chunk {
    uint8_t hash[32];
    const uint8_t *data;
    uint32_t len;
};

struct chunk_io {
    void *ctx;
    /* 1 present, 0 absent, or -errno. */
    int (*has)(void *ctx, const uint8_t hash[32]);
    /* The same for a chunk named by the first NET_HASH_PREFIX_LEN bytes of
     * its hash (have-queries). A chunk found by either is kept from the GC
     * for its grace period: a peer counts on it for the next push. */
    int (*has_prefix)(void *ctx, const uint8_t prefix[NET_HASH_PREFIX_LEN]);
    /* Copies the chunk into buf: 0, -ENOENT, -EIO (corrupt) or -ENOBUFS. */
    int (*get)(void *ctx, const uint8_t hash[32], uint8_t *buf, size_t cap, uint32_t *len);
    /* Optional (NULL: get is used): get without the hash check, for a push,
     * whose receiver checks every chunk; a chunk a peer refused as corrupt
     * is read again with get. */
    int (*get_unverified)(void *ctx, const uint8_t hash[32], uint8_t *buf, size_t cap,
                          uint32_t *len);
    /* Stores n chunks durably (one commit). 0 or -errno. */
    int (*put_batch)(void *ctx, const struct net_chunk *chunks, size_t n);
    /* Optional: every peer has stored these chunks (a push finished), so
     * nothing will read them for a push again; the store may let their
     * pages go. Called from the push thread, no lock held. */
    void (*pushed)(void *ctx, const uint8_t (*hashes)[32], size_t n);
};

#endif
