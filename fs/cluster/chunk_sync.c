/* chunk_sync.c - background anti-entropy puller (chunk_sync.h). */
#include "fs/cluster/chunk_sync.h"

#include "common/log.h"
#include "fs/chunk/chunker.h"
#include "fs/store/meta_map.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BATCH 256 /* hashes per pull of new work, and per scan page */

struct ent {
    uint8_t hash[SHA256_LEN];
    uint32_t len;      /* estimated chunk size, for the missing-bytes figure */
    uint32_t noted_ms; /* now_ms() when noted, truncated (compared by difference) */
    uint64_t origin;   /* the noting command's; NO_ORIGIN from a scan */
};

#define NO_ORIGIN UINT64_MAX

struct chunk_sync {
    struct chunk_sync_config cfg;
    pthread_mutex_t lock; /* guards q*, q_head, q_n, held, rescan_*, stop */
    pthread_cond_t wake;  /* note, rescan, stop */
    struct ent *q;        /* ring of cfg.queue_cap */
    size_t q_head, q_n;
    bool rescan_pending;
    uint64_t rescan_at_ms;
    bool stop, started;
    size_t held; /* entries the worker took from the queue and is checking */
    pthread_t thread;
    /* The worker's own */
    struct ent *retry; /* cfg.retry_cap: checked absent, pull failed */
    size_t n_retry;
    uint64_t retry_at_ms, retry_bytes;
    int backoff_ms;
    struct ent *work;            /* BATCH */
    uint8_t (*hbuf)[SHA256_LEN]; /* retry_cap + BATCH: hashes handed to pull */
    /* Statistics (atomic) */
    uint64_t st_missing, st_missing_bytes, st_fetched, st_fetched_bytes, st_failures, st_scans;
    uint64_t st_dropped;
    bool st_scanning;
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void set_u64(uint64_t *p, uint64_t v)
{
    __atomic_store_n(p, v, __ATOMIC_RELAXED);
}

static void add_u64(uint64_t *p, uint64_t v)
{
    __atomic_add_fetch(p, v, __ATOMIC_RELAXED);
}

/* Called with lock held. */
static void schedule_rescan(struct chunk_sync *s, uint64_t at_ms)
{
    if (!s->rescan_pending || at_ms < s->rescan_at_ms)
        s->rescan_at_ms = at_ms;
    s->rescan_pending = true;
    __atomic_store_n(&s->st_scanning, true, __ATOMIC_RELAXED);
    pthread_cond_signal(&s->wake);
}

void chunk_sync_note(struct chunk_sync *s, const struct cmd *c)
{
    if (c->op != CMD_CONTENT || c->n_ext == 0 ||
        (s->cfg.skip_self && c->origin == s->cfg.self_origin))
        return;
    uint32_t noted = (uint32_t)now_ms();
    pthread_mutex_lock(&s->lock);
    bool was_empty = s->q_n == 0;
    for (uint32_t i = 0; i < c->n_ext; i++) {
        if (s->q_n == s->cfg.queue_cap) {
            schedule_rescan(s, now_ms() + (uint64_t)s->cfg.rescan_delay_ms);
            break;
        }
        struct meta_extent e;
        cmd_extent_get(c, i, &e);
        struct ent *last = &s->q[(s->q_head + s->q_n + s->cfg.queue_cap - 1) % s->cfg.queue_cap];
        if (s->q_n && !memcmp(last->hash, e.hash, SHA256_LEN))
            continue; /* runs of one chunk (zeros, repeated blocks) */
        struct ent *d = &s->q[(s->q_head + s->q_n++) % s->cfg.queue_cap];
        memcpy(d->hash, e.hash, SHA256_LEN);
        d->len = e.coff + e.len;
        d->noted_ms = noted;
        d->origin = c->origin;
    }
    if (was_empty && s->q_n)
        pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->lock);
}

void chunk_sync_rescan(struct chunk_sync *s)
{
    pthread_mutex_lock(&s->lock);
    schedule_rescan(s, now_ms());
    pthread_mutex_unlock(&s->lock);
}

