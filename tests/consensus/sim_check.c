/*
 * The simulator's state machine and its checks: agreement, validity,
 * durability of reported commits, at-most-once application, liveness.
 */
#include "tests/consensus/sim.h"

#include "consensus/rng.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIVE_BOUND_US 4000000 /* a pending proposal commits this soon in calm */

void sim_fail(struct world *w, const char *fmt, ...)
{
    if (w->failed)
        return;
    w->failed = 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->why, sizeof(w->why), fmt, ap);
    va_end(ap);
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

uint64_t entry_hash(const struct cons_entry *e)
{
    uint64_t h = 0xcbf29ce484222325ull;
    uint64_t hdr[3] = {e->origin, e->kind == CONS_KIND_NOOP ? 0 : e->req_id, e->kind};
    h = fnv(h, hdr, sizeof(hdr));
    return fnv(h, e->data, e->len) | 1; /* 0 means "unknown" in tables */
}

/* The bytes of request (origin, req): a pure function of both. */
void client_command(struct world *w, uint32_t origin, uint64_t req, uint8_t *buf, uint32_t *len)
{
    uint64_t s = w->seed * 1000003 + origin * 7919 + req;
    *len = 8 + (uint32_t)(rng_next(&s) % 56);
    for (uint32_t i = 0; i < *len; i++)
        buf[i] = (uint8_t)rng_next(&s);
}

static int grow_slots(struct world *w, size_t need)
{
    if (need < w->slots_cap)
        return 0;
    size_t n = w->slots_cap ? w->slots_cap : 1024;
    while (n <= need)
        n *= 2;
    struct slotinfo *p = realloc(w->slots, n * sizeof(*p));
    if (!p)
        return -1;
    memset(p + w->slots_cap, 0, (n - w->slots_cap) * sizeof(*p));
    w->slots = p;
    w->slots_cap = n;
    return 0;
}

int check_proposed(struct world *w, uint32_t origin, uint64_t req, uint64_t hash)
{
    if (origin >= w->n || req >= w->prop_cap[origin] || w->proposed[origin][req] != hash) {
        sim_fail(w, "validity: (%u, %llu) was never proposed with these bytes", origin,
                 (unsigned long long)req);
        return -1;
    }
    return 0;
}

static int bit_test_set(struct bitset *b, uint64_t i)
{
    if (i / 64 >= b->nw) {
        size_t n = b->nw ? b->nw : 16;
        while (n <= i / 64)
            n *= 2;
        uint64_t *p = realloc(b->w, n * sizeof(*p));
        if (!p)
            return -1;
        memset(p + b->nw, 0, (n - b->nw) * sizeof(*p));
        b->w = p;
        b->nw = n;
    }
    int was = (b->w[i / 64] >> (i % 64)) & 1;
    b->w[i / 64] |= 1ull << (i % 64);
    return was;
}

static void apply_cmd(struct world *w, struct node *nd, const struct cons_entry *e, uint64_t h)
{
    if (check_proposed(w, e->origin, e->req_id, h) < 0)
        return;
    int admit =
        (w->broken & SIM_BROKEN_NO_DEDUP) ? 1 : dedup_admit(&nd->sm.dd, e->origin, e->req_id);
    if (!admit)
        return;
    if (bit_test_set(&nd->sm.seen[e->origin], e->req_id) == 1)
        sim_fail(w, "at-most-once: node %u applied (%u, %llu) twice", nd->id, e->origin,
                 (unsigned long long)e->req_id);
    nd->sm.ncmds++;
}

int sm_apply(struct world *w, struct node *nd, uint64_t slot, const struct cons_entry *e)
{
    if (slot != nd->sm.applied + 1) {
        sim_fail(w, "order: node %u got slot %llu after %llu", nd->id, (unsigned long long)slot,
                 (unsigned long long)nd->sm.applied);
        return -1;
    }
    if (grow_slots(w, slot) < 0)
        return -1;
    struct slotinfo *si = &w->slots[slot];
    uint64_t h = entry_hash(e);
    if (si->hash && si->hash != h)
        sim_fail(w, "agreement: node %u learned another value for slot %llu", nd->id,
                 (unsigned long long)slot);
    si->hash = h;
    if (e->kind == CONS_KIND_CMD)
        apply_cmd(w, nd, e, h);
    else if (e->kind != CONS_KIND_NOOP)
        sim_fail(w, "validity: unknown entry kind %u", e->kind);
    nd->sm.chain = fnv(nd->sm.chain ^ slot, &h, sizeof(h));
    nd->sm.applied = slot;
    if (si->chain && si->chain != nd->sm.chain)
        sim_fail(w, "agreement: node %u state after slot %llu differs", nd->id,
                 (unsigned long long)slot);
    si->chain = nd->sm.chain;
    if (slot > w->max_applied) {
        w->max_applied = slot;
        for (uint32_t i = 0; i < w->n; i++)
            check_lease(w, &w->nodes[i]);
    }
    return 0;
}

