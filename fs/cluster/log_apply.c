/*
 * log_apply.c - the apply thread of a cluster node: decided entries, in slot
 * order, applied in batches by the core's deterministic apply function.
 *
 * Each batch is one LMDB transaction holding the commands' effects, the new
 * applied index and the de-duplication table, so a crash never separates a
 * command from the record that it was applied. A committed entry that this
 * node cannot decode (a newer command version) stops the applying for good:
 * skipping it would make this node's state differ from the others'.
 */
#include "fs/cluster/cluster_internal.h"
#include "fs/core/cmd.h"
#include "fs/core/core_cluster.h"
#include "fs/store/meta_store.h"

#include "common/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEDUP_KEY "dedup"

int apply_loop_offer(struct cluster *cl, uint64_t slot, const struct cons_entry *e)
{
    pthread_mutex_lock(&cl->ap_lock);
    if (slot <= cl->delivered) { /* re-offered after an engine restart */
        pthread_mutex_unlock(&cl->ap_lock);
        return 0;
    }
    if (cl->dq_n == CL_DECIDED_MAX || cl->dq_bytes + e->len > CL_DECIDED_BYTES) {
        pthread_mutex_unlock(&cl->ap_lock);
        return -EAGAIN;
    }
    uint8_t *data = e->len ? malloc(e->len) : NULL;
    if (e->len && !data) {
        pthread_mutex_unlock(&cl->ap_lock);
        return -EAGAIN;
    }
    if (e->len)
        memcpy(data, e->data, e->len);
    cl->dq[(cl->dq_head + cl->dq_n++) % CL_DECIDED_MAX] =
        (struct cl_decided){slot, e->origin, e->req_id, e->kind, e->len, data};
    cl->dq_bytes += e->len;
    cl->delivered = slot;
    pthread_cond_signal(&cl->ap_work);
    pthread_mutex_unlock(&cl->ap_lock);
    return 0;
}

static int dedup_load(struct cluster *cl)
{
    struct meta_store *ms = core_meta_store(cl->core);
    MDB_txn *txn;
    int rc = meta_txn_read(ms, &txn);
    if (rc)
        return rc;
    MDB_val k = {strlen(DEDUP_KEY), DEDUP_KEY}, v;
    rc = mdb_get(txn, ms->dbi[META_DB_META], &k, &v);
    if (rc == 0 && v.mv_size == DEDUP_ENC_LEN)
        dedup_decode(&cl->dedup, v.mv_data);
    else if (rc == 0)
        rc = -EPROTO;
    else
        rc = rc == MDB_NOTFOUND ? 0 : meta_err(rc);
    mdb_txn_abort(txn);
    return rc;
}

static int dedup_write(void *ctx, MDB_txn *txn)
{
    struct cluster *cl = ctx;
    struct meta_store *ms = core_meta_store(cl->core);
    uint8_t enc[DEDUP_ENC_LEN];
    dedup_encode(&cl->dedup, enc);
    MDB_val k = {strlen(DEDUP_KEY), DEDUP_KEY}, v = {sizeof(enc), enc};
    return meta_err(mdb_put(txn, ms->dbi[META_DB_META], &k, &v, 0));
}

/* One batch being applied (apply thread only). cmds[] own nothing between
 * attempts (release_cmds), so releasing one that was not decoded is a no-op. */
struct batch {
    int n;
    struct cl_decided d[CL_APPLY_BATCH];
    struct cmd cmds[CL_APPLY_BATCH];
    struct apply_result scratch[CL_APPLY_BATCH];
    struct apply_item items[CL_APPLY_BATCH];
    struct cl_waiter *ws[CL_APPLY_BATCH];
    int nw;
};

