#include "fs/core/atime_queue.h"

#include <errno.h>
#include <string.h>

static bool time_before(const struct meta_time *a, const struct meta_time *b)
{
    return a->sec < b->sec || (a->sec == b->sec && a->nsec < b->nsec);
}

static int find(const struct atime_queue *q, uint64_t ino)
{
    for (uint32_t i = 0; i < q->n; i++)
        if (q->e[i].ino == ino)
            return (int)i;
    return -1;
}

/* Keeps the order: the thread submits the oldest first, so none waits
 * while newer ones keep arriving. */
static void remove_at(struct atime_queue *q, uint32_t i)
{
    q->n--;
    memmove(&q->e[i], &q->e[i + 1], (q->n - i) * sizeof(q->e[0]));
    __atomic_store_n(&q->n_atomic, q->n, __ATOMIC_RELEASE);
}

static void *atime_loop(void *arg)
{
    pthread_setname_np(pthread_self(), "qfs-atime"); /* for top -H, perf, gdb */
    struct atime_queue *q = arg;
    pthread_mutex_lock(&q->lock);
    for (;;) {
        while (q->n == 0 && !q->stopped)
            pthread_cond_wait(&q->cond, &q->lock);
        if (q->n == 0)
            break;
        struct atime_entry e = q->e[0];
        __atomic_store_n(&q->busy_ino, e.ino, __ATOMIC_RELEASE); /* before n: take() */
        remove_at(q, 0);
        pthread_mutex_unlock(&q->lock);
        q->submit(q->ctx, e.ino, &e.t); /* refused: dropped (atime_queue.h) */
        pthread_mutex_lock(&q->lock);
        __atomic_store_n(&q->busy_ino, 0, __ATOMIC_RELEASE);
        pthread_cond_broadcast(&q->done);
    }
    pthread_mutex_unlock(&q->lock);
    return NULL;
}

void atime_queue_init(struct atime_queue *q, atime_submit_fn submit, void *ctx)
{
    q->submit = submit;
    q->ctx = ctx;
    q->n = q->n_atomic = 0;
    q->busy_ino = 0;
    q->started = q->stopped = false;
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->cond, NULL);
    pthread_cond_init(&q->done, NULL);
}

int atime_queue_add(struct atime_queue *q, uint64_t ino, const struct meta_time *t)
{
    int rc = 0;
    pthread_mutex_lock(&q->lock);
    int i = find(q, ino);
    if (q->stopped) {
        rc = -ESHUTDOWN;
    } else if (i >= 0) {
        if (time_before(&q->e[i].t, t))
            q->e[i].t = *t;
    } else if (q->n == ATIME_QUEUE_MAX) {
        rc = -ENOSPC;
    } else if (!q->started && pthread_create(&q->thread, NULL, atime_loop, q) != 0) {
        rc = -EAGAIN; /* no thread: the caller submits */
    } else {
        q->started = true;
        q->e[q->n++] = (struct atime_entry){ino, *t};
        __atomic_store_n(&q->n_atomic, q->n, __ATOMIC_RELEASE);
        pthread_cond_signal(&q->cond);
    }
    pthread_mutex_unlock(&q->lock);
    return rc;
}

/* Also waits while the thread submits ino's update: the caller is about to
 * read or set the attributes, and must see that update applied. */
bool atime_queue_take(struct atime_queue *q, uint64_t ino, struct meta_time *t)
{
    if (__atomic_load_n(&q->n_atomic, __ATOMIC_ACQUIRE) == 0 &&
        __atomic_load_n(&q->busy_ino, __ATOMIC_ACQUIRE) != ino)
        return false; /* the common case: a stat with nothing queued */
    pthread_mutex_lock(&q->lock);
    while (q->busy_ino == ino)
        pthread_cond_wait(&q->done, &q->lock);
    int i = find(q, ino);
    if (i >= 0) {
        *t = q->e[i].t;
        remove_at(q, (uint32_t)i);
    }
    pthread_mutex_unlock(&q->lock);
    return i >= 0;
}

bool atime_queue_pending(struct atime_queue *q, uint64_t ino)
{
    if (__atomic_load_n(&q->n_atomic, __ATOMIC_ACQUIRE) == 0 &&
        __atomic_load_n(&q->busy_ino, __ATOMIC_ACQUIRE) != ino)
        return false;
    pthread_mutex_lock(&q->lock);
    bool pending = q->busy_ino == ino || find(q, ino) >= 0;
    pthread_mutex_unlock(&q->lock);
    return pending;
}

void atime_queue_stop(struct atime_queue *q)
{
    pthread_mutex_lock(&q->lock);
    bool started = q->started && !q->stopped;
    q->stopped = true;
    pthread_cond_broadcast(&q->cond);
    pthread_mutex_unlock(&q->lock);
    if (started)
        pthread_join(q->thread, NULL);
}

void atime_queue_destroy(struct atime_queue *q)
{
    atime_queue_stop(q);
    pthread_mutex_destroy(&q->lock);
    pthread_cond_destroy(&q->cond);
    pthread_cond_destroy(&q->done);
}
