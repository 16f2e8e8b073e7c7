#include "fs/core/gc.h"

#include "common/log.h"
#include "fs/store/meta_map.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define PIN_BUCKETS 4096
#define GC_ROUND    256

struct pin {
    uint8_t hash[SHA256_LEN];
    uint32_t count;
    struct pin *next;
};

struct gc {
    struct meta_store *ms;
    struct chunk_store *cs;
    pthread_mutex_t pins_lock; /* guards pins[] and is held across check+delete */
    struct pin *pins[PIN_BUCKETS];
    uint64_t deleted; /* written by the apply thread only; read racily for stats */
};

static struct pin **bucket(struct gc *g, const uint8_t *hash)
{
    uint32_t h;
    memcpy(&h, hash, sizeof(h));
    return &g->pins[h % PIN_BUCKETS];
}

static struct pin *find_pin(struct gc *g, const uint8_t *hash)
{
    for (struct pin *p = *bucket(g, hash); p; p = p->next)
        if (memcmp(p->hash, hash, SHA256_LEN) == 0)
            return p;
    return NULL;
}

int gc_pin(struct gc *g, const uint8_t hash[SHA256_LEN])
{
    pthread_mutex_lock(&g->pins_lock);
    struct pin *p = find_pin(g, hash);
    if (!p) {
        p = calloc(1, sizeof(*p));
        if (!p) {
            pthread_mutex_unlock(&g->pins_lock);
            return -ENOMEM;
        }
        memcpy(p->hash, hash, SHA256_LEN);
        struct pin **b = bucket(g, hash);
        p->next = *b;
        *b = p;
    }
    p->count++;
    pthread_mutex_unlock(&g->pins_lock);
    return 0;
}

void gc_unpin(struct gc *g, const uint8_t hash[SHA256_LEN])
{
    pthread_mutex_lock(&g->pins_lock);
    for (struct pin **pp = bucket(g, hash); *pp; pp = &(*pp)->next) {
        struct pin *p = *pp;
        if (memcmp(p->hash, hash, SHA256_LEN) == 0) {
            if (--p->count == 0) {
                *pp = p->next;
                free(p);
            }
            break;
        }
    }
    pthread_mutex_unlock(&g->pins_lock);
}

/* Splits the listed hashes: unreferenced ones first (n_dead), referenced
 * ones (resurrected) after. Returns n_dead or -errno. */
static int sort_dead(struct gc *g, uint8_t (*h)[SHA256_LEN], int n)
{
    MDB_txn *txn;
    int rc = meta_txn_read(g->ms, &txn);
    if (rc)
        return rc;
    int dead = 0;
    for (int i = 0; i < n && !rc; i++) {
        uint64_t count;
        rc = meta_ref_get(g->ms, txn, h[i], &count);
        if (!rc && count == 0) {
            uint8_t t[SHA256_LEN];
            memcpy(t, h[dead], SHA256_LEN);
            memcpy(h[dead], h[i], SHA256_LEN);
            memcpy(h[i], t, SHA256_LEN);
            dead++;
        }
    }
    mdb_txn_abort(txn);
    return rc ? rc : dead;
}

/* Deletes the unpinned dead chunks; moves pinned ones to the end. Returns
 * how many leave the queue (deleted + resurrected) at the front, or -errno. */
static int delete_unpinned(struct gc *g, uint8_t (*h)[SHA256_LEN], int dead, int n)
{
    uint8_t(*del)[SHA256_LEN] = malloc((size_t)(dead ? dead : 1) * SHA256_LEN);
    if (!del)
        return -ENOMEM;
    int nd = 0, keep = 0;
    pthread_mutex_lock(&g->pins_lock);
    for (int i = 0; i < dead; i++)
        if (!find_pin(g, h[i]))
            memcpy(del[nd++], h[i], SHA256_LEN);
    int rc =
        nd ? chunk_store_delete_batch(g->cs, (const uint8_t(*)[SHA256_LEN])del, (size_t)nd) : 0;
    pthread_mutex_unlock(&g->pins_lock);
    if (!rc) {
        __atomic_add_fetch(&g->deleted, (uint64_t)nd, __ATOMIC_RELAXED);
        /* queue entries to drop: the deleted, then the resurrected */
        for (int i = 0; i < nd; i++)
            memcpy(h[keep++], del[i], SHA256_LEN);
        for (int i = dead; i < n; i++)
            memcpy(h[keep++], h[i], SHA256_LEN);
    }
    free(del);
    return rc ? rc : keep;
}

static int unqueue(struct gc *g, uint8_t (*h)[SHA256_LEN], int n)
{
    MDB_txn *txn;
    int rc = meta_txn_write(g->ms, &txn);
    if (rc)
        return rc;
    for (int i = 0; i < n && !rc; i++)
        rc = meta_gc_remove(g->ms, txn, h[i]);
    if (rc) {
        mdb_txn_abort(txn);
        return rc;
    }
    return meta_err(mdb_txn_commit(txn));
}

/* One round; returns how many queue entries it settled, or -errno. */
static int collect_round(struct gc *g, uint8_t (*h)[SHA256_LEN])
{
    MDB_txn *txn;
    int rc = meta_txn_read(g->ms, &txn);
    if (rc)
        return rc;
    int n = meta_gc_list(g->ms, txn, h, GC_ROUND);
    mdb_txn_abort(txn);
    if (n <= 0)
        return n;
    int dead = sort_dead(g, h, n);
    if (dead < 0)
        return dead;
    int settle = delete_unpinned(g, h, dead, n);
    if (settle <= 0)
        return settle;
    rc = unqueue(g, h, settle);
    return rc ? rc : (n == GC_ROUND ? settle : 0);
}

void gc_collect(void *arg)
{
    struct gc *g = arg;
    uint8_t(*h)[SHA256_LEN] = malloc(GC_ROUND * SHA256_LEN);
    if (!h)
        return;
    int rc;
    while ((rc = collect_round(g, h)) > 0)
        ;
    if (rc < 0)
        log_warn("gc: collection failed (%s); retried after the next commit", strerror(-rc));
    free(h);
}

int gc_open(struct meta_store *ms, struct chunk_store *cs, struct gc **out)
{
    struct gc *g = calloc(1, sizeof(*g));
    if (!g)
        return -ENOMEM;
    g->ms = ms;
    g->cs = cs;
    pthread_mutex_init(&g->pins_lock, NULL);
    *out = g;
    return 0;
}

void gc_close(struct gc *g)
{
    if (!g)
        return;
    for (int i = 0; i < PIN_BUCKETS; i++) {
        while (g->pins[i]) {
            struct pin *p = g->pins[i];
            g->pins[i] = p->next;
            free(p);
        }
    }
    pthread_mutex_destroy(&g->pins_lock);
    free(g);
}

uint64_t gc_deleted(struct gc *g)
{
    return __atomic_load_n(&g->deleted, __ATOMIC_RELAXED);
}