/* Read lease: a node whose status says it may answer reads from its commit
 * index now must know every slot chosen so far (anything some node applied).
 * The status is the engine's as of its last input: a node that is busy or
 * cut off shows an old one, as a host's cached status does. */
void check_lease(struct world *w, struct node *nd)
{
    if (!nd->up)
        return;
    struct engine_status st;
    engine_status(nd->eng, &st);
    if (w->now < st.lease_until && st.commit < w->max_applied)
        sim_fail(w,
                 "read lease: node %u holds one (%.3f s left) at commit %llu, slot %llu is chosen",
                 nd->id, (double)(st.lease_until - w->now) / 1e6, (unsigned long long)st.commit,
                 (unsigned long long)w->max_applied);
}

void check_report(struct world *w, struct node *nd, uint64_t req, uint64_t slot)
{
    uint64_t want = req < w->prop_cap[nd->id] ? w->proposed[nd->id][req] : 0;
    if (slot >= w->slots_cap || w->slots[slot].hash != want)
        sim_fail(w,
                 "durability: node %u told req %llu committed at slot %llu, which holds "
                 "something else",
                 nd->id, (unsigned long long)req, (unsigned long long)slot);
    w->committed_reports++;
}

void check_liveness(struct world *w, struct node *nd)
{
    if (!w->calm || !((w->stable_mask >> nd->id) & 1) || !nd->up)
        return;
    for (uint32_t i = 0; i < SIM_CLIENT_MAX && nd->n_out; i++) {
        const struct creq *c = &nd->cr[i];
        if (!c->state)
            continue;
        uint64_t from = c->issued > w->calm_start ? c->issued : w->calm_start;
        if (w->now > from + LIVE_BOUND_US) {
            sim_fail(w, "liveness: node %u req %llu pending %.3f s into a calm phase", nd->id,
                     (unsigned long long)c->req, (double)(w->now - w->calm_start) / 1e6);
            return;
        }
    }
}

int sm_copy(struct sim_sm *dst, const struct sim_sm *src)
{
    sm_free(dst);
    *dst = *src;
    for (int i = 0; i < SIM_MAX_NODES; i++) {
        dst->seen[i].w = NULL;
        dst->seen[i].nw = 0;
        if (!src->seen[i].nw)
            continue;
        dst->seen[i].w = malloc(src->seen[i].nw * sizeof(uint64_t));
        if (!dst->seen[i].w)
            return -1;
        memcpy(dst->seen[i].w, src->seen[i].w, src->seen[i].nw * sizeof(uint64_t));
        dst->seen[i].nw = src->seen[i].nw;
    }
    return 0;
}

void sm_free(struct sim_sm *sm)
{
    for (int i = 0; i < SIM_MAX_NODES; i++) {
        free(sm->seen[i].w);
        sm->seen[i].w = NULL;
        sm->seen[i].nw = 0;
    }
}

/* End of a calm phase: the majority has a working leader, and a node cut
 * off from everybody knows it has none (so its host can fail writes fast). */
void check_calm_end(struct world *w)
{
    for (uint32_t i = 0; i < w->n; i++) {
        struct node *nd = &w->nodes[i];
        if (!nd->up)
            continue;
        struct engine_status st;
        engine_status(nd->eng, &st);
        int alone = 1;
        for (uint32_t j = 0; j < w->n; j++)
            alone &= j == i || !w->link[i][j];
        if (((w->stable_mask >> i) & 1) && !st.quorum_ok)
            sim_fail(w, "liveness: node %u of the calm majority has no working leader", i);
        if (alone && st.quorum_ok)
            sim_fail(w, "node %u is cut off from everybody but reports a quorum", i);
    }
}
