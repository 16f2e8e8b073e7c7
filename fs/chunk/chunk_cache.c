/*
 * Verified-chunk cache: a chained hash table on the chunk name plus an LRU
 * list, all under one mutex; loads from the store run outside it.
 */
#include "fs/chunk/chunk_cache.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct chunk_cache_entry {
    uint8_t hash[SHA256_LEN];
    struct chunk_cache_entry *next;          /* bucket chain (while in the table) */
    struct chunk_cache_entry *older, *newer; /* LRU list (while ready and in the table) */
    uint8_t *data;
    uint32_t len;
    int refs;     /* pins, plus the loader's while loading */
    bool loading; /* placeholder: a thread is reading it from the store */
    bool dead;    /* out of the table: freed by the last release */
    int err;      /* the failed load's error, for its waiters */
};

struct chunk_cache {
    struct chunk_store *cs;
    size_t max_bytes;
    pthread_mutex_t lock;  /* guards everything below and every entry's fields */
    pthread_cond_t loaded; /* broadcast when any load finishes */
    struct chunk_cache_entry **buckets;
    size_t mask; /* buckets - 1, a power of two minus one */
    struct chunk_cache_entry *newest, *oldest;
    uint64_t bytes, entries, hits, misses;
};

int chunk_cache_new(struct chunk_store *cs, size_t max_bytes, struct chunk_cache **out)
{
    struct chunk_cache *cc = calloc(1, sizeof(*cc));
    if (!cc)
        return -ENOMEM;
    size_t n = 64;
    while (n < max_bytes / (16 * 1024)) /* a bucket per minimum-size chunk */
        n *= 2;
    cc->buckets = calloc(n, sizeof(*cc->buckets));
    if (!cc->buckets) {
        free(cc);
        return -ENOMEM;
    }
    cc->mask = n - 1;
    cc->cs = cs;
    cc->max_bytes = max_bytes;
    pthread_mutex_init(&cc->lock, NULL);
    pthread_cond_init(&cc->loaded, NULL);
    *out = cc;
    return 0;
}

void chunk_cache_free(struct chunk_cache *cc)
{
    if (!cc)
        return;
    for (size_t i = 0; i <= cc->mask; i++) {
        for (struct chunk_cache_entry *e = cc->buckets[i], *next; e; e = next) {
            next = e->next;
            free(e->data);
            free(e);
        }
    }
    free(cc->buckets);
    pthread_cond_destroy(&cc->loaded);
    pthread_mutex_destroy(&cc->lock);
    free(cc);
}

/* ---- table and LRU list (callers hold lock) ---- */

static struct chunk_cache_entry **bucket(struct chunk_cache *cc, const uint8_t *hash)
{
    uint64_t h;
    memcpy(&h, hash, sizeof(h)); /* names are uniform already */
    return &cc->buckets[h & cc->mask];
}

static struct chunk_cache_entry *lookup(struct chunk_cache *cc, const uint8_t *hash)
{
    for (struct chunk_cache_entry *e = *bucket(cc, hash); e; e = e->next)
        if (!memcmp(e->hash, hash, SHA256_LEN))
            return e;
    return NULL;
}

static void lru_unlink(struct chunk_cache *cc, struct chunk_cache_entry *e)
{
    if (e->older)
        e->older->newer = e->newer;
    else
        cc->oldest = e->newer;
    if (e->newer)
        e->newer->older = e->older;
    else
        cc->newest = e->older;
    e->older = e->newer = NULL;
}

static void lru_push(struct chunk_cache *cc, struct chunk_cache_entry *e)
{
    e->older = cc->newest;
    e->newer = NULL;
    if (cc->newest)
        cc->newest->newer = e;
    else
        cc->oldest = e;
    cc->newest = e;
}

/* Takes e out of the table (and the LRU list if it is ready). */
static void unhash(struct chunk_cache *cc, struct chunk_cache_entry *e)
{
    struct chunk_cache_entry **p = bucket(cc, e->hash);
    while (*p != e)
        p = &(*p)->next;
    *p = e->next;
    if (!e->loading) {
        lru_unlink(cc, e);
        cc->bytes -= e->len;
        cc->entries--;
    }
    e->dead = true;
}

static void unref(struct chunk_cache_entry *e)
{
    if (--e->refs == 0 && e->dead) {
        free(e->data);
        free(e);
    }
}

/* Evicts unpinned entries, oldest first, until within the bound. */
static void evict(struct chunk_cache *cc)
{
    struct chunk_cache_entry *e = cc->oldest;
    while (e && cc->bytes > cc->max_bytes) {
        struct chunk_cache_entry *newer = e->newer;
        if (e->refs == 0) {
            unhash(cc, e);
            e->refs = 1;
            unref(e);
        }
        e = newer;
    }
}

