#include "fs/core/gc.h"
#include "fs/core/gc_grace.h"

#include "common/log.h"
#include "fs/store/meta_map.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define PIN_BUCKETS    4096
#define GC_ROUND       256
#define GC_PASS_ROUNDS 16         /* per call, with a grace period */
#define GC_UNUSED_MAX  (1u << 16) /* 2 MiB of hashes; a 4 GiB write has 65,536 */

struct pin {
    uint8_t hash[SHA256_LEN];
    uint32_t count;
    struct pin *next;
};

/* What one pass over the queue needs besides the hashes. */
struct pass {
    uint64_t now_ms, grace_ms;
    uint8_t after[SHA256_LEN]; /* the last hash listed */
    bool started;
};

struct gc {
    struct meta_store *ms;
    struct chunk_store *cs;
    pthread_mutex_t pins_lock; /* guards pins[], touches, unused*; held across check+delete */
    struct pin *pins[PIN_BUCKETS];
    struct gc_touches touches;
    /* gc_unpin_unused()'s chunks, for the next collection to queue; past
     * GC_UNUSED_MAX (or out of memory) a sweep is asked for instead */
    uint8_t (*unused)[SHA256_LEN];
    size_t n_unused, cap_unused;
    bool unused_dropped;
    uint64_t grace_ms; /* atomic */
    /* The collector's own (gc_collect's caller: the apply thread) */
    struct gc_dead dead;
    struct pass pass; /* the pass in progress, when in_pass */
    bool in_pass;
    uint64_t next_pass_ms;           /* with a grace: no new pass before then */
    uint8_t sweep_after[SHA256_LEN]; /* the sweep's position in the chunk store */
    bool sweeping, sweep_started;
    uint64_t next_sweep_ms; /* 0: sweep at the first collection */
    uint64_t deleted;       /* written by the collector only; read racily for stats */
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

static void unpin_locked(struct gc *g, const uint8_t *hash)
{
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
}

void gc_unpin(struct gc *g, const uint8_t hash[SHA256_LEN])
{
    pthread_mutex_lock(&g->pins_lock);
    unpin_locked(g, hash);
    pthread_mutex_unlock(&g->pins_lock);
}

static bool add_unused(struct gc *g, const uint8_t *hash)
{
    if (g->n_unused == g->cap_unused) {
        size_t cap = g->cap_unused ? 2 * g->cap_unused : 256;
        void *p = cap <= GC_UNUSED_MAX ? realloc(g->unused, cap * SHA256_LEN) : NULL;
        if (!p)
            return false;
        g->unused = p;
        g->cap_unused = cap;
    }
    memcpy(g->unused[g->n_unused++], hash, SHA256_LEN);
    return true;
}

void gc_unpin_unused(struct gc *g, const uint8_t hash[SHA256_LEN])
{
    pthread_mutex_lock(&g->pins_lock);
    unpin_locked(g, hash);
    if (!g->unused_dropped && !add_unused(g, hash))
        g->unused_dropped = true;
    pthread_mutex_unlock(&g->pins_lock);
}

void gc_touch(struct gc *g, const uint8_t hash[SHA256_LEN])
{
    uint64_t grace = __atomic_load_n(&g->grace_ms, __ATOMIC_RELAXED);
    if (!grace)
        return;
    pthread_mutex_lock(&g->pins_lock);
    gc_touches_add(&g->touches, hash, gc_now_ms(), grace);
    pthread_mutex_unlock(&g->pins_lock);
}

void gc_set_grace(struct gc *g, uint32_t grace_ms)
{
    __atomic_store_n(&g->grace_ms, grace_ms, __ATOMIC_RELAXED);
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

/* A dead chunk may go: not pinned, and with a grace, neither touched nor
 * seen referenced within it (pins_lock held). */
static bool may_delete(struct gc *g, const struct pass *p, const uint8_t *hash)
{
    if (find_pin(g, hash))
        return false;
    if (!p->grace_ms)
        return true;
    uint64_t since = gc_dead_since(&g->dead, hash, p->now_ms);
    if (p->now_ms - since >= p->grace_ms &&
        !gc_touches_recent(&g->touches, hash, p->now_ms, p->grace_ms))
        return true;
    gc_dead_keep(&g->dead, hash, since);
    return false;
}

/* Deletes the dead chunks that may go. Returns how many leave the queue
 * (deleted + resurrected), moved to the front, or -errno. */
static int delete_dead(struct gc *g, const struct pass *p, uint8_t (*h)[SHA256_LEN], int dead,
                       int n)
{
    uint8_t(*del)[SHA256_LEN] = malloc((size_t)(dead ? dead : 1) * SHA256_LEN);
    if (!del)
        return -ENOMEM;
    int nd = 0, keep = 0;
    pthread_mutex_lock(&g->pins_lock);
    for (int i = 0; i < dead; i++)
        if (may_delete(g, p, h[i]))
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

/* Lists up to max queued hashes after p->after (from the first when the
 * pass has not started): a pass walks past the ones left waiting. */
static int list_queue(struct gc *g, struct pass *p, uint8_t (*out)[SHA256_LEN], int max)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    int rc = meta_txn_read(g->ms, &txn);
    if (rc)
        return rc;
    rc = mdb_cursor_open(txn, g->ms->dbi[META_DB_GC], &cur);
    if (rc) {
        mdb_txn_abort(txn);
        return meta_err(rc);
    }
    MDB_val k = {SHA256_LEN, p->after}, d;
    int n = 0;
    rc = mdb_cursor_get(cur, &k, &d, p->started ? MDB_SET_RANGE : MDB_FIRST);
    if (!rc && p->started && k.mv_size == SHA256_LEN && !memcmp(k.mv_data, p->after, SHA256_LEN))
        rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT);
    for (; rc == 0 && n < max; rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT))
        if (k.mv_size == SHA256_LEN)
            memcpy(out[n++], k.mv_data, SHA256_LEN);
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    if (rc && rc != MDB_NOTFOUND)
        return meta_err(rc);
    if (n) {
        memcpy(p->after, out[n - 1], SHA256_LEN);
        p->started = true;
    }
    return n;
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

/* One round of a pass: returns how many hashes it listed, or -errno. */
static int collect_round(struct gc *g, struct pass *p, uint8_t (*h)[SHA256_LEN])
{
    int n = list_queue(g, p, h, GC_ROUND);
    if (n <= 0)
        return n;
    int dead = sort_dead(g, h, n);
    if (dead < 0)
        return dead;
    int settle = delete_dead(g, p, h, dead, n);
    if (settle < 0)
        return settle;
    int rc = settle ? unqueue(g, h, settle) : 0;
    return rc ? rc : n;
}

/* Queues the listed chunks that nothing references (moved to the front of h). */
static int queue_strays(struct gc *g, uint8_t (*h)[SHA256_LEN], int n)
{
    MDB_txn *txn;
    int rc = meta_txn_read(g->ms, &txn);
    if (rc)
        return rc;
    int strays = 0;
    for (int i = 0; i < n && !rc; i++) {
        uint64_t count;
        rc = meta_ref_get(g->ms, txn, h[i], &count);
        if (!rc && count == 0)
            memcpy(h[strays++], h[i], SHA256_LEN);
    }
    mdb_txn_abort(txn);
    if (rc || !strays)
        return rc;
    rc = meta_txn_write(g->ms, &txn);
    if (rc)
        return rc;
    for (int i = 0; i < strays && !rc; i++)
        rc = meta_gc_add(g->ms, txn, h[i]);
    if (rc) {
        mdb_txn_abort(txn);
        return rc;
    }
    return meta_err(mdb_txn_commit(txn));
}

/* Queues the unreferenced chunks of failed commits (gc_unpin_unused); asks
 * for a sweep when some were not kept or cannot be queued. */
static void queue_unused(struct gc *g, uint8_t (*h)[SHA256_LEN])
{
    pthread_mutex_lock(&g->pins_lock);
    uint8_t(*list)[SHA256_LEN] = g->unused;
    size_t n = g->n_unused;
    bool dropped = g->unused_dropped;
    g->unused = NULL;
    g->n_unused = g->cap_unused = 0;
    g->unused_dropped = false;
    pthread_mutex_unlock(&g->pins_lock);
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i += GC_ROUND) {
        int k = n - i < GC_ROUND ? (int)(n - i) : GC_ROUND;
        memcpy(h, list[i], (size_t)k * SHA256_LEN);
        rc = queue_strays(g, h, k);
    }
    free(list);
    if (rc)
        log_warn("gc: cannot queue the chunks of failed commits (%s); a sweep will", strerror(-rc));
    if ((rc || dropped) && !g->sweeping)
        g->next_sweep_ms = 0;
}

