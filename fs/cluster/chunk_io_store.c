/* chunk_io_store.c - struct chunk_io over the LMDB chunk store (chunk_io_store.h). */
#include "fs/cluster/chunk_io_store.h"

#include "fs/chunk/chunk_store.h"
#include "fs/core/gc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(SHA256_LEN == 32, "net/ names chunks by 32-byte SHA-256");
_Static_assert(CHUNK_PREFIX_LEN == NET_HASH_PREFIX_LEN, "have-queries name chunks by prefix");

static int io_has(void *ctx, const uint8_t hash[32])
{
    struct chunk_io_store *s = ctx;
    if (s->gc)
        gc_touch(s->gc, hash);
    return chunk_store_has(s->cs, hash);
}

/* Touched before it is looked at again: a GC pass between the lookup and
 * the touch could have deleted it, and a "held" answer must stay true. */
static int io_has_prefix(void *ctx, const uint8_t prefix[NET_HASH_PREFIX_LEN])
{
    struct chunk_io_store *s = ctx;
    uint8_t hash[SHA256_LEN];
    int rc = chunk_store_find_prefix(s->cs, prefix, hash);
    if (rc != 1 || !s->gc)
        return rc;
    gc_touch(s->gc, hash);
    return chunk_store_has(s->cs, hash);
}

static int io_get(void *ctx, const uint8_t hash[32], uint8_t *buf, size_t cap, uint32_t *len)
{
    struct chunk_io_store *s = ctx;
    return chunk_store_get(s->cs, hash, buf, cap, len);
}

static int io_get_unverified(void *ctx, const uint8_t hash[32], uint8_t *buf, size_t cap,
                             uint32_t *len)
{
    struct chunk_io_store *s = ctx;
    return chunk_store_get_unverified(s->cs, hash, buf, cap, len);
}

static int io_put_batch(void *ctx, const struct net_chunk *chunks, size_t n)
{
    struct chunk_io_store *s = ctx;
    if (n == 0)
        return 0;
    struct chunk_ref *refs = malloc(n * sizeof(*refs));
    if (!refs)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        if (s->gc)
            gc_touch(s->gc, chunks[i].hash);
        memcpy(refs[i].hash, chunks[i].hash, SHA256_LEN);
        refs[i].data = chunks[i].data;
        refs[i].len = chunks[i].len;
    }
    /* Other nodes' chunks: a push's replicas, or a pull's; the few a read
     * fetches come one at a time, under the size that drops pages. */
    int rc = chunk_store_put_batch_flags(s->cs, refs, n, CHUNK_PUT_UNCACHE);
    free(refs);
    return rc;
}

/* This node's own chunks, read back for a push until every peer had them. */
static void io_pushed(void *ctx, const uint8_t (*hashes)[32], size_t n)
{
    struct chunk_io_store *s = ctx;
    chunk_store_uncache(s->cs, hashes, n);
}

void chunk_io_store_init(struct chunk_io_store *s, struct chunk_store *cs, struct gc *gc,
                         struct chunk_io *io)
{
    s->cs = cs;
    s->gc = gc;
    *io = (struct chunk_io){.ctx = s,
                            .has = io_has,
                            .has_prefix = io_has_prefix,
                            .get = io_get,
                            .get_unverified = io_get_unverified,
                            .put_batch = io_put_batch,
                            .pushed = io_pushed};
}
