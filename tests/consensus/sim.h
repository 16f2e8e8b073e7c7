/*
 * sim.h - deterministic simulator of a consensus cluster in one process.
 *
 * One seed drives everything (network delays, drops, duplicates, partitions,
 * crashes, client load, every engine's election timer), so a run replays
 * exactly from its seed. Time is simulated (microseconds); a step is one
 * event taken from the event heap. Checks run as events happen (sim_check.c).
 */
#ifndef QFS_TESTS_CONSENSUS_SIM_H
#define QFS_TESTS_CONSENSUS_SIM_H

#include "consensus/dedup.h"
#include "consensus/engine.h"
#include "consensus/persist_mem.h"

#include <stddef.h>
#include <stdint.h>

#define SIM_MAX_NODES       7
#define SIM_CLIENT_MAX      DEDUP_WINDOW
#define SIM_BROKEN_NO_DEDUP (1u << 16) /* the state machine skips dedup_admit() */

enum ev_type { EV_MSG, EV_TICK, EV_CLIENT, EV_FAULT, EV_PHASE, EV_SNAPSHOT, EV_TRANSFER };

struct ev {
    uint64_t t, seq;
    uint8_t type, node, from;
    int32_t buf; /* EV_MSG: index into the buffer pool */
};

struct bitset {
    uint64_t *w;
    size_t nw;
};

/* The replicated state machine every node applies (durable across crashes). */
struct sim_sm {
    uint64_t applied, chain, ncmds;
    struct dedup_table dd;
    struct bitset seen[SIM_MAX_NODES]; /* (origin, req) applied: checker's own view */
};

struct creq { /* one client request of a node */
    uint64_t req, issued;
    uint8_t state; /* 0 free, 1 in the engine, 2 to be retried */
};

struct node {
    struct world *w;
    uint32_t id, group;
    int up, crash_pending;
    struct engine *eng;
    struct persist_mem disk;
    struct sim_sm sm;
    uint64_t busy_until, cost, boots, next_req;
    struct creq cr[SIM_CLIENT_MAX];
    uint32_t n_out;
};

struct msgbuf {
    uint8_t *data;
    uint32_t len, cap;
};

struct world {
    /* run parameters */
    uint32_t n, broken, batch, bench;
    uint64_t seed, max_steps;
    struct cons_params params;
    /* simulation state */
    uint64_t rng, now, seq, steps;
    struct ev *heap;
    size_t hn, hcap;
    struct msgbuf *bufs;
    int32_t *free_bufs;
    size_t nbufs, nfree;
    struct node nodes[SIM_MAX_NODES];
    /* fault model */
    int calm;
    uint32_t stable_mask;                       /* calm phase: the connected majority */
    uint8_t link[SIM_MAX_NODES][SIM_MAX_NODES]; /* 1: i and j can talk (symmetric) */
    uint64_t calm_start, gen;                   /* gen: fault chain of the current chaos phase */
    uint32_t drop_pm, dup_pm, slow_pm, crash_persist_pm; /* per mille */
    /* checker's global knowledge */
    struct slotinfo {
        uint64_t hash, chain; /* the entry learned for the slot; state after it */
    } * slots;
    size_t slots_cap;
    uint64_t *proposed[SIM_MAX_NODES]; /* entry hash by req id */
    size_t prop_cap[SIM_MAX_NODES];
    uint64_t max_client_req;
    uint64_t max_applied; /* highest slot any node applied: chosen */
    /* outcome */
    int failed;
    char why[256];
    uint64_t committed_reports, snapshots, crashes, persist_crashes, transfers, wipes;
};

/* sim_events.c */
uint64_t sim_rand(struct world *w, uint64_t lo, uint64_t hi);
int sim_chance(struct world *w, uint32_t per_mille);
void ev_push(struct world *w, struct ev ev);
struct ev ev_pop(struct world *w);
void ev_schedule(struct world *w, uint64_t at, uint8_t type, uint32_t node, int32_t arg);
int32_t buf_get(struct world *w, const uint8_t *data, size_t len); /* -1: pool empty */
void buf_put(struct world *w, int32_t i);

/* sim_faults.c */
void enter_chaos(struct world *w);
void enter_calm(struct world *w);
void fault(struct world *w);
void set_groups(struct world *w, uint32_t max_group);

/* sim_world.c */
void node_start(struct node *nd);
void node_crash(struct node *nd);
/* A lost disk: nd restarts with no Paxos state and an empty state machine,
 * under the same identity. */
void node_wipe(struct node *nd);
/* nd may not vote yet: its engine is rebuilding, or it is down with no
 * promise on its disk and has run before, so it will rebuild when started. */
int node_rebuilding(struct node *nd);
/* If nd leads: hands the leadership to a random other node (refusals are
 * fine: they change nothing). */
void node_transfer(struct node *nd);
int world_init(struct world *w, uint32_t n, uint64_t seed, uint32_t broken, uint32_t batch,
               uint32_t bench);
void world_free(struct world *w);
/* Runs until `steps` events or simulated time `until`: 0 all checks held, 1 failed. */
int world_run(struct world *w, uint64_t steps, uint64_t until);

/* sim_check.c */
void sim_fail(struct world *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int sm_apply(struct world *w, struct node *nd, uint64_t slot, const struct cons_entry *e);
int sm_copy(struct sim_sm *dst, const struct sim_sm *src);
void sm_free(struct sim_sm *sm);
uint64_t entry_hash(const struct cons_entry *e);
int check_proposed(struct world *w, uint32_t origin, uint64_t req, uint64_t hash);
void check_report(struct world *w, struct node *nd, uint64_t req, uint64_t slot);
void check_liveness(struct world *w, struct node *nd);
void check_lease(struct world *w, struct node *nd);
void check_calm_end(struct world *w);
void client_command(struct world *w, uint32_t origin, uint64_t req, uint8_t *buf, uint32_t *len);

#endif
