/*
 * Outbox and group commit: messages encoded during one engine input wait
 * here until the state they depend on has been saved in one batch.
 */
#include "consensus/engine_internal.h"

#include <errno.h>
#include <stdlib.h>

int outbox_init(struct engine *e)
{
    e->obuf = malloc(OBUF_CAP);
    e->dirty = calloc(e->log.cap, sizeof(*e->dirty));
    e->recs = calloc(e->log.cap, sizeof(*e->recs));
    if (!e->obuf || !e->dirty || !e->recs)
        return -ENOMEM;
    return 0;
}

void outbox_free(struct engine *e)
{
    free(e->obuf);
    free(e->dirty);
    free(e->recs);
}

uint32_t all_others(const struct engine *e)
{
    return ((1u << e->n) - 1) & ~(1u << e->self);
}

/* Drops list entries of slots truncated since they were marked. */
static void compact_dirty(struct engine *e)
{
    size_t n = 0;
    for (size_t i = 0; i < e->n_dirty; i++) {
        struct ring_slot *c = ring_get(&e->log, e->dirty[i]);
        if (c && c->dirty)
            e->dirty[n++] = e->dirty[i];
    }
    e->n_dirty = n;
}

void mark_dirty(struct engine *e, struct ring_slot *c)
{
    if (c->dirty)
        return;
    if (e->n_dirty == e->log.cap)
        compact_dirty(e); /* live entries are distinct held slots: < cap */
    c->dirty = 1;
    e->dirty[e->n_dirty++] = c->slot;
}

static void send_now(struct engine *e, uint32_t mask, const uint8_t *buf, size_t len)
{
    for (uint32_t to = 0; to < e->n; to++)
        if ((mask >> to) & 1 && to != e->self)
            e->host.send(e->host.ctx, to, buf, len);
}

static int is_answer(uint8_t type)
{
    return type == MSG_PROMISE || type == MSG_ACCEPTED;
}

/*
 * Messages that promise nothing about this node's acceptor state leave at
 * once, before the batch is saved, so the leader's fsync overlaps the
 * followers' (docs/consensus.md, "Persist before answering"):
 *  - ACCEPT: only a leader of ballot b sends it, and it became leader after
 *    its PREPARE(b), which waited for promised >= b to be durable, so a
 *    restarted node never reuses b for another value. Its own vote for the
 *    round counts only after the save (round.self_pending, after_save());
 *  - FORWARD, CATCHUP_REQ: carry no acceptor state;
 *  - CATCHUP_REP: chosen values only, chosen by a durable majority already;
 *  - PREVOTE, PREVOTE_OK: a question and an answer that change no state.
 * PREPARE (its ballot must be durable first, see above), PROMISE, ACCEPTED
 * and NACK wait for the save.
 */
static int leaves_before_save(uint8_t type)
{
    return type == MSG_ACCEPT || type == MSG_FORWARD || type == MSG_CATCHUP_REQ ||
           type == MSG_CATCHUP_REP || type == MSG_PREVOTE || type == MSG_PREVOTE_OK;
}

/* Flushes the outbox if a message of `need` bytes (or, when queued, one more
 * message) would not fit. */
static int make_room(struct engine *e, size_t need, int queued)
{
    if ((queued && e->on == OUTQ_MAX) || OBUF_CAP - e->oused < need)
        return outbox_flush(e);
    return 0;
}

/* Encodes e->out past the queued messages and sends it without queueing. */
static int send_unqueued(struct engine *e, uint32_t to_mask, size_t need)
{
    int rc = make_room(e, need, 0);
    if (rc < 0)
        return rc;
    long len = msg_encode(&e->out, e->obuf + e->oused, OBUF_CAP - e->oused);
    if (len < 0)
        return (int)len;
    send_now(e, to_mask, e->obuf + e->oused, (size_t)len);
    return 0;
}

int emit(struct engine *e, uint32_t to_mask)
{
    e->out.from = (uint16_t)e->self;
    size_t need = msg_encoded_size(&e->out);
    if (need > CONS_MSG_MAX)
        return -EMSGSIZE;
    if (leaves_before_save(e->out.type) ||
        ((e->cfg.broken & BROKEN_ANSWER_BEFORE_PERSIST) && is_answer(e->out.type)))
        return send_unqueued(e, to_mask, need);
    int rc = make_room(e, need, 1);
    if (rc < 0)
        return rc;
    long len = msg_encode(&e->out, e->obuf + e->oused, OBUF_CAP - e->oused);
    if (len < 0)
        return (int)len;
    e->oq[e->on++] = (struct outmsg){to_mask, (uint32_t)e->oused, (uint32_t)len};
    e->oused += (size_t)len;
    return 0;
}

static int save_batch(struct engine *e)
{
    size_t n = 0;
    for (size_t i = 0; i < e->n_dirty; i++) {
        struct ring_slot *c = ring_get(&e->log, e->dirty[i]);
        if (!c || !c->dirty)
            continue;
        c->dirty = 0;
        e->recs[n++] = (struct cons_rec){
            c->slot, c->ballot, c->state == SLOT_CHOSEN ? CONS_REC_CHOSEN : 0, ring_entry(c)};
    }
    e->n_dirty = 0;
    struct cons_persist_batch b = {{e->promised, e->commit, e->log.start}, n, e->recs};
    e->state_dirty = 0;
    return e->host.persist->save(e->host.persist_ctx, &b);
}

int outbox_flush(struct engine *e)
{
    if (e->state_dirty || e->n_dirty) {
        int rc = save_batch(e);
        if (rc < 0) {
            e->on = 0;
            e->oused = 0;
            return rc;
        }
    }
    /* Whatever own votes depend on is durable now (saved above or before). */
    if (after_save(e))
        e->self_voted = 1;
    for (uint32_t i = 0; i < e->on; i++)
        send_now(e, e->oq[i].to_mask, e->obuf + e->oq[i].off, e->oq[i].len);
    e->on = 0;
    e->oused = 0;
    return 0;
}