static void publish_missing(struct chunk_sync *s, size_t inflight, uint64_t inflight_bytes)
{
    set_u64(&s->st_missing, s->n_retry + inflight);
    set_u64(&s->st_missing_bytes, s->retry_bytes + inflight_bytes);
}

/* True when no applied command references the chunk any more: a file
 * deleted or overwritten since it was noted. Its peers collect it too, so
 * pulling it would fail for ever and hold a retry slot. An error says
 * false: let the pull decide. */
static bool unreferenced(struct chunk_sync *s, MDB_txn *txn, const uint8_t hash[SHA256_LEN])
{
    uint64_t refs;
    return txn && meta_ref_get(s->cfg.ms, txn, hash, &refs) == 0 && refs == 0;
}

/* Keeps the entries of e[0, n) still needed (absent here and referenced) at
 * the front: their count. Notes come after their batch committed
 * (log_apply.c), so a read transaction started here sees the references
 * they add. */
static size_t keep_absent(struct chunk_sync *s, struct ent *e, size_t n)
{
    MDB_txn *txn = NULL;
    if (meta_txn_read(s->cfg.ms, &txn))
        txn = NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (chunk_store_has(s->cfg.cs, e[i].hash) == 1)
            continue; /* an error counts as absent: let pull decide */
        if (unreferenced(s, txn, e[i].hash))
            add_u64(&s->st_dropped, 1);
        else
            e[k++] = e[i];
    }
    if (txn)
        mdb_txn_abort(txn);
    return k;
}

/* Pulls e[0, n) (absent when checked); leaves the still-absent ones at the
 * front and returns their count. Only what the pull says it received counts
 * as fetched: while it runs, pushes deliver many of the same chunks. */
static size_t pull_ents(struct chunk_sync *s, struct ent *e, size_t n)
{
    for (size_t i = 0; i < n; i++)
        memcpy(s->hbuf[i], e[i].hash, SHA256_LEN);
    struct repl_fetched got = {0};
    long rc = s->cfg.pull(s->cfg.pull_ctx, (const uint8_t(*)[SHA256_LEN])s->hbuf, n,
                          s->cfg.pull_timeout_ms, &got);
    add_u64(&s->st_fetched, got.chunks);
    add_u64(&s->st_fetched_bytes, got.bytes);
    size_t left = keep_absent(s, e, n);
    if (left) {
        add_u64(&s->st_failures, 1);
        log_debug("chunk sync: %zu of %zu chunks still missing (pull: %ld)", left, n, rc);
    }
    return left;
}

/* Moves e[0, n) into the retry list (without duplicates). False when it is
 * full: what did not fit is left to a rescan. */
static bool to_retry(struct chunk_sync *s, const struct ent *e, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t j = 0;
        while (j < s->n_retry && memcmp(s->retry[j].hash, e[i].hash, SHA256_LEN) != 0)
            j++;
        if (j < s->n_retry)
            continue;
        if (s->n_retry == s->cfg.retry_cap)
            return false;
        s->retry[s->n_retry++] = e[i];
        s->retry_bytes += e[i].len;
    }
    return true;
}

static void backoff_after(struct chunk_sync *s, bool failed)
{
    if (!failed) {
        s->backoff_ms = s->cfg.backoff_min_ms;
        return;
    }
    s->retry_at_ms = now_ms() + (uint64_t)s->backoff_ms;
    s->backoff_ms =
        s->backoff_ms * 2 < s->cfg.backoff_max_ms ? s->backoff_ms * 2 : s->cfg.backoff_max_ms;
}

/* True when e's chunk is likely on its way in a push: its command's origin
 * is still pushing to this node, no peer gave its push up, and it was noted
 * less than defer_max_ms ago. *cache_origin and *cache_pushing remember the
 * last origin asked. */
static bool deferrable(struct chunk_sync *s, const struct ent *e, uint64_t now,
                       uint64_t *cache_origin, bool *cache_pushing)
{
    if (!s->cfg.pushing || e->origin == NO_ORIGIN ||
        (uint32_t)now - e->noted_ms >= (uint32_t)s->cfg.defer_max_ms)
        return false;
    if (s->cfg.given_up && s->cfg.given_up(s->cfg.pushing_ctx, e->hash))
        return false;
    if (e->origin != *cache_origin) {
        *cache_origin = e->origin;
        *cache_pushing = s->cfg.pushing(s->cfg.pushing_ctx, e->origin);
    }
    return *cache_pushing;
}

