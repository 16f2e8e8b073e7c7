#include "fs/core/sequencer.h"

#include "common/log.h"
#include "fs/core/cmd_log.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A checkpoint is taken when the store says one is due, when the log holds
 * this much, and when the thread has been idle this long since a commit. */
#define SEQ_CKPT_LOG_BYTES ((uint64_t)16 << 20)
#define SEQ_CKPT_IDLE_MS   100

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
    /* Two logs in turn: when a checkpoint begins, batches go to the other
     * log, and the one left is dead once the checkpoint is durable (it then
     * holds only commands the store has). Apply thread only. */
    struct cmd_log *log[2];
    int cur;             /* the log batches go to */
    bool other_dead;     /* log[!cur] holds nothing the last durable checkpoint lacks */
    bool ckpt_in_flight; /* a checkpoint begun and not yet durable */
    uint64_t ckpt_begun; /* applied when it began */
    seq_after_fn after;
    void *after_ctx;
    pthread_t thread;
    /* guards head, tail, stop, applied, after_asked, after_done and every
     * waiter's done/rc */
    pthread_mutex_t lock;
    pthread_cond_t work; /* signalled when a waiter is queued, a run of the
                          * after hook asked for, or stop set */
    pthread_cond_t done; /* broadcast after each batch and each run of after */
    struct waiter *head, *tail;
    bool stop;
    uint64_t applied;
    /* sequencer_run_after(): runs asked for, and the last one a completed
     * run started after (a run serves the requests made before it began) */
    uint64_t after_asked, after_done;
    uint64_t ckpt_applied; /* apply thread: applied as of the last durable checkpoint */
    int since_after;       /* batches since the after hook last ran (apply thread only) */
};

/* Logs the batch (the one sync a mutation waits for), then applies it in
 * one transaction that does not sync; each waiter gets rc and its result.
 * A batch that cannot be applied is voided in the log, or a replay would
 * apply what its callers were told failed. */
static void apply_waiters(struct sequencer *s, struct waiter **batch, int n, uint64_t *applied)
{
    struct apply_item items[SEQ_BATCH_MAX];
    const struct cmd *cmds[SEQ_BATCH_MAX];
    for (int i = 0; i < n; i++) {
        items[i] = (struct apply_item){batch[i]->c, batch[i]->res};
        cmds[i] = batch[i]->c;
    }
    struct cmd_log *log = s->log[s->cur];
    int rc = cmd_log_append(log, *applied + 1, cmds, n);
    if (rc)
        log_error("sequencer: cannot log commands %llu..: %s", (unsigned long long)*applied + 1,
                  strerror(-rc));
    if (!rc && (rc = apply_batch(s->ms, items, n, applied)) && cmd_log_void_last(log))
        log_error("sequencer: a batch failed (%s) and cannot be voided in the log; every "
                  "later mutation fails",
                  strerror(-rc));
    for (int i = 0; i < n; i++)
        batch[i]->rc = rc;
}

/* Checkpoints run beside the apply thread (meta_store.h): one is begun when
 * due, and batches go to the other log meanwhile, unless that one still
 * holds commands no durable checkpoint has (its checkpoint failed: logged
 * there; the logs keep everything until one succeeds). */
static void checkpoint_step(struct sequencer *s, uint64_t applied, bool idle)
{
    int rc = meta_store_checkpoint_poll(s->ms, false);
    if (rc == 1) {
        s->ckpt_applied = s->ckpt_begun;
        s->other_dead = true;
    }
    if (rc < 0)
        s->ckpt_begun = s->ckpt_applied; /* tried again when next due */
    if (rc)
        s->ckpt_in_flight = false;
    if (s->ckpt_in_flight || applied == s->ckpt_begun ||
        !(idle || meta_store_checkpoint_due(s->ms) ||
          cmd_log_bytes(s->log[s->cur]) >= SEQ_CKPT_LOG_BYTES))
        return;
    if (meta_store_checkpoint_begin(s->ms))
        return;
    s->ckpt_in_flight = true;
    s->ckpt_begun = applied;
    if (s->other_dead) {
        s->cur ^= 1;
        cmd_log_reset(s->log[s->cur]);
        s->other_dead = false;
    }
}

