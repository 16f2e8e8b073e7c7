/*
 * chunk_cache.h - verified chunks kept in memory for the read path.
 *
 * FUSE reads a file in pieces of 4..128 KiB; without a cache each of them
 * would fetch and SHA-256 a whole chunk. The cache loads a chunk through the
 * chunk store (which verifies it) once and serves every later read of it.
 * Invariants:
 *  - Only verified bytes are cached: loaded through chunk_store_get, or
 *    added by a caller that computed the name from the bytes itself.
 *  - Bounded: the bytes of unpinned entries are evicted, least recently
 *    used first, to stay within max_bytes. A pinned entry is never evicted
 *    or changed, so its data pointer stays valid until released; what is
 *    pinned at once may exceed the bound for that long.
 *  - Concurrent misses on one chunk load it once; the others wait for it.
 *  - Failed loads (-ENOENT, -EIO ...) are not cached.
 * Thread-safe. Hits allocate nothing; a miss allocates the chunk's bytes.
 */
#ifndef QFS_FS_CHUNK_CHUNK_CACHE_H
#define QFS_FS_CHUNK_CHUNK_CACHE_H

#include "fs/chunk/chunk_store.h"

#include <stddef.h>
#include <stdint.h>

struct chunk_cache;
struct chunk_cache_entry;

/* A pinned chunk: data[0..len) are its verified bytes until released. */
struct chunk_view {
    const uint8_t *data;
    uint32_t len;
    struct chunk_cache_entry *pin;
};

struct chunk_cache_stats {
    uint64_t hits, misses; /* gets served from memory / loaded from the store */
    uint64_t bytes;        /* bytes cached now (pinned ones included) */
    uint64_t entries;
};

/* A cache in front of cs (which must outlive it) holding about max_bytes. */
int chunk_cache_new(struct chunk_store *cs, size_t max_bytes, struct chunk_cache **out);
/* All views must have been released. */
void chunk_cache_free(struct chunk_cache *cc);

/* Pins chunk hash, loading it on a miss: 0, or the store's -ENOENT/-EIO/-errno. */
int chunk_cache_get(struct chunk_cache *cc, const uint8_t hash[SHA256_LEN], struct chunk_view *out);
void chunk_cache_release(struct chunk_cache *cc, struct chunk_view *v);

/* Copies bytes [off, off + len) of chunk hash (cut at its end) into buf:
 * the number of bytes copied (0 if off is at or past the end) or -errno. */
int chunk_cache_read(struct chunk_cache *cc, const uint8_t hash[SHA256_LEN], uint32_t off,
                     void *buf, uint32_t len);

/* Caches a chunk the caller just named (c->hash = SHA-256 of c->data), e.g.
 * one it has written: later reads of it skip the store. Copies the bytes. */
int chunk_cache_add(struct chunk_cache *cc, const struct chunk_ref *c);

void chunk_cache_stats(struct chunk_cache *cc, struct chunk_cache_stats *out);

#endif