/* Moves to the front of e[0, n) up to room deferrable entries: their count. */
static size_t split_deferred(struct chunk_sync *s, struct ent *e, size_t n, size_t room,
                             uint64_t now)
{
    uint64_t origin = NO_ORIGIN;
    bool pushing = false;
    size_t k = 0;
    for (size_t i = 0; i < n && k < room; i++) {
        if (!deferrable(s, &e[i], now, &origin, &pushing))
            continue;
        struct ent t = e[k];
        e[k++] = e[i];
        e[i] = t;
    }
    return k;
}

/* Deferred entries wait in the retry list: look again within defer_check_ms. */
static void defer_check(struct chunk_sync *s, uint64_t now)
{
    uint64_t at = now + (uint64_t)s->cfg.defer_check_ms;
    if (s->retry_at_ms <= now || s->retry_at_ms > at)
        s->retry_at_ms = at;
}

/* Deferred entries may take half the retry list: the rest stays for chunks
 * that pulls failed to get. */
static size_t defer_room(const struct chunk_sync *s)
{
    size_t half = s->cfg.retry_cap / 2;
    return s->n_retry < half ? half - s->n_retry : 0;
}

/* New work (from the queue or a scan): check, defer what a push is bringing,
 * pull the rest unless backing off, keep what is still missing. False when
 * the retry list overflowed. */
static bool process(struct chunk_sync *s, struct ent *e, size_t n)
{
    n = keep_absent(s, e, n);
    if (!n)
        return true;
    uint64_t bytes = 0;
    for (size_t i = 0; i < n; i++)
        bytes += e[i].len;
    publish_missing(s, n, bytes);
    uint64_t now = now_ms();
    size_t nd = split_deferred(s, e, n, defer_room(s), now), m = n - nd;
    bool backing_off = s->n_retry && now < s->retry_at_ms;
    if (!backing_off && m) {
        m = pull_ents(s, e + nd, m);
        backoff_after(s, m != 0);
    }
    if (nd)
        defer_check(s, now);
    bool fit = to_retry(s, e, nd + m);
    publish_missing(s, 0, 0);
    return fit;
}

static void retry_round(struct chunk_sync *s)
{
    size_t left = keep_absent(s, s->retry, s->n_retry); /* pushed or deleted since */
    uint64_t now = now_ms();
    size_t nd = split_deferred(s, s->retry, left, left, now), m = left - nd;
    if (m) {
        m = pull_ents(s, s->retry + nd, m);
        backoff_after(s, m != 0);
    } else if (!left) {
        backoff_after(s, false); /* all here: the next failure starts afresh */
    }
    s->n_retry = nd + m;
    s->retry_bytes = 0;
    for (size_t i = 0; i < s->n_retry; i++)
        s->retry_bytes += s->retry[i].len;
    if (nd)
        defer_check(s, now);
    publish_missing(s, 0, 0);
}

/* Lists up to BATCH referenced chunks after *after (from the first when
 * !*started) into s->work: the count, or -errno. */
static int scan_page(struct chunk_sync *s, uint8_t *after, bool *started)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    int rc = meta_txn_read(s->cfg.ms, &txn);
    if (rc)
        return rc;
    rc = mdb_cursor_open(txn, s->cfg.ms->dbi[META_DB_REFS], &cur);
    if (rc) {
        mdb_txn_abort(txn);
        return meta_err(rc);
    }
    MDB_val k = {SHA256_LEN, after}, d;
    int n = 0;
    rc = mdb_cursor_get(cur, &k, &d, *started ? MDB_SET_RANGE : MDB_FIRST);
    if (!rc && *started && k.mv_size == SHA256_LEN && !memcmp(k.mv_data, after, SHA256_LEN))
        rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT);
    for (; rc == 0 && n < BATCH; rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
        if (k.mv_size != SHA256_LEN)
            continue;
        memcpy(s->work[n].hash, k.mv_data, SHA256_LEN);
        s->work[n].origin = NO_ORIGIN;
        s->work[n].noted_ms = 0;
        s->work[n++].len = CHUNK_AVG; /* the map knows the size; the count does not */
    }
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    if (rc && rc != MDB_NOTFOUND)
        return meta_err(rc);
    if (n) {
        memcpy(after, s->work[n - 1].hash, SHA256_LEN);
        *started = true;
    }
    return n;
}

