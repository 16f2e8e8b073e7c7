#include "fs/core/sequencer.h"

#include "common/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* One blocked caller; lives on its stack. */
struct waiter {
    const struct cmd *c;
    struct apply_result *res;
    int rc;
    bool done;
    struct waiter *next;
};

struct sequencer {
    struct meta_store *ms;
    seq_after_fn after;
    void *after_ctx;
    pthread_t thread;
    pthread_mutex_t lock; /* guards head, tail, stop, applied and every waiter's done/rc */
    pthread_cond_t work;  /* signalled when a waiter is queued or stop is set */
    pthread_cond_t done;  /* broadcast after each batch */
    struct waiter *head, *tail;
    bool stop;
    uint64_t applied;
    int since_after; /* batches since the after hook last ran (apply thread only) */
};

/* Applies the batch in one transaction; each waiter gets rc and its result. */
static void apply_waiters(struct sequencer *s, struct waiter **batch, int n, uint64_t *applied)
{
    struct apply_item items[SEQ_BATCH_MAX];
    for (int i = 0; i < n; i++)
        items[i] = (struct apply_item){batch[i]->c, batch[i]->res};
    int rc = apply_batch(s->ms, items, n, applied);
    for (int i = 0; i < n; i++)
        batch[i]->rc = rc;
}

static int take_batch(struct sequencer *s, struct waiter **batch)
{
    int n = 0;
    while (s->head && n < SEQ_BATCH_MAX) {
        batch[n++] = s->head;
        s->head = s->head->next;
    }
    if (!s->head)
        s->tail = NULL;
    return n;
}

static void *apply_thread(void *arg)
{
    pthread_setname_np(pthread_self(), "qfs-apply"); /* for top -H, perf, gdb */
    struct sequencer *s = arg;
    struct waiter *batch[SEQ_BATCH_MAX];
    pthread_mutex_lock(&s->lock);
    for (;;) {
        while (!s->head && !s->stop)
            pthread_cond_wait(&s->work, &s->lock);
        if (!s->head && s->stop)
            break;
        int n = take_batch(s, batch);
        uint64_t applied = s->applied;
        pthread_mutex_unlock(&s->lock);
        apply_waiters(s, batch, n, &applied);
        pthread_mutex_lock(&s->lock);
        s->applied = applied;
        for (int i = 0; i < n; i++)
            batch[i]->done = true;
        pthread_cond_broadcast(&s->done);
        /* between batches when idle, and at least every 16 under load */
        if (s->after && (!s->head || ++s->since_after >= 16)) {
            s->since_after = 0;
            pthread_mutex_unlock(&s->lock);
            s->after(s->after_ctx);
            pthread_mutex_lock(&s->lock);
        }
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

int sequencer_submit(struct sequencer *s, const struct cmd *c, struct apply_result *res)
{
    struct waiter w = {.c = c, .res = res};
    pthread_mutex_lock(&s->lock);
    if (s->stop) {
        pthread_mutex_unlock(&s->lock);
        return -ESHUTDOWN;
    }
    if (s->tail)
        s->tail->next = &w;
    else
        s->head = &w;
    s->tail = &w;
    pthread_cond_signal(&s->work);
    while (!w.done)
        pthread_cond_wait(&s->done, &s->lock);
    pthread_mutex_unlock(&s->lock);
    return w.rc;
}

static int load_applied(struct sequencer *s)
{
    MDB_txn *txn;
    int rc = meta_txn_read(s->ms, &txn);
    if (rc)
        return rc;
    rc = meta_counter_get(s->ms, txn, "applied", &s->applied);
    mdb_txn_abort(txn);
    return rc;
}

int sequencer_start(struct meta_store *ms, seq_after_fn after, void *ctx, struct sequencer **out)
{
    struct sequencer *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->ms = ms;
    s->after = after;
    s->after_ctx = ctx;
    int rc = load_applied(s);
    if (rc) {
        free(s);
        return rc;
    }
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->work, NULL);
    pthread_cond_init(&s->done, NULL);
    rc = -pthread_create(&s->thread, NULL, apply_thread, s);
    if (rc) {
        pthread_mutex_destroy(&s->lock);
        pthread_cond_destroy(&s->work);
        pthread_cond_destroy(&s->done);
        free(s);
        return rc;
    }
    *out = s;
    return 0;
}

void sequencer_stop(struct sequencer *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->lock);
    s->stop = true;
    pthread_cond_signal(&s->work);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->thread, NULL);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->work);
    pthread_cond_destroy(&s->done);
    free(s);
}

uint64_t sequencer_applied(struct sequencer *s)
{
    pthread_mutex_lock(&s->lock);
    uint64_t v = s->applied;
    pthread_mutex_unlock(&s->lock);
    return v;
}

static int ops_submit(void *impl, const struct cmd *c, struct apply_result *res)
{
    return sequencer_submit(impl, c, res);
}

static uint64_t ops_applied(void *impl)
{
    return sequencer_applied(impl);
}

const struct orderer_ops sequencer_ops = {ops_submit, ops_applied};