/* 1: a batch to apply, 2: an install to run (snapshot.c), 0: stop. */
static int take(struct cluster *cl, struct batch *b)
{
    pthread_mutex_lock(&cl->ap_lock);
    while (!cl->dq_n && !cl->ap_stop && !cl->install) {
        if (cl->ckpt_applied == cl->applied) {
            pthread_cond_wait(&cl->ap_work, &cl->ap_lock);
            continue;
        }
        /* Idle with commits since the last checkpoint: one is due soon. */
        cl_timedwait(&cl->ap_work, &cl->ap_lock, CL_CKPT_IDLE_MS);
        if (!cl->dq_n && !cl->ap_stop && !cl->install) {
            pthread_mutex_unlock(&cl->ap_lock);
            return 3;
        }
    }
    if (cl->install && !cl->ap_stop) {
        cl->install->started = true;
        pthread_mutex_unlock(&cl->ap_lock);
        return 2;
    }
    b->n = 0;
    /* Under the slow-apply test knob one entry at a time, so that the
     * applied index moves as smoothly as a real lagging node's does. */
    int max = cl->test_apply_delay_ms ? 1 : CL_APPLY_BATCH;
    while (cl->dq_n && b->n < max) {
        b->d[b->n++] = cl->dq[cl->dq_head];
        cl->dq_head = (cl->dq_head + 1) % CL_DECIDED_MAX;
        cl->dq_n--;
    }
    bool go = b->n > 0;
    pthread_mutex_unlock(&cl->ap_lock);
    return go;
}

/* Dedup refused an entry whose proposer still waits. Too old: it was never
 * applied (its proposer waited since before the window), so it is proposed
 * anew under a fresh id. A duplicate is another matter: its id WAS applied,
 * in an earlier slot that did not complete this waiter, and proposing it
 * anew would apply it twice (a create applied twice is a file that comes
 * back after its rmdir: session 9's long slow-link run showed what looks
 * like one, by a path not found). Its proposer is told the outcome is
 * unknown instead. */
static void refused_while_waiting(struct cluster *cl, struct cl_waiter *w, uint64_t slot,
                                  bool too_old)
{
    if (too_old)
        log_info("cluster: slot %llu holds request %llu of this node, older than the de-dup "
                 "window; proposed again under a new id",
                 (unsigned long long)slot, (unsigned long long)w->req_id);
    else
        log_warn("cluster: slot %llu repeats request %llu of this node, applied before while "
                 "its proposer waited; not proposed again",
                 (unsigned long long)slot, (unsigned long long)w->req_id);
    waiters_finish(cl, &w, 1, too_old ? -ESTALE : -EALREADY);
}

/* A decoded command points into its entry's data and may own memory (its
 * version 3 extents): released when the batch is done, or before prepare()
 * decodes the batch again. */
static void release_cmds(struct batch *b)
{
    for (int i = 0; i < b->n; i++)
        cmd_release(&b->cmds[i]);
}

/* A decided entry that does not decode: -ENOMEM is retried as a failed
 * apply is; anything else (a newer version, a corrupt entry) stops applying
 * for good. */
static int undecodable(const struct cl_decided *d, int rc)
{
    if (rc == -ENOMEM)
        return rc;
    log_error("cluster: slot %llu holds a command this node cannot decode (%s); "
              "applying stops here: upgrade this node",
              (unsigned long long)d->slot, strerror(-rc));
    return -EPROTO;
}

/* Decodes, de-duplicates and claims waiters. -EPROTO: an entry this node
 * cannot apply; -ENOMEM: try again (the batch's commands are released). */
static int prepare(struct cluster *cl, struct batch *b)
{
    b->nw = 0;
    for (int i = 0; i < b->n; i++) {
        struct cl_decided *d = &b->d[i];
        b->items[i] = (struct apply_item){NULL, &b->scratch[i]};
        if (d->kind != CONS_KIND_CMD)
            continue;
        int rc = cmd_decode(d->data, d->len, &b->cmds[i]);
        if (rc) {
            release_cmds(b);
            return undecodable(d, rc);
        }
        struct cl_waiter *w = d->origin == cl->mem.self ? waiters_claim(cl, d->req_id) : NULL;
        bool too_old = w && dedup_too_old(&cl->dedup, d->origin, d->req_id);
        if (!dedup_admit(&cl->dedup, d->origin, d->req_id)) {
            if (w)
                refused_while_waiting(cl, w, d->slot, too_old);
            continue;
        }
        b->items[i].cmd = &b->cmds[i];
        if (w) {
            b->items[i].res = w->res;
            b->ws[b->nw++] = w;
        }
    }
    return 0;
}

/* Inode numbers are never reused: no kernel has cached the inode a command
 * created, and no lookup read it before the change. */
static bool creates_inode(const struct cmd *c)
{
    return c->op == CMD_MKNOD || c->op == CMD_MKDIR || c->op == CMD_SYMLINK;
}