static bool stopping(struct chunk_sync *s)
{
    pthread_mutex_lock(&s->lock);
    bool stop = s->stop;
    pthread_mutex_unlock(&s->lock);
    return stop;
}

/* A full scan; stopped early (and scheduled again) when the retry list
 * fills up or a page cannot be read. */
static void scan(struct chunk_sync *s)
{
    uint8_t after[SHA256_LEN];
    bool started = false, full = false;
    int n;
    do {
        n = scan_page(s, after, &started);
        full = n > 0 && !process(s, s->work, (size_t)n);
    } while (n == BATCH && !full && !stopping(s));
    if (n < 0 || full) {
        if (full)
            log_warn("chunk sync: retry list full (%zu chunks the peers have not sent yet); "
                     "scan paused, scheduled again",
                     s->n_retry);
        else
            log_warn("chunk sync: scan stopped (%s); scheduled again", strerror(-n));
        pthread_mutex_lock(&s->lock);
        schedule_rescan(s, now_ms() + (uint64_t)s->cfg.backoff_max_ms);
        pthread_mutex_unlock(&s->lock);
        return;
    }
    add_u64(&s->st_scans, 1);
}

/* Takes up to BATCH queued entries into s->work (lock held). */
static size_t take_queued(struct chunk_sync *s)
{
    size_t n = s->q_n < BATCH ? s->q_n : BATCH;
    for (size_t i = 0; i < n; i++)
        s->work[i] = s->q[(s->q_head + i) % s->cfg.queue_cap];
    s->q_head = (s->q_head + n) % s->cfg.queue_cap;
    s->q_n -= n;
    return n;
}

static void wait_until(struct chunk_sync *s, uint64_t at_ms)
{
    if (at_ms == UINT64_MAX) {
        pthread_cond_wait(&s->wake, &s->lock);
        return;
    }
    struct timespec ts = {.tv_sec = (time_t)(at_ms / 1000),
                          .tv_nsec = (long)(at_ms % 1000) * 1000000};
    pthread_cond_timedwait(&s->wake, &s->lock, &ts);
}

/* One step of the worker (lock held on entry and exit): false to wait. */
static bool step(struct chunk_sync *s, uint64_t *wake_at)
{
    uint64_t now = now_ms();
    bool retry_room = s->n_retry < s->cfg.retry_cap;
    *wake_at = UINT64_MAX;
    if (s->rescan_pending && now >= s->rescan_at_ms && retry_room) {
        s->rescan_pending = false;
        pthread_mutex_unlock(&s->lock);
        scan(s);
        pthread_mutex_lock(&s->lock);
        __atomic_store_n(&s->st_scanning, s->rescan_pending, __ATOMIC_RELAXED);
        return true;
    }
    if (s->q_n && retry_room) {
        size_t n = take_queued(s);
        s->held = n;
        pthread_mutex_unlock(&s->lock);
        bool fit = process(s, s->work, n);
        pthread_mutex_lock(&s->lock);
        s->held = 0;
        if (!fit)
            schedule_rescan(s, now_ms() + (uint64_t)s->cfg.rescan_delay_ms);
        return true;
    }
    if (s->n_retry && now >= s->retry_at_ms) {
        pthread_mutex_unlock(&s->lock);
        retry_round(s);
        pthread_mutex_lock(&s->lock);
        return true;
    }
    if (s->rescan_pending)
        *wake_at = s->rescan_at_ms;
    if (s->n_retry && s->retry_at_ms < *wake_at)
        *wake_at = s->retry_at_ms;
    return false;
}

