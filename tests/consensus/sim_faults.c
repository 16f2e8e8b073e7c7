/*
 * Fault phases: chaos (crashes, restarts, lost disks, pauses, partitions,
 * cut links, lossy network) alternating with calm (a fully connected
 * majority, no faults; every node while one is rebuilding).
 */
#include "tests/consensus/sim.h"

void enter_chaos(struct world *w)
{
    w->calm = 0;
    w->drop_pm = (uint32_t)sim_rand(w, 0, 150);
    w->dup_pm = (uint32_t)sim_rand(w, 0, 50);
    w->slow_pm = (uint32_t)sim_rand(w, 0, 100);
    w->crash_persist_pm = (uint32_t)sim_rand(w, 10, 80);
    w->gen++;
    ev_schedule(w, w->now + sim_rand(w, 1000, 100000), EV_FAULT, 0, (int32_t)w->gen);
    ev_schedule(w, w->now + sim_rand(w, 300000, 2500000), EV_PHASE, 0, 0);
}

static void set_link(struct world *w, uint32_t i, uint32_t j, int ok)
{
    w->link[i][j] = w->link[j][i] = (uint8_t)ok;
}

/* Partitions: nodes in different groups cannot talk. */
void set_groups(struct world *w, uint32_t max_group)
{
    for (uint32_t i = 0; i < w->n; i++)
        w->nodes[i].group = (uint32_t)sim_rand(w, 0, max_group);
    for (uint32_t i = 0; i < w->n; i++)
        for (uint32_t j = 0; j < w->n; j++)
            set_link(w, i, j, w->nodes[i].group == w->nodes[j].group);
}

/* Any subset of links cut: A may hear B and C while B and C are cut off. */
static void cut_links(struct world *w)
{
    for (uint32_t i = 0; i < w->n; i++)
        for (uint32_t j = i + 1; j < w->n; j++)
            set_link(w, i, j, sim_rand(w, 0, 99) >= 35);
}

static int any_rebuilding(struct world *w)
{
    for (uint32_t i = 0; i < w->n; i++)
        if (node_rebuilding(&w->nodes[i]))
            return 1;
    return 0;
}

/* A random majority is restarted, fully connected and cut off from the
 * rest (which may be up or down). No faults until the next chaos phase.
 * While a node is rebuilding the majority is everybody: it votes only once
 * every member has answered (docs/consensus.md, "Rebuild").
 * Liveness is only promised to such a majority: with partial connectivity
 * (A hears B and C, B and C cut) a proposal of C may wait for the partition
 * to heal, because proposals are not relayed. */
void enter_calm(struct world *w)
{
    w->calm = 1;
    w->drop_pm = w->dup_pm = w->slow_pm = w->crash_persist_pm = 0;
    uint32_t want = (uint32_t)sim_rand(w, w->n / 2 + 1, w->n), mask = 0;
    if (any_rebuilding(w))
        want = w->n;
    while ((uint32_t)__builtin_popcount(mask) < want)
        mask |= 1u << sim_rand(w, 0, w->n - 1);
    cut_links(w); /* among the others, anything goes */
    for (uint32_t i = 0; i < w->n; i++) {
        if ((mask >> i) & 1)
            node_start(&w->nodes[i]);
        for (uint32_t j = 0; j < w->n; j++)
            if (((mask >> i) & 1) || ((mask >> j) & 1))
                set_link(w, i, j, ((mask >> i) & (mask >> j) & 1) != 0);
    }
    w->stable_mask = mask;
    w->calm_start = w->now;
    ev_schedule(w, w->now + sim_rand(w, 4500000, 7000000), EV_PHASE, 0, 0);
}

/* A process pause (SIGSTOP, a VM or GC stall): the node handles nothing for
 * up to 1.5 s and then everything that waited, in arrival order; time has
 * moved on, so a leader wakes with stale beliefs about its followers. */
static void node_pause(struct node *nd)
{
    struct world *w = nd->w;
    if (nd->up)
        nd->busy_until = w->now + sim_rand(w, 50000, 1500000);
}

void fault(struct world *w)
{
    struct node *nd = &w->nodes[sim_rand(w, 0, w->n - 1)];
    uint64_t r = sim_rand(w, 0, 99);
    if (r < 25) {
        node_crash(nd);
    } else if (r < 50) {
        node_start(nd);
    } else if (r < 60) {
        set_groups(w, 2);
    } else if (r < 70) {
        cut_links(w);
    } else if (r < 80) {
        set_groups(w, 0); /* heal */
    } else if (r < 88) {
        node_pause(nd);
    } else if (r < 90 && !any_rebuilding(w)) {
        node_wipe(nd); /* one lost disk at a time: two are a majority of three */
    } else {
        node_crash(nd); /* reboot */
        node_start(nd);
    }
}
