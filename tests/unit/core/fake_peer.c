/* fake_peer.c - struct core_remote over an in-memory copy of chunks. */
#include "fake_peer.h"

#include "fs/chunk/chunk_store.h"
#include "fs/chunk/chunker.h"
#include "fs/core/core_cluster.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void fake_peer_init(struct fake_peer *p, struct core *core)
{
    memset(p, 0, sizeof(*p));
    pthread_mutex_init(&p->lock, NULL);
    p->core = core;
}

void fake_peer_free(struct fake_peer *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->chunks[i].data);
    free(p->chunks);
    pthread_mutex_destroy(&p->lock);
}

static struct fake_chunk *find(struct fake_peer *p, const uint8_t *hash)
{
    for (size_t i = 0; i < p->n; i++)
        if (memcmp(p->chunks[i].hash, hash, 32) == 0)
            return &p->chunks[i];
    return NULL;
}

/* Copies chunk hash from the core's store (lock held). */
static int copy_in(struct fake_peer *p, const uint8_t *hash)
{
    if (find(p, hash))
        return 0;
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        struct fake_chunk *n = realloc(p->chunks, cap * sizeof(*n));
        if (!n)
            return -ENOMEM;
        p->chunks = n;
        p->cap = cap;
    }
    struct fake_chunk *c = &p->chunks[p->n];
    c->data = malloc(CHUNK_MAX);
    if (!c->data)
        return -ENOMEM;
    int rc = chunk_store_get(core_chunk_store(p->core), hash, c->data, CHUNK_MAX, &c->len);
    if (rc) {
        free(c->data);
        return rc;
    }
    memcpy(c->hash, hash, 32);
    p->n++;
    return 0;
}

static int replicate(void *ctx, const uint8_t (*hashes)[32], size_t n)
{
    struct fake_peer *p = ctx;
    pthread_mutex_lock(&p->lock);
    p->replicate_calls++;
    p->last_n = n;
    int rc = p->replicate_err;
    for (size_t i = 0; i < n && !rc; i++) {
        if (chunk_store_has(core_chunk_store(p->core), hashes[i]) != 1)
            p->not_durable++;
        rc = copy_in(p, hashes[i]);
    }
    pthread_mutex_unlock(&p->lock);
    return rc;
}

static int fetch(void *ctx, const uint8_t hash[32], uint8_t *buf, size_t cap, uint32_t *len)
{
    struct fake_peer *p = ctx;
    pthread_mutex_lock(&p->lock);
    p->fetch_calls++;
    struct fake_chunk *c = find(p, hash);
    int rc = !c ? -ENOENT : c->len > cap ? -ENOBUFS : 0;
    if (!rc) {
        memcpy(buf, c->data, c->len);
        *len = c->len;
        struct chunk_ref ref = {.data = c->data, .len = c->len};
        memcpy(ref.hash, hash, 32);
        rc = chunk_store_put_batch(core_chunk_store(p->core), &ref, 1);
    }
    pthread_mutex_unlock(&p->lock);
    return rc;
}

void fake_peer_remote(struct fake_peer *p, struct core_remote *r)
{
    *r = (struct core_remote){.ctx = p, .replicate = replicate, .fetch = fetch};
}
