/*
 * orderer.c - how a FUSE thread's command reaches the log: encode, propose,
 * wait until this node applied it, return apply's result.
 *
 * The result is this node's own apply result: apply is deterministic, so it
 * is every node's. Two failures differ in what the caller may assume:
 * EROFS means the command never reached the engine (no quorum, or the
 * proposal queue stayed full), so it will never apply, and so does the
 * error this node's apply fails with (ENOSPC); ETIMEDOUT means it
 * was proposed and not applied within CL_SUBMIT_MS, so it may still be
 * decided later (as NFS's softerr mounts answer). A
 * retry after the engine gave up re-proposes the same bytes with the same
 * request id, which dedup makes harmless; a request id that dedup refused as
 * too old was never applied and is re-proposed under a fresh id, and one it
 * refused as applied before is never proposed again (ETIMEDOUT: its result
 * is unknown here). Request ids
 * (the log entry's, used by dedup) are this node's own sequence, starting
 * above every id of its previous runs (req_base).
 */
#include "fs/cluster/cluster_internal.h"
#include "fs/core/cmd.h"
#include "fs/core/sequencer.h"

#include "common/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct cl_waiter *waiters_claim(struct cluster *cl, uint64_t req_id)
{
    pthread_mutex_lock(&cl->w_lock);
    struct cl_waiter *w = cl->waiters;
    while (w && (w->req_id != req_id || w->done || w->claimed))
        w = w->next;
    if (w)
        w->claimed = true;
    pthread_mutex_unlock(&cl->w_lock);
    return w;
}

void waiters_finish(struct cluster *cl, struct cl_waiter **ws, int n, int rc)
{
    if (!n)
        return;
    pthread_mutex_lock(&cl->w_lock);
    for (int i = 0; i < n; i++) {
        ws[i]->claimed = false;
        if (rc == 0)
            ws[i]->done = true;
        else if (rc == -ESTALE)
            ws[i]->retry = ws[i]->stale = true;
        else if (rc == -EALREADY)
            ws[i]->seen = true;
    }
    pthread_cond_broadcast(&cl->w_cond);
    pthread_mutex_unlock(&cl->w_lock);
}

void waiters_retry(struct cluster *cl, uint64_t req_id)
{
    pthread_mutex_lock(&cl->w_lock);
    for (struct cl_waiter *w = cl->waiters; w; w = w->next)
        if (w->req_id == req_id && !w->done && !w->claimed)
            w->retry = true;
    pthread_cond_broadcast(&cl->w_cond);
    pthread_mutex_unlock(&cl->w_lock);
}

static void unlink_waiter(struct cluster *cl, struct cl_waiter *w)
{
    for (struct cl_waiter **p = &cl->waiters; *p; p = &(*p)->next)
        if (*p == w) {
            *p = w->next;
            return;
        }
}

/* Waits for w (w_lock held) until done, a retry is due, or the deadline. */
static void wait_turn(struct cluster *cl, struct cl_waiter *w, uint64_t deadline_us)
{
    while (!w->done && !w->retry && !w->seen && (w->claimed || cl_now_us() < deadline_us))
        cl_timedwait(&cl->w_cond, &cl->w_lock, 100);
}

static int propose_and_wait(struct cluster *cl, struct cl_waiter *w, const uint8_t *buf,
                            uint32_t len)
{
    uint64_t deadline = cl_now_us() + CL_SUBMIT_MS * 1000u;
    bool proposed = false;
    int rc = 0;
    pthread_mutex_lock(&cl->w_lock);
    w->next = cl->waiters;
    cl->waiters = w;
    for (;;) {
        if (w->stale) /* dedup refused the old id: it can never apply */
            w->req_id = __atomic_add_fetch(&cl->next_req, 1, __ATOMIC_RELAXED);
        w->retry = w->stale = false;
        pthread_mutex_unlock(&cl->w_lock);
        rc = pax_propose(cl, buf, len, w->req_id, CL_SUBMIT_MS);
        pthread_mutex_lock(&cl->w_lock);
        if (rc)
            break;
        proposed = true;
        wait_turn(cl, w, deadline);
        if (w->done || w->seen || !w->retry || cl_now_us() >= deadline || !cl_has_quorum(cl))
            break;
    }
    unlink_waiter(cl, w);
    bool done = w->done;
    pthread_mutex_unlock(&cl->w_lock);
    return done ? 0 : proposed ? -ETIMEDOUT : -EROFS;
}

static int submit(void *impl, const struct cmd *c, struct apply_result *res)
{
    struct cluster *cl = impl;
    if (!cl_has_quorum(cl))
        return -EROFS;
    /* A command proposed while this node's apply fails would be decided
     * but could not apply here, so its caller could only be told
     * "unknown" after CL_SUBMIT_MS: not proposed. */
    int frc = apply_loop_failing(cl);
    if (frc)
        return frc;
    size_t cap = cmd_encoded_size(c);
    if (cap > CONS_CMD_MAX)
        return -E2BIG;
    uint8_t *buf = malloc(cap);
    if (!buf)
        return -ENOMEM;
    int len = cmd_encode(c, buf, cap);
    int rc = len;
    if (len > 0) {
        struct cl_waiter w = {.req_id = __atomic_add_fetch(&cl->next_req, 1, __ATOMIC_RELAXED),
                              .res = res};
        rc = propose_and_wait(cl, &w, buf, (uint32_t)len);
    }
    free(buf);
    if (rc && rc != -EROFS && rc != -ETIMEDOUT)
        log_error("cluster: command %u not proposed: %s", c->op, strerror(-rc));
    return rc;
}

static uint64_t applied(void *impl)
{
    struct cluster *cl = impl;
    pthread_mutex_lock(&cl->ap_lock);
    uint64_t v = cl->applied;
    pthread_mutex_unlock(&cl->ap_lock);
    return v;
}

const struct orderer_ops cluster_orderer_ops = {submit, applied};
