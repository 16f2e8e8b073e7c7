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

int emit(struct engine *e, uint32_t to_mask)
{
    e->out.from = (uint16_t)e->self;
    size_t need = msg_encoded_size(&e->out);
    if (need > CONS_MSG_MAX)
        return -EMSGSIZE;
    if ((e->cfg.broken & BROKEN_ANSWER_BEFORE_PERSIST) && is_answer(e->out.type)) {
        long len = msg_encode(&e->out, e->obuf + e->oused, OBUF_CAP - e->oused);
        if (len < 0) /* no room: flushing first keeps the bug but frees space */
            return (int)len;
        send_now(e, to_mask, e->obuf + e->oused, (size_t)len);
        return 0;
    }
    if (e->on == OUTQ_MAX || OBUF_CAP - e->oused < need) {
        int rc = outbox_flush(e);
        if (rc < 0)
            return rc;
    }
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