/* Waits for work; false when idle long enough after a commit to checkpoint. */
static bool wait_work(struct sequencer *s)
{
    while (!s->head && !s->stop && s->after_asked == s->after_done) {
        if (s->ckpt_applied == s->applied) {
            pthread_cond_wait(&s->work, &s->lock);
            continue;
        }
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += SEQ_CKPT_IDLE_MS * 1000000L;
        until.tv_sec += until.tv_nsec / 1000000000L;
        until.tv_nsec %= 1000000000L;
        if (pthread_cond_timedwait(&s->work, &s->lock, &until) == ETIMEDOUT && !s->head)
            return false;
    }
    return true;
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

/* Runs the after hook (lock held on entry and return). */
static void run_after(struct sequencer *s)
{
    uint64_t serves = s->after_asked;
    s->since_after = 0;
    pthread_mutex_unlock(&s->lock);
    if (s->after)
        s->after(s->after_ctx);
    pthread_mutex_lock(&s->lock);
    s->after_done = serves;
    pthread_cond_broadcast(&s->done);
}

static void *apply_thread(void *arg)
{
    pthread_setname_np(pthread_self(), "qfs-apply"); /* for top -H, perf, gdb */
    struct sequencer *s = arg;
    struct waiter *batch[SEQ_BATCH_MAX];
    pthread_mutex_lock(&s->lock);
    for (;;) {
        if (!wait_work(s)) {
            uint64_t applied = s->applied;
            pthread_mutex_unlock(&s->lock);
            checkpoint_step(s, applied, true);
            pthread_mutex_lock(&s->lock);
            continue;
        }
        if (!s->head && s->after_asked != s->after_done) {
            run_after(s);
            continue;
        }
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
        pthread_mutex_unlock(&s->lock);
        checkpoint_step(s, applied, false);
        pthread_mutex_lock(&s->lock);
        /* between batches when idle, and at least every 16 under load */
        if (!s->head || ++s->since_after >= 16 || s->after_asked != s->after_done)
            run_after(s);
    }
    pthread_cond_broadcast(&s->done); /* stopped: sequencer_run_after() gives up */
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

/* One logged frame, again: the commands past what the store holds. */
static int replay_frame(void *ctx, uint64_t first, struct cmd *cmds, int n)
{
    struct sequencer *s = ctx;
    struct apply_item items[SEQ_BATCH_MAX];
    struct apply_result res[SEQ_BATCH_MAX];
    int k = 0;
    if (n > SEQ_BATCH_MAX)
        return -EIO; /* no batch was ever that large */
    for (int i = 0; i < n; i++)
        if (first + (uint64_t)i > s->applied)
            items[k] = (struct apply_item){&cmds[i], &res[k]}, k++;
    return k ? apply_batch(s->ms, items, k, &s->applied) : 0;
}

/* Replays both logs, the one that starts lower first: commands past the
 * checkpoint sit in both when one was in flight. */
static int replay_logs(struct sequencer *s)
{
    uint64_t f0 = cmd_log_first(s->log[0]), f1 = cmd_log_first(s->log[1]);
    int first = f1 && (!f0 || f1 < f0) ? 1 : 0;
    int rc = cmd_log_replay(s->log[first], s->applied, replay_frame, s);
    if (!rc)
        rc = cmd_log_replay(s->log[!first], s->applied, replay_frame, s);
    return rc;
}

/* The store opened at its last checkpoint; the logs hold every batch
 * acknowledged since. Applied again, checkpointed, and the logs start over. */
static int recover(struct sequencer *s, const char *log_path)
{
    char path[PATH_MAX];
    int rc = 0;
    for (int i = 0; i < 2 && !rc; i++) {
        if (snprintf(path, sizeof(path), "%s.%d", log_path, i) >= (int)sizeof(path))
            rc = -ENAMETOOLONG;
        else if ((rc = cmd_log_open(path, &s->log[i])))
            log_error("sequencer: cannot open the command log %s: %s", path, strerror(-rc));
    }
    if (rc)
        return rc;
    uint64_t from = s->applied;
    rc = replay_logs(s);
    if (rc)
        log_error("sequencer: cannot replay the command log %s past %llu: %s", log_path,
                  (unsigned long long)s->applied, strerror(-rc));
    else if (s->applied > from)
        log_info("sequencer: replayed commands %llu..%llu from the command log",
                 (unsigned long long)from + 1, (unsigned long long)s->applied);
    if (!rc)
        rc = meta_store_checkpoint(s->ms);
    if (rc)
        return rc;
    cmd_log_reset(s->log[0]);
    cmd_log_reset(s->log[1]);
    s->ckpt_applied = s->ckpt_begun = s->applied;
    s->other_dead = true;
    return 0;
}

int sequencer_start(struct meta_store *ms, const char *log_path, seq_after_fn after, void *ctx,
                    struct sequencer **out)
{
    struct sequencer *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->ms = ms;
    s->after = after;
    s->after_ctx = ctx;
    int rc = load_applied(s);
    if (!rc)
        rc = recover(s, log_path);
    if (rc) {
        cmd_log_close(s->log[0]);
        cmd_log_close(s->log[1]);
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
        cmd_log_close(s->log[0]);
        cmd_log_close(s->log[1]);
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
    meta_store_checkpoint(s->ms); /* the next start replays nothing; logged there */
    cmd_log_close(s->log[0]);
    cmd_log_close(s->log[1]);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->work);
    pthread_cond_destroy(&s->done);
    free(s);
}

int sequencer_run_after(struct sequencer *s)
{
    pthread_mutex_lock(&s->lock);
    uint64_t want = ++s->after_asked;
    pthread_cond_signal(&s->work);
    while (s->after_done < want && !s->stop)
        pthread_cond_wait(&s->done, &s->lock);
    int rc = s->after_done < want ? -ESHUTDOWN : 0;
    pthread_mutex_unlock(&s->lock);
    return rc;
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