/* Makes a loaded (or added) entry ready: in the LRU list, counted. */
static void publish(struct chunk_cache *cc, struct chunk_cache_entry *e)
{
    e->loading = false;
    cc->bytes += e->len;
    cc->entries++;
    lru_push(cc, e);
    evict(cc);
}

/* ---- loading and access ---- */

/* Reads e's chunk from the store (which verifies it); no lock held. */
static int load(struct chunk_cache *cc, struct chunk_cache_entry *e)
{
    uint32_t len, got;
    int rc = chunk_store_size(cc->cs, e->hash, &len);
    if (rc)
        return rc;
    e->data = malloc(len ? len : 1);
    if (!e->data)
        return -ENOMEM;
    rc = chunk_store_get(cc->cs, e->hash, e->data, len, &got);
    if (!rc && got != len)
        rc = -EIO;
    if (rc) {
        free(e->data);
        e->data = NULL;
        return rc;
    }
    e->len = len;
    return 0;
}

/* Inserts a placeholder for hash and loads it; returns it pinned. */
static int miss(struct chunk_cache *cc, const uint8_t *hash, struct chunk_cache_entry **out)
{
    struct chunk_cache_entry *e = calloc(1, sizeof(*e));
    if (!e)
        return -ENOMEM;
    memcpy(e->hash, hash, SHA256_LEN);
    e->loading = true;
    e->refs = 1;
    struct chunk_cache_entry **b = bucket(cc, hash);
    e->next = *b;
    *b = e;
    cc->misses++;
    pthread_mutex_unlock(&cc->lock);
    int rc = load(cc, e);
    pthread_mutex_lock(&cc->lock);
    if (rc) {
        e->err = rc;
        unhash(cc, e);
        e->loading = false;
        unref(e);
    } else {
        publish(cc, e);
        *out = e;
    }
    pthread_cond_broadcast(&cc->loaded);
    return rc;
}

int chunk_cache_get(struct chunk_cache *cc, const uint8_t hash[SHA256_LEN], struct chunk_view *out)
{
    int rc = 0;
    pthread_mutex_lock(&cc->lock);
    struct chunk_cache_entry *e = lookup(cc, hash);
    if (!e) {
        rc = miss(cc, hash, &e);
    } else {
        e->refs++;
        while (e->loading)
            pthread_cond_wait(&cc->loaded, &cc->lock);
        rc = e->err;
        if (rc) {
            unref(e);
        } else {
            lru_unlink(cc, e);
            lru_push(cc, e);
            cc->hits++;
        }
    }
    pthread_mutex_unlock(&cc->lock);
    if (!rc)
        *out = (struct chunk_view){e->data, e->len, e};
    return rc;
}

void chunk_cache_release(struct chunk_cache *cc, struct chunk_view *v)
{
    pthread_mutex_lock(&cc->lock);
    unref(v->pin);
    evict(cc);
    pthread_mutex_unlock(&cc->lock);
    *v = (struct chunk_view){0};
}

int chunk_cache_read(struct chunk_cache *cc, const uint8_t hash[SHA256_LEN], uint32_t off,
                     void *buf, uint32_t len)
{
    struct chunk_view v;
    int rc = chunk_cache_get(cc, hash, &v);
    if (rc)
        return rc;
    uint32_t n = off < v.len ? v.len - off : 0;
    if (n > len)
        n = len;
    memcpy(buf, v.data + (n ? off : 0), n);
    chunk_cache_release(cc, &v);
    return (int)n;
}

int chunk_cache_add(struct chunk_cache *cc, const struct chunk_ref *c)
{
    struct chunk_cache_entry *e = calloc(1, sizeof(*e));
    uint8_t *data = malloc(c->len ? c->len : 1);
    if (!e || !data) {
        free(e);
        free(data);
        return -ENOMEM;
    }
    memcpy(data, c->data, c->len);
    memcpy(e->hash, c->hash, SHA256_LEN);
    e->data = data;
    e->len = c->len;
    pthread_mutex_lock(&cc->lock);
    if (lookup(cc, c->hash)) {
        pthread_mutex_unlock(&cc->lock);
        free(data);
        free(e);
        return 0;
    }
    struct chunk_cache_entry **b = bucket(cc, c->hash);
    e->next = *b;
    *b = e;
    publish(cc, e);
    pthread_mutex_unlock(&cc->lock);
    return 0;
}

void chunk_cache_stats(struct chunk_cache *cc, struct chunk_cache_stats *out)
{
    pthread_mutex_lock(&cc->lock);
    *out = (struct chunk_cache_stats){cc->hits, cc->misses, cc->bytes, cc->entries};
    pthread_mutex_unlock(&cc->lock);
}
