/* In-memory persistence: a growable ring of records keyed by slot. */
#include "consensus/persist_mem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int persist_mem_init(struct persist_mem *pm)
{
    memset(pm, 0, sizeof(*pm));
    pm->cap = 256;
    pm->recs = calloc(pm->cap, sizeof(*pm->recs));
    if (!pm->recs)
        return -ENOMEM;
    for (uint64_t i = 0; i < pm->cap; i++)
        pm->recs[i].slot = UINT64_MAX;
    pm->st.log_start = 1;
    pm->hi = 1;
    return 0;
}

void persist_mem_free(struct persist_mem *pm)
{
    for (uint64_t i = 0; pm->recs && i < pm->cap; i++)
        free(pm->recs[i].data);
    free(pm->recs);
    pm->recs = NULL;
}

static struct mem_rec *find(struct persist_mem *pm, uint64_t slot)
{
    struct mem_rec *r = &pm->recs[slot & (pm->cap - 1)];
    return r->slot == slot ? r : NULL;
}

static int grow(struct persist_mem *pm, uint64_t need_span)
{
    uint64_t ncap = pm->cap;
    while (ncap < need_span)
        ncap *= 2;
    struct mem_rec *n = calloc(ncap, sizeof(*n));
    if (!n)
        return -ENOMEM;
    for (uint64_t i = 0; i < ncap; i++)
        n[i].slot = UINT64_MAX;
    for (uint64_t i = 0; i < pm->cap; i++) {
        struct mem_rec *r = &pm->recs[i];
        if (r->slot != UINT64_MAX && r->slot >= pm->st.log_start)
            n[r->slot & (ncap - 1)] = *r;
        else
            free(r->data);
    }
    free(pm->recs);
    pm->recs = n;
    pm->cap = ncap;
    return 0;
}

static int put(struct persist_mem *pm, const struct cons_rec *c)
{
    if (c->slot < pm->st.log_start)
        return 0;
    if (c->slot - pm->st.log_start >= pm->cap) {
        int rc = grow(pm, c->slot - pm->st.log_start + 1);
        if (rc < 0)
            return rc;
    }
    struct mem_rec *r = &pm->recs[c->slot & (pm->cap - 1)];
    if (r->cap < c->e.len) {
        uint8_t *d = realloc(r->data, c->e.len);
        if (!d)
            return -ENOMEM;
        r->data = d;
        r->cap = c->e.len;
    }
    r->slot = c->slot;
    r->ballot = c->ballot;
    r->flags = c->flags;
    r->kind = c->e.kind;
    r->origin = c->e.origin;
    r->req_id = c->e.req_id;
    r->len = c->e.len;
    if (c->e.len)
        memcpy(r->data, c->e.data, c->e.len);
    if (c->slot >= pm->hi)
        pm->hi = c->slot + 1;
    return 0;
}

static int mem_save(void *ctx, const struct cons_persist_batch *b)
{
    struct persist_mem *pm = ctx;
    if (pm->fail_next) {
        pm->fail_next = 0;
        return -EIO;
    }
    if (b->st.log_start > pm->st.log_start)
        pm->st.log_start = b->st.log_start;
    pm->st.promised = b->st.promised;
    pm->st.commit = b->st.commit;
    if (pm->hi < pm->st.log_start)
        pm->hi = pm->st.log_start;
    for (size_t i = 0; i < b->n; i++) {
        int rc = put(pm, &b->recs[i]);
        if (rc < 0)
            return rc;
    }
    pm->saves++;
    return 0;
}

static int mem_load(void *ctx, struct cons_persist_state *st,
                    int (*each)(void *arg, const struct cons_rec *r), void *arg)
{
    struct persist_mem *pm = ctx;
    *st = pm->st;
    for (uint64_t s = pm->st.log_start; s < pm->hi; s++) {
        struct mem_rec *r = find(pm, s);
        if (!r)
            continue;
        struct cons_rec c = {.slot = s, .ballot = r->ballot, .flags = r->flags};
        c.e = (struct cons_entry){r->origin, r->req_id, r->kind, r->len, r->data};
        int rc = each(arg, &c);
        if (rc < 0)
            return rc;
    }
    return 0;
}

const struct cons_persist_ops persist_mem_ops = {mem_save, mem_load};
