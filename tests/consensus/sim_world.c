/*
 * The simulated world: the engines' host (network with delay, drop,
 * duplicate and reorder; disks that lose a save on a crash; snapshots),
 * nodes that crash and restart from their persisted state, clients, the
 * event loop and setup.
 */
#include "tests/consensus/sim.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define TICK_US      10000
#define FSYNC_US     400 /* one persist batch (design brief: fsync p50 0.35-0.5 ms) */
#define EVENT_US     5   /* CPU cost of one engine input */
#define MAX_MSGS     8192
#define CALM_OUT_MAX 16

/* ---- the engine's host interface ---- */

static uint64_t net_delay(struct world *w)
{
    if (w->calm)
        return sim_rand(w, 100, 600);
    if (sim_chance(w, w->slow_pm))
        return sim_rand(w, 5000, 60000);
    return sim_rand(w, 100, 3000);
}

static void sim_send(void *ctx, uint32_t to, const uint8_t *buf, size_t len)
{
    struct node *nd = ctx;
    struct world *w = nd->w;
    if (sim_chance(w, w->drop_pm))
        return;
    int copies = sim_chance(w, w->dup_pm) ? 2 : 1;
    for (int i = 0; i < copies; i++) {
        int32_t b = buf_get(w, buf, len);
        if (b < 0)
            return; /* network full: dropped */
        struct ev ev = {.t = w->now + nd->cost + net_delay(w),
                        .type = EV_MSG,
                        .node = (uint8_t)to,
                        .from = (uint8_t)nd->id,
                        .buf = b};
        ev_push(w, ev);
    }
}

static int sim_deliver(void *ctx, uint64_t slot, const struct cons_entry *e)
{
    struct node *nd = ctx;
    sm_apply(nd->w, nd, slot, e);
    return 1; /* applied and durable at once */
}

static void sim_proposal_done(void *ctx, uint64_t req, int64_t res)
{
    struct node *nd = ctx;
    struct creq *c = &nd->cr[req % SIM_CLIENT_MAX];
    if (c->state == 0 || c->req != req)
        return;
    if (res > 0) {
        check_report(nd->w, nd, req, (uint64_t)res);
        c->state = 0;
        nd->n_out--;
    } else {
        c->state = 2;
    }
}

static void sim_need_snapshot(void *ctx, uint32_t peer, uint64_t log_start)
{
    struct node *nd = ctx;
    (void)log_start;
    struct ev ev = {.t = nd->w->now + 3000,
                    .type = EV_SNAPSHOT,
                    .node = (uint8_t)nd->id,
                    .from = (uint8_t)peer};
    ev_push(nd->w, ev);
}

static int sim_save(void *ctx, const struct cons_persist_batch *b)
{
    struct node *nd = ctx;
    if (sim_chance(nd->w, nd->w->crash_persist_pm)) {
        nd->crash_pending = 1;
        nd->w->persist_crashes++;
        return -EIO; /* power lost during the write: nothing of it is stored */
    }
    nd->cost += FSYNC_US;
    return persist_mem_ops.save(&nd->disk, b);
}

static int sim_load(void *ctx, struct cons_persist_state *st,
                    int (*each)(void *arg, const struct cons_rec *r), void *arg)
{
    struct node *nd = ctx;
    return persist_mem_ops.load(&nd->disk, st, each, arg);
}

static const struct cons_persist_ops sim_persist_ops = {sim_save, sim_load};

/* ---- nodes ---- */

void node_crash(struct node *nd)
{
    if (!nd->up)
        return;
    engine_destroy(nd->eng);
    nd->eng = NULL;
    nd->up = 0;
    nd->crash_pending = 0;
    memset(nd->cr, 0, sizeof(nd->cr)); /* its callers died with it */
    nd->n_out = 0;
    nd->w->crashes++;
}