static void *worker(void *arg)
{
    pthread_setname_np(pthread_self(), "qfs-chunksync"); /* for top -H, perf, gdb */
    struct chunk_sync *s = arg;
    pthread_mutex_lock(&s->lock);
    while (!s->stop) {
        uint64_t wake_at;
        if (!step(s, &wake_at) && !s->stop)
            wait_until(s, wake_at);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

static void defaults(struct chunk_sync_config *c)
{
    if (!c->queue_cap)
        c->queue_cap = 65536;
    if (!c->retry_cap)
        c->retry_cap = 4096;
    if (c->backoff_min_ms <= 0)
        c->backoff_min_ms = 100;
    if (c->backoff_max_ms < c->backoff_min_ms)
        c->backoff_max_ms = c->backoff_min_ms > 10000 ? c->backoff_min_ms : 10000;
    if (c->pull_timeout_ms <= 0)
        c->pull_timeout_ms = 10000;
    if (c->rescan_delay_ms <= 0)
        c->rescan_delay_ms = 1000;
    if (c->defer_check_ms <= 0)
        c->defer_check_ms = 250;
    if (c->defer_max_ms <= 0)
        c->defer_max_ms = 10000;
}

int chunk_sync_create(const struct chunk_sync_config *cfg, struct chunk_sync **out)
{
    if (!cfg->ms || !cfg->cs || !cfg->pull)
        return -EINVAL;
    struct chunk_sync *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->cfg = *cfg;
    defaults(&s->cfg);
    s->backoff_ms = s->cfg.backoff_min_ms;
    s->q = calloc(s->cfg.queue_cap, sizeof(*s->q));
    s->retry = calloc(s->cfg.retry_cap, sizeof(*s->retry));
    s->work = calloc(BATCH, sizeof(*s->work));
    s->hbuf = calloc(s->cfg.retry_cap + BATCH, SHA256_LEN);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->wake, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&s->lock, NULL);
    if (!s->q || !s->retry || !s->work || !s->hbuf) {
        chunk_sync_destroy(s);
        return -ENOMEM;
    }
    *out = s;
    return 0;
}

int chunk_sync_start(struct chunk_sync *s)
{
    pthread_mutex_lock(&s->lock);
    schedule_rescan(s, 0); /* the startup scan */
    int rc = pthread_create(&s->thread, NULL, worker, s);
    s->started = rc == 0;
    pthread_mutex_unlock(&s->lock);
    return -rc;
}

void chunk_sync_stop(struct chunk_sync *s)
{
    pthread_mutex_lock(&s->lock);
    bool started = s->started;
    s->stop = true;
    s->started = false;
    pthread_cond_broadcast(&s->wake);
    pthread_mutex_unlock(&s->lock);
    if (started)
        pthread_join(s->thread, NULL);
}

void chunk_sync_destroy(struct chunk_sync *s)
{
    if (!s)
        return;
    chunk_sync_stop(s);
    pthread_cond_destroy(&s->wake);
    pthread_mutex_destroy(&s->lock);
    free(s->q);
    free(s->retry);
    free(s->work);
    free(s->hbuf);
    free(s);
}

void chunk_sync_get_stats(struct chunk_sync *s, struct chunk_sync_stats *out)
{
    pthread_mutex_lock(&s->lock);
    out->queued = s->q_n;
    out->queued += s->held; /* still unchecked, as far as a reader knows */
    pthread_mutex_unlock(&s->lock);
    out->missing_chunks = __atomic_load_n(&s->st_missing, __ATOMIC_RELAXED);
    out->missing_bytes = __atomic_load_n(&s->st_missing_bytes, __ATOMIC_RELAXED);
    out->fetched_chunks = __atomic_load_n(&s->st_fetched, __ATOMIC_RELAXED);
    out->fetched_bytes = __atomic_load_n(&s->st_fetched_bytes, __ATOMIC_RELAXED);
    out->pull_failures = __atomic_load_n(&s->st_failures, __ATOMIC_RELAXED);
    out->scans = __atomic_load_n(&s->st_scans, __ATOMIC_RELAXED);
    out->dropped = __atomic_load_n(&s->st_dropped, __ATOMIC_RELAXED);
    out->scanning = __atomic_load_n(&s->st_scanning, __ATOMIC_RELAXED);
}

bool chunk_sync_idle(struct chunk_sync *s)
{
    struct chunk_sync_stats st;
    chunk_sync_get_stats(s, &st);
    return !st.queued && !st.missing_chunks && !st.scanning;
}