static void report_moves(const struct cluster_hooks *h, const struct cmd *c,
                         const struct apply_result *res)
{
    if (!h->dir_moved)
        return;
    if (res->moved_dirs[0])
        h->dir_moved(h->ctx, res->moved_dirs[0], c->ino, c->name, c->namelen);
    if (res->moved_dirs[1])
        h->dir_moved(h->ctx, res->moved_dirs[1], c->ino2, c->name2, c->name2len);
}

/* Tells the mount what another node changed, so the kernel drops its caches. */
static void report_changes(struct cluster *cl, const struct batch *b)
{
    const struct cluster_hooks *h = &cl->hooks;
    for (int i = 0; i < b->n; i++) {
        const struct cmd *c = b->items[i].cmd;
        uint64_t slot = b->d[i].slot;
        if (!c || !h->inode_changed)
            continue;
        /* a conflict copy appears by apply alone, on the writer's node too */
        if (b->items[i].res->copy_parent)
            h->inode_changed(h->ctx, slot, b->items[i].res->copy_parent);
        if (b->d[i].origin == cl->mem.self)
            continue;
        if (c->ino)
            h->inode_changed(h->ctx, slot, c->ino);
        if (c->ino2)
            h->inode_changed(h->ctx, slot, c->ino2);
        if (b->items[i].res->has_attr && b->items[i].res->attr.ino != c->ino && !creates_inode(c))
            h->inode_changed(h->ctx, slot, b->items[i].res->attr.ino);
        if (b->items[i].res->unlinked_ino) /* its other hard links' nlink */
            h->inode_changed(h->ctx, slot, b->items[i].res->unlinked_ino);
        if (c->namelen && c->op != CMD_SETXATTR && c->op != CMD_REMOVEXATTR)
            h->entry_changed(h->ctx, slot, c->ino, c->name, c->namelen);
        if (c->name2len)
            h->entry_changed(h->ctx, slot, c->ino2, c->name2, c->name2len);
        report_moves(h, c, b->items[i].res);
    }
}

/* The results of this node's own commands live on their proposers' stacks:
 * everything that reads them runs before the proposers are released. */
static void finish(struct cluster *cl, struct batch *b, uint64_t applied)
{
    report_changes(cl, b);
    for (int i = 0; i < b->n; i++)
        if (b->items[i].cmd)
            chunk_sync_note(cl->sync, b->items[i].cmd);
    waiters_finish(cl, b->ws, b->nw, 0);
    release_cmds(b);
    for (int i = 0; i < b->n; i++)
        free(b->d[i].data);
    pthread_mutex_lock(&cl->ap_lock);
    cl->applied = applied;
    cl->apply_failing = 0;
    for (int i = 0; i < b->n; i++)
        cl->dq_bytes -= b->d[i].len;
    pthread_cond_broadcast(&cl->ap_done);
    pthread_mutex_unlock(&cl->ap_lock);
    if (cl->hooks.applied)
        cl->hooks.applied(cl->hooks.ctx, applied);
    pax_wake(cl);
}

/* Applies one batch until it commits (a full disk is retried every second:
 * the entries are decided and cannot be skipped). false: applying stopped. */
static bool apply_one(struct cluster *cl, struct batch *b)
{
    /* The Paxos log is durable: a batch lost to a power cut is applied again
     * from it, so its commit does not sync (the store's checkpoints make
     * that safe: checkpoint_step() below). */
    const struct apply_extra extra = {dedup_write, cl, 0};
    for (;;) {
        struct dedup_table before = cl->dedup;
        int rc = prepare(cl, b);
        if (rc == -EPROTO)
            return false;
        if (!rc) {
            pthread_mutex_lock(&cl->ap_lock);
            uint64_t applied = cl->applied;
            pthread_mutex_unlock(&cl->ap_lock);
            rc = core_apply_decided(cl->core, b->items, b->n, &applied, &extra);
            if (!rc) {
                finish(cl, b, applied);
                return true;
            }
        }
        release_cmds(b); /* decoded again by the next prepare() */
        cl->dedup = before;
        waiters_finish(cl, b->ws, b->nw, rc);
        uint64_t left_out;
        if (log_limit_pass(&cl->apply_log, &left_out))
            log_error("cluster: cannot apply slots %llu..%llu: %s; retrying every second "
                      "(%llu such failures left out)",
                      (unsigned long long)b->d[0].slot, (unsigned long long)b->d[b->n - 1].slot,
                      strerror(-rc), (unsigned long long)left_out);
        pthread_mutex_lock(&cl->ap_lock);
        cl->apply_failing = rc;
        pthread_cond_broadcast(&cl->ap_done); /* waiters for an index: it will not come soon */
        if (!cl->ap_stop)
            cl_timedwait(&cl->ap_work, &cl->ap_lock, 1000);
        bool stop = cl->ap_stop;
        pthread_mutex_unlock(&cl->ap_lock);
        if (stop)
            return false;
    }
}

