#include "fs/fuse/invalidate.h"

#include "common/log.h"
#include "net/clock.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define INVAL_QUEUE 16384
#define INVAL_RETRY 4096
#define RETRIES     3
#define STALE_SLOTS 65536 /* open addressing, linear probing; full at 3/4 */

/* Retry delays after the kernel said it had nothing cached (invalidate.h). */
static const int retry_ms[RETRIES] = {5, 50, 500};

struct inval_rec {
    uint64_t ino;
    uint8_t tries; /* retries done */
};

struct inval_retry {
    struct inval_rec r;
    uint64_t due_ms;
};

struct inval {
    struct fuse_session *se;
    pthread_t thread;
    pthread_mutex_t lock; /* guards every field below */
    pthread_cond_t work;  /* records queued, or stop */
    pthread_cond_t told_cond;
    struct inval_rec *q;
    uint32_t head, n;
    struct inval_retry *rq; /* records to tell again later; unordered */
    uint32_t rn;
    uint64_t *stale; /* inodes whose content changed since their last open here */
    uint32_t nstale;
    bool stale_overflow;   /* the set filled up: every file counts as stale from now on */
    uint64_t recorded;     /* every record up to this slot is queued */
    uint64_t told;         /* every record up to this slot reached the kernel */
    uint64_t pushed, done; /* records queued / passed to the kernel, ever */
    uint64_t dropped;
    bool stop;
    bool quiet; /* not mounted yet, or unmounting: records are dropped untold */
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Queues a record (lock held); returns its sequence number, 0 if dropped. */
static uint64_t push_locked(struct inval *iv, const struct inval_rec *rec)
{
    if (iv->n == INVAL_QUEUE) {
        iv->dropped++;
        return 0;
    }
    iv->q[(iv->head + iv->n++) % INVAL_QUEUE] = *rec;
    pthread_cond_signal(&iv->work);
    return ++iv->pushed;
}

/* The stale set (lock held): slot of ino, or of the empty slot to use. */
static uint32_t home_slot(uint64_t ino)
{
    return (uint32_t)((ino * 0x9E3779B97F4A7C15ull) >> 48) % STALE_SLOTS;
}

static uint32_t stale_slot(const struct inval *iv, uint64_t ino)
{
    uint32_t s = home_slot(ino);
    while (iv->stale[s] && iv->stale[s] != ino)
        s = (s + 1) % STALE_SLOTS;
    return s;
}

static void mark_stale(struct inval *iv, uint64_t ino)
{
    if (iv->stale_overflow)
        return;
    uint32_t s = stale_slot(iv, ino);
    if (iv->stale[s])
        return;
    if (iv->nstale >= STALE_SLOTS / 4 * 3) {
        iv->stale_overflow = true;
        log_warn("invalidate: more than %d files changed remotely and not opened here; "
                 "every open now drops the page cache",
                 STALE_SLOTS / 4 * 3);
        return;
    }
    iv->stale[s] = ino;
    iv->nstale++;
}

/* Backward-shift deletion keeps every probe chain unbroken. */
static void unmark_stale(struct inval *iv, uint32_t s)
{
    uint32_t next = (s + 1) % STALE_SLOTS;
    while (iv->stale[next]) {
        uint32_t h = home_slot(iv->stale[next]);
        /* next may move to s if its home is not in (s, next] cyclically */
        bool movable = s <= next ? (h <= s || h > next) : (h <= s && h > next);
        if (movable) {
            iv->stale[s] = iv->stale[next];
            s = next;
        }
        next = (next + 1) % STALE_SLOTS;
    }
    iv->stale[s] = 0;
    iv->nstale--;
}

bool inval_open_keep_cache(struct inval *iv, uint64_t ino)
{
    pthread_mutex_lock(&iv->lock);
    bool keep = !iv->stale_overflow;
    uint32_t s = stale_slot(iv, ino);
    if (iv->stale[s]) {
        keep = false;
        unmark_stale(iv, s);
    }
    pthread_mutex_unlock(&iv->lock);
    return keep;
}

/* The last queued record is for ino and not told yet (lock held): it will
 * reach the kernel after this change, so it covers it too. */
static bool queued_last(const struct inval *iv, uint64_t ino)
{
    if (!iv->n)
        return false;
    const struct inval_rec *last = &iv->q[(iv->head + iv->n - 1) % INVAL_QUEUE];
    return last->ino == ino && last->tries == 0;
}

void inval_inode(struct inval *iv, uint64_t slot, uint64_t ino)
{
    struct inval_rec r = {.ino = ino};
    (void)slot;
    pthread_mutex_lock(&iv->lock);
    mark_stale(iv, ino);
    if (!queued_last(iv, ino)) /* a create names its parent twice: inode and entry */
        push_locked(iv, &r);
    pthread_mutex_unlock(&iv->lock);
}

void inval_applied(struct inval *iv, uint64_t slot)
{
    pthread_mutex_lock(&iv->lock);
    iv->recorded = slot;
    pthread_cond_signal(&iv->work);
    pthread_mutex_unlock(&iv->lock);
}

/* Schedules r's next retry (lock held). One chain per inode: a retry
 * already waiting for it takes the earlier due time and the lower count of
 * retries done, so its next retry comes no later than either chain's and as
 * many follow as the longer one has left. A directory another node creates
 * files in held one chain per create until session 19: three notifications
 * the kernel answered ENOENT, per create. */
static void schedule_retry(struct inval *iv, const struct inval_rec *r)
{
    struct inval_retry next = {*r, now_ms() + (uint64_t)retry_ms[r->tries]};
    next.r.tries++;
    for (uint32_t i = 0; i < iv->rn; i++) {
        struct inval_retry *t = &iv->rq[i];
        if (t->r.ino != r->ino)
            continue;
        t->due_ms = t->due_ms < next.due_ms ? t->due_ms : next.due_ms;
        t->r.tries = t->r.tries < next.r.tries ? t->r.tries : next.r.tries;
        return;
    }
    if (iv->rn < INVAL_RETRY)
        iv->rq[iv->rn++] = next;
}

/* -ENOENT: the kernel had nothing cached: fine, but told again a few times
 * (retry_ms) in case a lookup reply read before the change is in flight. */
static void tell_kernel(struct inval *iv, const struct inval_rec *r)
{
    int rc = fuse_lowlevel_notify_inval_inode(iv->se, r->ino, -1, 0);
    if (rc == -ENOENT && r->tries < RETRIES) {
        pthread_mutex_lock(&iv->lock);
        schedule_retry(iv, r);
        pthread_mutex_unlock(&iv->lock);
    } else if (rc && rc != -ENOENT && rc != -ENOTCONN) {
        log_debug("invalidate ino %llu: %s", (unsigned long long)r->ino, strerror(-rc));
    }
}

/* Moves due retries to the queue (lock held); returns ms until the next one,
 * -1 if none is waiting. */
static int requeue_due(struct inval *iv)
{
    uint64_t now = now_ms(), next = UINT64_MAX;
    for (uint32_t i = 0; i < iv->rn;) {
        if (iv->rq[i].due_ms <= now && iv->n < INVAL_QUEUE) {
            iv->q[(iv->head + iv->n++) % INVAL_QUEUE] = iv->rq[i].r;
            iv->pushed++;
            iv->rq[i] = iv->rq[--iv->rn];
            continue;
        }
        if (iv->rq[i].due_ms < next)
            next = iv->rq[i].due_ms;
        i++;
    }
    return next == UINT64_MAX ? -1 : (int)(next > now ? next - now : 1);
}

static void idle_wait(struct inval *iv, int ms)
{
    if (ms < 0) {
        pthread_cond_wait(&iv->work, &iv->lock);
        return;
    }
    struct timespec dl;
    net_deadline(&dl, ms);
    pthread_cond_timedwait(&iv->work, &iv->lock, &dl);
}

static void *inval_main(void *arg)
{
    pthread_setname_np(pthread_self(), "qfs-invalidate"); /* for top -H, perf, gdb */
    struct inval *iv = arg;
    pthread_mutex_lock(&iv->lock);
    while (!iv->stop) {
        int next = requeue_due(iv);
        if (!iv->n) {
            iv->told = iv->recorded; /* queue empty: all recorded ones are told */
            pthread_cond_broadcast(&iv->told_cond);
            idle_wait(iv, next);
            continue;
        }
        struct inval_rec r = iv->q[iv->head];
        iv->head = (iv->head + 1) % INVAL_QUEUE;
        iv->n--;
        bool quiet = iv->quiet;
        pthread_mutex_unlock(&iv->lock);
        if (!quiet)
            tell_kernel(iv, &r);
        pthread_mutex_lock(&iv->lock);
        iv->done++;
        pthread_cond_broadcast(&iv->told_cond);
    }
    pthread_mutex_unlock(&iv->lock);
    return NULL;
}

int inval_attr_sync(struct inval *iv, uint64_t ino, int timeout_ms)
{
    struct inval_rec r = {.ino = ino, .tries = RETRIES};
    struct timespec dl;
    net_deadline(&dl, timeout_ms);
    int rc = 0;
    pthread_mutex_lock(&iv->lock);
    uint64_t seq = push_locked(iv, &r);
    while (seq && iv->done < seq && rc == 0)
        rc = pthread_cond_timedwait(&iv->told_cond, &iv->lock, &dl);
    pthread_mutex_unlock(&iv->lock);
    return !seq ? -ENOBUFS : rc ? -ETIMEDOUT : 0;
}

int inval_wait(struct inval *iv, uint64_t slot, int timeout_ms)
{
    struct timespec dl;
    net_deadline(&dl, timeout_ms);
    int rc = 0;
    pthread_mutex_lock(&iv->lock);
    while (iv->told < slot && rc == 0)
        rc = pthread_cond_timedwait(&iv->told_cond, &iv->lock, &dl);
    pthread_mutex_unlock(&iv->lock);
    return rc ? -ETIMEDOUT : 0;
}

uint64_t inval_dropped(struct inval *iv)
{
    pthread_mutex_lock(&iv->lock);
    uint64_t d = iv->dropped;
    pthread_mutex_unlock(&iv->lock);
    return d;
}

static void inval_free(struct inval *iv)
{
    free(iv->stale);
    free(iv->rq);
    free(iv->q);
    free(iv);
}

int inval_start(struct fuse_session *se, struct inval **out)
{
    struct inval *iv = calloc(1, sizeof(*iv));
    if (!iv)
        return -ENOMEM;
    iv->q = malloc(sizeof(*iv->q) * INVAL_QUEUE);
    iv->rq = malloc(sizeof(*iv->rq) * INVAL_RETRY);
    iv->stale = calloc(STALE_SLOTS, sizeof(*iv->stale));
    if (!iv->q || !iv->rq || !iv->stale) {
        inval_free(iv);
        return -ENOMEM;
    }
    iv->se = se;
    iv->quiet = true;
    pthread_mutex_init(&iv->lock, NULL);
    pthread_cond_init(&iv->work, NULL);
    pthread_cond_init(&iv->told_cond, NULL);
    int rc = -pthread_create(&iv->thread, NULL, inval_main, iv);
    if (rc) {
        inval_free(iv);
        return rc;
    }
    *out = iv;
    return 0;
}

void inval_mounted(struct inval *iv)
{
    pthread_mutex_lock(&iv->lock);
    iv->quiet = false;
    pthread_mutex_unlock(&iv->lock);
}

void inval_quiesce(struct inval *iv)
{
    if (!iv)
        return;
    pthread_mutex_lock(&iv->lock);
    iv->quiet = true;
    pthread_mutex_unlock(&iv->lock);
}

void inval_stop(struct inval *iv)
{
    if (!iv)
        return;
    pthread_mutex_lock(&iv->lock);
    iv->stop = true;
    pthread_cond_signal(&iv->work);
    pthread_mutex_unlock(&iv->lock);
    pthread_join(iv->thread, NULL);
    pthread_mutex_destroy(&iv->lock);
    pthread_cond_destroy(&iv->work);
    pthread_cond_destroy(&iv->told_cond);
    inval_free(iv);
}