/* One slice of the sweep for strays (gc.h), when one is due or under way. */
static void sweep_slice(struct gc *g, uint8_t (*h)[SHA256_LEN], uint64_t now)
{
    if (!g->sweeping && now < g->next_sweep_ms)
        return;
    if (!g->sweeping) {
        g->sweeping = true;
        g->sweep_started = false;
    }
    int n = chunk_store_list(g->cs, g->sweep_started ? g->sweep_after : NULL, h, GC_ROUND);
    uint8_t last[SHA256_LEN];
    if (n > 0)
        memcpy(last, h[n - 1], SHA256_LEN); /* queue_strays reorders h */
    int rc = n > 0 ? queue_strays(g, h, n) : n;
    if (rc < 0) {
        log_warn("gc: sweep for unreferenced chunks failed (%s); retried later", strerror(-rc));
        return;
    }
    if (n == GC_ROUND) {
        memcpy(g->sweep_after, last, SHA256_LEN);
        g->sweep_started = true;
        return;
    }
    g->sweeping = false;
    g->next_sweep_ms = now + GC_SWEEP_MS;
}

/* Without a grace, every commit may queue chunks to delete at once, and a
 * call drains the queue. With one, nothing can go sooner than grace after it
 * was queued, so a pass starts every quarter of it, and a call does at most
 * GC_PASS_ROUNDS rounds of it: entries left waiting cost the apply thread
 * little, whatever their number. */