/* Checkpoints run beside the apply thread (meta_store.h): one is begun when
 * due, or when idle after commits. Only the slots a durable one holds may
 * leave the Paxos log: the engine hears ckpt_applied as what this node has
 * durably applied (paxos_loop.c). A failed one is logged there and tried
 * again when next due; the log keeps everything meanwhile. */
static void checkpoint_step(struct cluster *cl, bool idle)
{
    struct meta_store *ms = core_meta_store(cl->core);
    int rc = meta_store_checkpoint_poll(ms, false);
    if (rc == 1) {
        pthread_mutex_lock(&cl->ap_lock);
        cl->ckpt_applied = cl->ckpt_begun;
        pthread_mutex_unlock(&cl->ap_lock);
        pax_wake(cl);
    }
    if (rc < 0)
        cl->ckpt_begun = cl->ckpt_applied; /* this thread is their only writer */
    if (rc)
        cl->ckpt_in_flight = false;
    uint64_t applied = cl->applied;
    if (cl->ckpt_in_flight || applied == cl->ckpt_begun ||
        !(idle || meta_store_checkpoint_due(ms)) || meta_store_checkpoint_begin(ms))
        return;
    cl->ckpt_in_flight = true;
    cl->ckpt_begun = applied;
}

/* Snapshot install (cluster_internal.h): the store now stands at the job's
 * index, so entries queued at or below it are stale, and the dedup table is
 * the snapshot's. false: the store changed but its dedup table cannot be
 * read, so applying must stop (it would no longer be at-most-once). */
static bool run_install(struct cluster *cl)
{
    struct cl_install *job = cl->install; /* stays until done is set */
    uint64_t idx = 0;
    int rc = job->run(job->arg, &idx);
    int lrc = 0;
    /* Durable before the engine hears of it and drops the log below idx; if
     * it cannot be, the store holds a state no log leads to: stop here. */
    if (!rc) {
        int crc = meta_store_checkpoint(core_meta_store(cl->core)); /* ends one in flight too */
        cl->ckpt_in_flight = false;
        cl->ckpt_begun = crc ? cl->ckpt_applied : idx;
        if (crc) {
            log_error("cluster: the installed snapshot cannot be made durable; applying stops "
                      "here");
            lrc = rc = crc;
        }
    }
    if (!rc) {
        memset(&cl->dedup, 0, sizeof(cl->dedup));
        lrc = dedup_load(cl);
        if (lrc)
            log_error("cluster: cannot read the installed snapshot's de-duplication table: %s; "
                      "applying stops here",
                      strerror(-lrc));
    }
    pthread_mutex_lock(&cl->ap_lock);
    if (!rc) {
        for (; cl->dq_n && cl->dq[cl->dq_head].slot <= idx; cl->dq_n--) {
            cl->dq_bytes -= cl->dq[cl->dq_head].len;
            free(cl->dq[cl->dq_head].data);
            cl->dq_head = (cl->dq_head + 1) % CL_DECIDED_MAX;
        }
        cl->applied = cl->snap_idx = cl->ckpt_applied = idx;
        cl->apply_failing = 0; /* caught up: nothing is left failing */
        if (cl->delivered < idx)
            cl->delivered = idx;
    }
    job->rc = rc ? rc : lrc;
    job->done = true;
    cl->install = NULL;
    pthread_cond_broadcast(&cl->ap_done);
    pthread_mutex_unlock(&cl->ap_lock);
    if (!rc && cl->hooks.applied)
        cl->hooks.applied(cl->hooks.ctx, idx);
    pax_wake(cl);
    return lrc == 0;
}

