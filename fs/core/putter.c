#include "fs/core/putter.h"

#include <errno.h>

/* A full disk may be space an unlink freed that the GC has not deleted yet:
 * on_full lets it run, then the batch is tried once more. */
static int put(struct putter *p, const struct chunk_ref *refs, size_t n)
{
    int rc = chunk_store_put_batch(p->cs, refs, n);
    if (rc == -ENOSPC && p->on_full && p->on_full(p->full_ctx) == 0)
        rc = chunk_store_put_batch(p->cs, refs, n);
    return rc;
}

static void *put_loop(void *arg)
{
    pthread_setname_np(pthread_self(), "qfs-putter"); /* for top -H, perf, gdb */
    struct putter *p = arg;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->busy && !p->stop)
            pthread_cond_wait(&p->cond, &p->lock);
        if (!p->busy)
            break;
        const struct chunk_ref *refs = p->refs;
        size_t n = p->n;
        pthread_mutex_unlock(&p->lock);
        int rc = put(p, refs, n);
        pthread_mutex_lock(&p->lock);
        if (rc && !p->rc)
            p->rc = rc;
        p->busy = false;
        pthread_cond_broadcast(&p->cond);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

void putter_init(struct putter *p, struct chunk_store *cs, int (*on_full)(void *), void *ctx)
{
    *p = (struct putter){.cs = cs, .on_full = on_full, .full_ctx = ctx};
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->cond, NULL);
}

int putter_wait(struct putter *p)
{
    pthread_mutex_lock(&p->lock);
    while (p->busy)
        pthread_cond_wait(&p->cond, &p->lock);
    int rc = p->rc;
    pthread_mutex_unlock(&p->lock);
    return rc;
}

int putter_start(struct putter *p, const struct chunk_ref *refs, size_t n)
{
    int rc = putter_wait(p);
    if (rc)
        return rc;
    if (!p->started) {
        rc = -pthread_create(&p->thread, NULL, put_loop, p);
        if (rc) /* no thread: put synchronously */
            return put(p, refs, n);
        p->started = true;
    }
    pthread_mutex_lock(&p->lock);
    p->refs = refs;
    p->n = n;
    p->busy = true;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
    return 0;
}

void putter_destroy(struct putter *p)
{
    putter_wait(p);
    if (p->started) {
        pthread_mutex_lock(&p->lock);
        p->stop = true;
        pthread_cond_broadcast(&p->cond);
        pthread_mutex_unlock(&p->lock);
        pthread_join(p->thread, NULL);
    }
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->cond);
}
