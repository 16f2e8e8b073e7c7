/*
 * leader_place.h - hands the leadership to the node the commands come from.
 *
 * A command proposed on a follower pays a forward to the leader and the
 * commit's way back: on a demo cluster on loopback a create took 1.05 ms
 * (p50) on a follower's mount against 0.60 ms on the leader's. When one
 * node proposes nearly everything (one person at one machine, the common
 * case for a few machines), the leader hands its office to that node
 * (engine_transfer_leadership).
 *
 * The leader counts the commands it delivers by origin over windows of
 * PLACE_WINDOW_MS. When another node proposed at least PLACE_SHARE_PCT
 * percent of at least PLACE_MIN_CMDS commands in two windows running, the
 * hand-over is due, and is tried at every turn for one more window (the
 * engine hands over only between rounds). Load spread over several nodes
 * never moves it; a node that handed over does not again for
 * PLACE_QUIET_MS, so two nodes taking turns move it at most that often.
 *
 * Not thread-safe: the consensus thread owns it.
 */
#ifndef QFS_FS_CLUSTER_LEADER_PLACE_H
#define QFS_FS_CLUSTER_LEADER_PLACE_H

#include "consensus/types.h"

#include <stdbool.h>
#include <stdint.h>

#define PLACE_WINDOW_MS 1000
#define PLACE_MIN_CMDS  100
#define PLACE_SHARE_PCT 80
#define PLACE_QUIET_MS  10000

struct leader_place {
    bool leading;             /* leader at the last call */
    uint64_t window_start_us; /* the current window's */
    uint32_t count[CONS_MAX_NODES];
    int32_t last_top; /* who dominated the previous window (-1: nobody) */
    int32_t due;      /* whom to hand over to (-1: nobody) */
    uint64_t due_until_us;
    uint64_t quiet_until_us;
};

void leader_place_init(struct leader_place *p);
/* A command that origin proposed was delivered here. */
void leader_place_note(struct leader_place *p, uint32_t origin);
/* At every turn: the node to hand the leadership to now, or -1. */
int32_t leader_place_due(struct leader_place *p, uint32_t self, bool leader, uint64_t now_us);
/* The hand-over was done, or refused for good: nothing due until the quiet
 * time has passed. */
void leader_place_done(struct leader_place *p, uint64_t now_us);

#endif