void gc_collect(void *arg)
{
    struct gc *g = arg;
    uint64_t now = gc_now_ms(), grace = __atomic_load_n(&g->grace_ms, __ATOMIC_RELAXED);
    pthread_mutex_lock(&g->pins_lock);
    bool unused = g->n_unused || g->unused_dropped;
    pthread_mutex_unlock(&g->pins_lock);
    bool sweep_due = g->sweeping || now >= g->next_sweep_ms;
    if (!unused && !sweep_due && !g->in_pass && grace && now < g->next_pass_ms)
        return;
    uint8_t(*h)[SHA256_LEN] = malloc(GC_ROUND * SHA256_LEN);
    if (!h)
        return;
    if (unused)
        queue_unused(g, h);
    sweep_slice(g, h, now);
    if (!g->in_pass && grace && now < g->next_pass_ms) {
        free(h);
        return;
    }
    if (!g->in_pass)
        g->pass = (struct pass){.started = false};
    g->in_pass = true;
    g->pass.now_ms = now;
    g->pass.grace_ms = grace;
    int rc, rounds = 0;
    do
        rc = collect_round(g, &g->pass, h);
    while (rc == GC_ROUND && (!grace || ++rounds < GC_PASS_ROUNDS));
    free(h);
    if (rc == GC_ROUND)
        return; /* the pass goes on at the next call */
    if (rc < 0)
        log_warn("gc: collection failed (%s); retried after the next commit", strerror(-rc));
    else
        gc_dead_next_pass(&g->dead);
    g->in_pass = false;
    g->next_pass_ms = now + grace / 4;
}

int gc_open(struct meta_store *ms, struct chunk_store *cs, struct gc **out)
{
    struct gc *g = calloc(1, sizeof(*g));
    if (!g)
        return -ENOMEM;
    g->ms = ms;
    g->cs = cs;
    int rc = gc_touches_init(&g->touches);
    if (!rc && (rc = gc_dead_init(&g->dead)))
        gc_touches_free(&g->touches);
    if (rc) {
        free(g);
        return rc;
    }
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
    free(g->unused);
    pthread_mutex_destroy(&g->pins_lock);
    gc_touches_free(&g->touches);
    gc_dead_free(&g->dead);
    free(g);
}

uint64_t gc_deleted(struct gc *g)
{
    return __atomic_load_n(&g->deleted, __ATOMIC_RELAXED);
}