void node_wipe(struct node *nd)
{
    struct world *w = nd->w;
    node_crash(nd);
    persist_mem_free(&nd->disk);
    sm_free(&nd->sm);
    memset(&nd->sm, 0, sizeof(nd->sm));
    if (persist_mem_init(&nd->disk) < 0) {
        sim_fail(w, "out of memory");
        return;
    }
    w->wipes++;
    node_start(nd);
}

int node_rebuilding(struct node *nd)
{
    if (!nd->up)
        return nd->disk.st.promised == 0 && nd->boots > 0;
    struct engine_status st;
    engine_status(nd->eng, &st);
    return st.rebuilding;
}

void node_start(struct node *nd)
{
    struct world *w = nd->w;
    if (nd->up)
        return;
    struct cons_host host = {
        nd, sim_send, sim_deliver, sim_proposal_done, sim_need_snapshot, &sim_persist_ops, nd};
    int first = nd->boots == 0; /* a new member, as `qfs init` marks one */
    struct engine_config cfg = {.self = nd->id,
                                .new_member = first,
                                .n_nodes = w->n,
                                .params = w->params,
                                .rng_seed = w->seed * 31 + nd->id * 7 + (nd->boots++ << 20),
                                .applied = nd->sm.applied,
                                .broken = w->broken & 0xffff};
    int rc = engine_create(&nd->eng, &cfg, &host, w->now);
    if (rc < 0) {
        sim_fail(w, "node %u cannot restart from its persisted state: %d", nd->id, rc);
        return;
    }
    nd->up = 1;
    nd->busy_until = w->now;
}

/* Accounts the time the call took and crashes the node if the engine failed. */
static void after_call(struct node *nd, int rc)
{
    nd->busy_until = nd->w->now + nd->cost + EVENT_US;
    nd->cost = 0;
    if (rc < 0 || nd->crash_pending)
        node_crash(nd);
}

void node_transfer(struct node *nd)
{
    struct engine_status st;
    if (!nd->up || nd->w->now < nd->busy_until)
        return;
    engine_status(nd->eng, &st);
    if (st.role != ROLE_LEADER)
        return;
    uint32_t to = (nd->id + (uint32_t)sim_rand(nd->w, 1, nd->w->n - 1)) % nd->w->n;
    int rc = engine_transfer_leadership(nd->eng, to, nd->w->now);
    nd->w->transfers += rc == 0;
    after_call(nd, rc == -EBUSY || rc == -EAGAIN ? 0 : rc);
}

/* ---- clients ---- */

static void propose(struct node *nd, struct creq *c)
{
    uint8_t buf[64];
    uint32_t len;
    client_command(nd->w, nd->id, c->req, buf, &len);
    int rc = engine_propose(nd->eng, buf, len, c->req, nd->w->now);
    c->state = rc == 0 ? 1 : 2;
    after_call(nd, rc == -EAGAIN ? 0 : rc);
}

static int record_proposal(struct world *w, uint32_t origin, uint64_t req)
{
    if (req >= w->prop_cap[origin]) {
        size_t n = w->prop_cap[origin] ? w->prop_cap[origin] * 2 : 1024;
        uint64_t *p = realloc(w->proposed[origin], n * sizeof(*p));
        if (!p)
            return -1;
        memset(p + w->prop_cap[origin], 0, (n - w->prop_cap[origin]) * sizeof(*p));
        w->proposed[origin] = p;
        w->prop_cap[origin] = n;
    }
    uint8_t buf[64];
    uint32_t len;
    client_command(w, origin, req, buf, &len);
    struct cons_entry e = {origin, req, CONS_KIND_CMD, len, buf};
    w->proposed[origin][req] = entry_hash(&e);
    return 0;
}

