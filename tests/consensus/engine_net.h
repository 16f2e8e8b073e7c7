/*
 * engine_net.h - ENET_N consensus engines (consensus/engine.h) on an
 * in-memory network, for unit tests: a packet waits in the queue until
 * enet_step() delivers it, a link can be cut one way, the clock is
 * simulated and saves go to persist_mem. One network at a time (enet).
 */
#ifndef QFS_TESTS_CONSENSUS_ENGINE_NET_H
#define QFS_TESTS_CONSENSUS_ENGINE_NET_H

#include "consensus/engine.h"
#include "consensus/persist_mem.h"

#include <stddef.h>
#include <stdint.h>

#define ENET_N       3
#define ENET_MAX     4096
#define ENET_STEP_US 5000

struct enet_packet {
    uint32_t from, to, len;
    uint8_t *data;
};

struct enet {
    struct enet_packet q[ENET_MAX];
    uint32_t n;
    uint8_t cut[ENET_N][ENET_N]; /* 1: packets from i to j are lost */
    uint64_t now;
    struct persist_mem pm[ENET_N];
    struct engine *e[ENET_N];
    uint32_t ctx_id[ENET_N];
    /* Sees every packet sent (cut or not), when set. */
    void (*watch)(uint32_t from, uint32_t to, const uint8_t *b, size_t len);
};

extern struct enet *enet; /* the test's network, between start and stop */

/* Creates the engines with params p (node i seeded 7 + i): a new cluster. */
void enet_start(const struct cons_params *p);
/* Node i loses its disk: restarted with no Paxos state, not as a new member
 * (so it rebuilds), with the broken variant `broken` (0: none). */
void enet_wipe(uint32_t i, const struct cons_params *p, uint32_t broken);
void enet_stop(void);
/* Delivers what is queued (answers queue behind, up to 8 passes), then
 * advances the clock by ENET_STEP_US and ticks every node. */
void enet_step(void);
void enet_run_for(uint64_t us);
/* The node every node in the mask calls leader, with a quorum, or -1. */
int enet_agreed_leader(uint32_t among);
/* Steps until there is one (fails the test after 10 s). */
int enet_wait_leader(uint32_t among);

#endif
