/* Ring of log slots with reusable per-cell buffers. */
#include "consensus/log_ring.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int ring_init(struct log_ring *r, uint64_t cap)
{
    uint64_t c = 64;
    while (c < cap)
        c *= 2;
    r->cell = calloc(c, sizeof(*r->cell));
    if (!r->cell)
        return -ENOMEM;
    for (uint64_t i = 0; i < c; i++)
        r->cell[i].slot = UINT64_MAX;
    r->cap = c;
    r->start = 1;
    r->high = 1;
    return 0;
}

void ring_free(struct log_ring *r)
{
    for (uint64_t i = 0; r->cell && i < r->cap; i++)
        free(r->cell[i].data);
    free(r->cell);
    r->cell = NULL;
}

struct ring_slot *ring_get(struct log_ring *r, uint64_t slot)
{
    if (slot < r->start || slot - r->start >= r->cap)
        return NULL;
    struct ring_slot *c = &r->cell[slot & (r->cap - 1)];
    if (c->slot != slot) {
        c->slot = slot;
        c->ballot = 0;
        c->state = SLOT_EMPTY;
        c->dirty = 0;
        c->len = 0;
    }
    return c;
}

int ring_set_value(struct log_ring *r, struct ring_slot *c, const struct cons_entry *e)
{
    if (c->cap < e->len) {
        uint8_t *d = realloc(c->data, e->len);
        if (!d)
            return -ENOMEM;
        c->data = d;
        c->cap = e->len;
    }
    if (e->len)
        memmove(c->data, e->data, e->len);
    c->len = e->len;
    c->kind = e->kind;
    c->origin = e->origin;
    c->req_id = e->req_id;
    if (c->slot >= r->high)
        r->high = c->slot + 1;
    return 0;
}

struct cons_entry ring_entry(const struct ring_slot *c)
{
    return (struct cons_entry){c->origin, c->req_id, c->kind, c->len, c->data};
}