int apply_loop_install(struct cluster *cl, struct cl_install *job)
{
    job->started = job->done = false;
    pthread_mutex_lock(&cl->ap_lock);
    while (cl->install && !cl->ap_stop && !cl->halted) /* one at a time */
        cl_timedwait(&cl->ap_done, &cl->ap_lock, 100);
    int rc = cl->ap_stop || cl->halted ? -ESHUTDOWN : 0;
    if (!rc) {
        cl->install = job;
        pthread_cond_signal(&cl->ap_work);
    }
    while (!rc && !job->done) {
        bool gone = cl->ap_stop || cl->halted || job->cancelled(job->cancel_arg);
        if (gone && !job->started) {
            cl->install = NULL;
            rc = cl->ap_stop || cl->halted ? -ESHUTDOWN : -ECANCELED;
            break;
        }
        cl_timedwait(&cl->ap_done, &cl->ap_lock, 100);
    }
    if (!rc)
        rc = job->rc;
    pthread_mutex_unlock(&cl->ap_lock);
    return rc;
}

int apply_loop_failing(struct cluster *cl)
{
    pthread_mutex_lock(&cl->ap_lock);
    int rc = cl->apply_failing;
    pthread_mutex_unlock(&cl->ap_lock);
    return rc;
}

void apply_loop_snapshot_failed(struct cluster *cl, int rc)
{
    if (rc != -ENOSPC && rc != -EDQUOT)
        return;
    pthread_mutex_lock(&cl->ap_lock);
    cl->apply_failing = rc;
    pthread_cond_broadcast(&cl->ap_done); /* waiters for an index: it will not come soon */
    pthread_mutex_unlock(&cl->ap_lock);
}

/* Test knob QFS_TEST_APPLY_DELAY_MS: each entry applied takes that much
 * longer (and is applied on its own), so a test can make a node that is led
 * but far behind. */
static void test_apply_delay(struct cluster *cl, int n)
{
    uint64_t ns = (uint64_t)cl->test_apply_delay_ms * 1000000u * (uint64_t)n;
    struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
    nanosleep(&ts, NULL);
}

static void *apply_main(void *arg)
{
    pthread_setname_np(pthread_self(), "qfs-apply"); /* for top -H, perf, gdb */
    struct cluster *cl = arg;
    struct batch *b = calloc(1, sizeof(*b)); /* zeroed cmds own nothing */
    if (!b) {
        log_error("cluster: no memory for the apply thread");
        return NULL;
    }
    for (int what; (what = take(cl, b));) {
        /* idle after commits: make them the store's checkpoint */
        if (what == 3) {
            checkpoint_step(cl, true);
            continue;
        }
        if (what == 1 && cl->test_apply_delay_ms)
            test_apply_delay(cl, b->n);
        bool ok = what == 2 ? run_install(cl) : apply_one(cl, b);
        if (!ok) {
            for (int i = 0; what == 1 && i < b->n; i++)
                free(b->d[i].data);
            pthread_mutex_lock(&cl->ap_lock);
            cl->halted = true;
            pthread_mutex_unlock(&cl->ap_lock);
            break;
        }
        if (what == 2)
            continue;
        checkpoint_step(cl, false);
        pthread_mutex_lock(&cl->ap_lock);
        bool idle = cl->dq_n == 0;
        pthread_mutex_unlock(&cl->ap_lock);
        if (idle || ++cl->since_gc >= 16) {
            cl->since_gc = 0;
            core_after_apply(cl->core);
        }
    }
    free(b);
    return NULL;
}

int apply_loop_start(struct cluster *cl)
{
    int rc = dedup_load(cl);
    if (rc) {
        log_error("cluster: cannot read the de-duplication table: %s", strerror(-rc));
        return rc;
    }
    rc = core_load_applied(cl->core, &cl->applied);
    if (rc)
        return rc;
    /* the store opened at a checkpoint */
    cl->delivered = cl->ckpt_applied = cl->ckpt_begun = cl->applied;
    rc = -pthread_create(&cl->apply_thread, NULL, apply_main, cl);
    cl->apply_started = rc == 0;
    return rc;
}

void apply_loop_stop(struct cluster *cl)
{
    pthread_mutex_lock(&cl->ap_lock);
    cl->ap_stop = true;
    pthread_cond_broadcast(&cl->ap_work);
    pthread_mutex_unlock(&cl->ap_lock);
    if (cl->apply_started)
        pthread_join(cl->apply_thread, NULL);
    cl->apply_started = false;
    for (; cl->dq_n; cl->dq_n--, cl->dq_head = (cl->dq_head + 1) % CL_DECIDED_MAX)
        free(cl->dq[cl->dq_head].data);
}