static void client_step(struct world *w, struct node *nd)
{
    for (uint32_t i = 0; i < SIM_CLIENT_MAX && nd->up; i++)
        if (nd->cr[i].state == 2)
            propose(nd, &nd->cr[i]);
    uint32_t limit = w->bench ? SIM_CLIENT_MAX : CALM_OUT_MAX;
    while (nd->up && nd->n_out < limit && (w->bench || sim_rand(w, 0, 9) < 6)) {
        struct creq *c = &nd->cr[nd->next_req % SIM_CLIENT_MAX];
        if (c->state) /* keeps in-flight ids within the de-dup window */
            break;
        if (record_proposal(w, nd->id, nd->next_req) < 0)
            return;
        *c = (struct creq){nd->next_req++, w->now, 1};
        nd->n_out++;
        propose(nd, c);
        if (!w->bench)
            break;
    }
}

/* ---- events ---- */

#define SIM_BATCH 16

/* Messages for one node due at the same time (typically queued while it was
 * busy with a save) reach it as one batch, as the daemon's inbox does. */
static void on_msg(struct world *w, const struct ev *ev)
{
    struct node *to = &w->nodes[ev->node];
    struct cons_frame f[SIM_BATCH];
    struct ev evs[SIM_BATCH];
    size_t n = 0, live = 0;
    evs[n++] = *ev;
    while (n < SIM_BATCH && w->hn && w->heap[0].type == EV_MSG && w->heap[0].t == ev->t &&
           w->heap[0].node == ev->node)
        evs[n++] = ev_pop(w);
    for (size_t i = 0; i < n; i++)
        if (w->link[evs[i].from][ev->node])
            f[live++] = (struct cons_frame){w->bufs[evs[i].buf].data, w->bufs[evs[i].buf].len};
    if (to->up && live)
        after_call(to, engine_receive_batch(to->eng, f, live, w->now));
    for (size_t i = 0; i < n; i++)
        buf_put(w, evs[i].buf);
}

static void on_snapshot(struct world *w, const struct ev *ev)
{
    struct node *nd = &w->nodes[ev->node], *peer = &w->nodes[ev->from];
    if (!nd->up || !peer->up || !w->link[nd->id][peer->id] || peer->sm.applied <= nd->sm.applied)
        return;
    if (sm_copy(&nd->sm, &peer->sm) < 0) {
        sim_fail(w, "out of memory");
        return;
    }
    w->snapshots++;
    after_call(nd, engine_install_snapshot(nd->eng, nd->sm.applied, w->now));
}

static void handle(struct world *w, const struct ev *ev)
{
    struct node *nd = &w->nodes[ev->node];
    switch (ev->type) {
    case EV_MSG:
        on_msg(w, ev);
        check_lease(w, nd);
        break;
    case EV_TICK:
        if (nd->up)
            after_call(nd, engine_tick(nd->eng, w->now));
        check_liveness(w, nd);
        ev_schedule(w, w->now + TICK_US, EV_TICK, ev->node, 0);
        break;
    case EV_CLIENT:
        if (nd->up)
            client_step(w, nd);
        ev_schedule(w, w->now + (w->bench ? 1000 : sim_rand(w, 3000, 30000)), EV_CLIENT, ev->node,
                    0);
        break;
    case EV_FAULT:
        if (w->calm || (uint64_t)ev->buf != w->gen)
            break;
        fault(w);
        ev_schedule(w, w->now + sim_rand(w, 20000, 300000), EV_FAULT, 0, (int32_t)w->gen);
        break;
    case EV_PHASE:
        if (w->calm)
            check_calm_end(w);
        if (w->calm && !w->failed)
            enter_chaos(w);
        else
            enter_calm(w);
        break;
    case EV_SNAPSHOT:
        on_snapshot(w, ev);
        break;
    case EV_TRANSFER:
        /* Not in calm phases, whose end requires a working leader at that
         * instant: a hand-over takes a few message delays. The calm phase
         * after one shows that it leaves nothing wedged. */
        for (uint32_t i = 0; i < w->n && !w->calm; i++)
            node_transfer(&w->nodes[i]);
        ev_schedule(w, w->now + sim_rand(w, 20000, 300000), EV_TRANSFER, 0, 0);
        break;
    }
}

