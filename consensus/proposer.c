/*
 * Proposer side of every node: this node's pending proposals (forwarded to
 * the leader, re-forwarded after a leader change or a timeout, reported
 * when their slot is delivered) and the leader's bounded queue of proposals
 * waiting for a slot.
 */
#include "consensus/engine_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int copy_into(uint8_t **buf, uint32_t *cap, const uint8_t *src, uint32_t len)
{
    if (*cap < len) {
        uint8_t *d = realloc(*buf, len);
        if (!d)
            return -ENOMEM;
        *buf = d;
        *cap = len;
    }
    if (len)
        memcpy(*buf, src, len);
    return 0;
}

int proposer_add(struct engine *e, const uint8_t *cmd, size_t len, uint64_t req_id)
{
    if (len > CONS_CMD_MAX)
        return -EMSGSIZE;
    if (req_id == 0)
        return -EINVAL;
    struct pending *free_p = NULL;
    for (uint32_t i = 0; i < MAX_PENDING; i++) {
        if (i >= e->pend_hi && free_p)
            break;
        if (e->pend[i].used && e->pend[i].req_id == req_id)
            return 0; /* already in flight */
        if (!e->pend[i].used && !free_p)
            free_p = &e->pend[i];
    }
    if (!free_p)
        return -EAGAIN;
    int rc = copy_into(&free_p->data, &free_p->cap, cmd, (uint32_t)len);
    if (rc < 0)
        return rc;
    free_p->len = (uint32_t)len;
    free_p->req_id = req_id;
    free_p->born = e->now;
    free_p->sent = 0;
    free_p->used = 1;
    e->n_pending++;
    if ((uint32_t)(free_p - e->pend) >= e->pend_hi)
        e->pend_hi = (uint32_t)(free_p - e->pend) + 1;
    return 0;
}

static void finish(struct engine *e, struct pending *p, int64_t result)
{
    p->used = 0;
    if (--e->n_pending == 0)
        e->pend_hi = 0;
    e->host.proposal_done(e->host.ctx, p->req_id, result);
}

void proposer_committed(struct engine *e, uint64_t slot, const struct cons_entry *en)
{
    if (en->kind != CONS_KIND_CMD || en->origin != e->self || !e->n_pending)
        return;
    for (uint32_t i = 0; i < e->pend_hi; i++)
        if (e->pend[i].used && e->pend[i].req_id == en->req_id) {
            finish(e, &e->pend[i], (int64_t)slot);
            return;
        }
}

static int due(const struct engine *e, const struct pending *p)
{
    return !p->sent || p->sent_epoch != e->promised || e->now >= p->sent_at + e->p.forward_retry_us;
}

static int flush_forward(struct engine *e, uint32_t to)
{
    if (!e->out.count)
        return 0;
    int rc = emit(e, 1u << to);
    e->out.count = 0;
    return rc;
}

/* Sends due proposals to the leader; the leader queues its own directly. */
static int forward_due(struct engine *e, int32_t to)
{
    struct cons_msg *o = &e->out;
    o->type = MSG_FORWARD;
    o->count = 0;
    size_t bytes = msg_encoded_size(o);
    for (uint32_t i = 0; i < e->pend_hi; i++) {
        struct pending *p = &e->pend[i];
        if (!p->used || !due(e, p))
            continue;
        struct cons_entry en = {e->self, p->req_id, CONS_KIND_CMD, p->len, p->data};
        if ((uint32_t)to == e->self) {
            if (queue_push(e, &en) < 0)
                break;
        } else {
            size_t add = msg_entry_size(MSG_FORWARD, p->len);
            if (o->count == CONS_MSG_MAX_ENTRIES || bytes + add > CONS_MSG_MAX) {
                int rc = flush_forward(e, (uint32_t)to);
                if (rc < 0)
                    return rc;
                o->type = MSG_FORWARD;
                bytes = msg_encoded_size(o);
            }
            o->ent[o->count++].e = en;
            bytes += add;
        }
        p->sent = 1;
        p->sent_at = e->now;
        p->sent_epoch = e->promised;
    }
    return (uint32_t)to == e->self ? 0 : flush_forward(e, (uint32_t)to);
}

int proposer_progress(struct engine *e)
{
    if (!e->n_pending)
        return 0;
    for (uint32_t i = 0; i < e->pend_hi; i++)
        if (e->pend[i].used && e->now >= e->pend[i].born + e->p.propose_timeout_us)
            finish(e, &e->pend[i], -EAGAIN);
    int32_t to = e->role == ROLE_LEADER ? (int32_t)e->self : e->leader;
    if (to < 0 || e->role == ROLE_CANDIDATE || (e->role != ROLE_LEADER && (uint32_t)to == e->self))
        return 0;
    return forward_due(e, to);
}

int proposer_on_forward(struct engine *e, const struct cons_msg *m)
{
    if (e->role == ROLE_FOLLOWER)
        return 0; /* the origin re-forwards once it knows the leader */
    for (uint32_t i = 0; i < m->count; i++) {
        const struct cons_entry *en = &m->ent[i].e;
        if (en->origin != m->from || en->kind != CONS_KIND_CMD || en->req_id == 0)
            continue;
        if (queue_push(e, en) < 0)
            break;
    }
    return 0;
}

int queue_push(struct engine *e, const struct cons_entry *en)
{
    if (e->q_count == e->p.queue_max)
        return -EAGAIN;
    struct qent *q = &e->queue[(e->q_head + e->q_count) % e->p.queue_max];
    int rc = copy_into(&q->data, &q->cap, en->data, en->len);
    if (rc < 0)
        return rc;
    q->origin = en->origin;
    q->req_id = en->req_id;
    q->len = en->len;
    e->q_count++;
    return 0;
}

void queue_clear(struct engine *e)
{
    e->q_head = e->q_count = 0;
}

void proposer_free(struct engine *e)
{
    for (uint32_t i = 0; i < MAX_PENDING; i++)
        free(e->pend[i].data);
    for (uint32_t i = 0; e->queue && i < e->p.queue_max; i++)
        free(e->queue[i].data);
    free(e->queue);
}