/* An event for a node still busy with an earlier one waits for it. */
static int node_busy(struct world *w, struct ev *ev)
{
    if (ev->type != EV_MSG && ev->type != EV_TICK && ev->type != EV_CLIENT)
        return 0;
    struct node *nd = &w->nodes[ev->node];
    if (!nd->up || ev->t >= nd->busy_until)
        return 0;
    ev->t = nd->busy_until;
    ev_push(w, *ev);
    return 1;
}

int world_run(struct world *w, uint64_t steps, uint64_t until)
{
    while (!w->failed && w->steps < steps && w->hn && w->heap[0].t <= until) {
        struct ev ev = ev_pop(w);
        w->now = ev.t;
        if (node_busy(w, &ev))
            continue;
        w->steps++;
        handle(w, &ev);
    }
    return w->failed;
}

/* ---- setup ---- */

static void sim_params(struct world *w)
{
    struct cons_params *p = &w->params;
    cons_params_default(p);
    p->heartbeat_us = 30000;
    p->election_min_us = 150000;
    p->election_max_us = 300000;
    p->resend_us = 40000;
    p->forward_retry_us = 300000;
    p->propose_timeout_us = 1500000;
    p->batch_max = w->batch;
    p->inflight_max = 8;
    p->queue_max = 1024;
    p->retain = w->bench ? 8192 : 512;
    p->log_cap = 1024 + p->retain + 2 * w->batch * p->inflight_max;
    /* Broken variants run without check-quorum: it makes stale leaders rare,
     * and a lost promise only shows through one. It is a liveness aid that
     * safety never relies on. */
    p->check_quorum = w->broken == 0;
}

static int alloc_world(struct world *w)
{
    w->bufs = calloc(MAX_MSGS, sizeof(*w->bufs));
    w->free_bufs = calloc(MAX_MSGS, sizeof(*w->free_bufs));
    if (!w->bufs || !w->free_bufs)
        return -ENOMEM;
    for (int32_t i = 0; i < MAX_MSGS; i++)
        w->free_bufs[i] = MAX_MSGS - 1 - i;
    w->nbufs = w->nfree = MAX_MSGS;
    return 0;
}

int world_init(struct world *w, uint32_t n, uint64_t seed, uint32_t broken, uint32_t batch,
               uint32_t bench)
{
    memset(w, 0, sizeof(*w));
    w->n = n;
    w->seed = seed;
    w->rng = seed * 0x9e3779b97f4a7c15ull + 12345;
    w->broken = broken;
    w->batch = batch;
    w->bench = bench;
    sim_params(w);
    if (alloc_world(w) < 0)
        return -ENOMEM;
    for (uint32_t i = 0; i < n; i++) {
        struct node *nd = &w->nodes[i];
        nd->w = w;
        nd->id = i;
        nd->next_req = 1;
        if (persist_mem_init(&nd->disk) < 0)
            return -ENOMEM;
        node_start(nd);
        ev_schedule(w, sim_rand(w, 0, TICK_US), EV_TICK, i, 0);
        ev_schedule(w, sim_rand(w, 0, 10000), EV_CLIENT, i, 0);
    }
    set_groups(w, 0);
    if (bench) {
        w->calm = 1;
        w->stable_mask = (1u << n) - 1;
    } else {
        enter_chaos(w);
        ev_schedule(w, sim_rand(w, 50000, 1000000), EV_TRANSFER, 0, 0);
    }
    return w->failed ? -EIO : 0;
}

void world_free(struct world *w)
{
    for (uint32_t i = 0; i < w->n; i++) {
        engine_destroy(w->nodes[i].eng);
        persist_mem_free(&w->nodes[i].disk);
        sm_free(&w->nodes[i].sm);
        free(w->proposed[i]);
    }
    for (size_t i = 0; w->bufs && i < w->nbufs; i++)
        free(w->bufs[i].data);
    free(w->bufs);
    free(w->free_bufs);
    free(w->heap);
    free(w->slots);
}
