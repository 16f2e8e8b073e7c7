/*
 * dedup.h - at-most-once application of retried commands.
 *
 * Part of the replicated state machine, not of the engine: the applying host
 * calls dedup_admit() for every committed CMD entry, in slot order, in the
 * same transaction as the apply, and persists/snapshots the table with the
 * rest of its state. Because every node applies the same log, every node
 * reaches the same verdict.
 *
 * Per origin node it keeps the highest request id seen and a bitmap of the
 * DEDUP_WINDOW ids up to it. A node must never have more than DEDUP_WINDOW
 * requests in flight (the engine's pending limit is that) and must never
 * reuse a request id, also across restarts. An id older than the window is
 * refused: it can only be a stale retry.
 */
#ifndef QFS_CONSENSUS_DEDUP_H
#define QFS_CONSENSUS_DEDUP_H

#include "consensus/types.h"

#include <stdint.h>

#define DEDUP_WINDOW  256
#define DEDUP_WORDS   (DEDUP_WINDOW / 64)
#define DEDUP_ENC_LEN (CONS_MAX_NODES * 8 * (1 + DEDUP_WORDS))

struct dedup_table {
    struct {
        uint64_t high;              /* highest req id applied from this origin (0 = none) */
        uint64_t bits[DEDUP_WORDS]; /* bit (id % WINDOW) set: id applied, for ids in the window */
    } o[CONS_MAX_NODES];
};

/* 1: first time, apply it. 0: duplicate or too old, skip it. */
int dedup_admit(struct dedup_table *t, uint32_t origin, uint64_t req_id);
/* Before dedup_admit: 1 if req_id is older than the window (whether it was
 * applied is no longer known), 0 if the window still tells. */
int dedup_too_old(const struct dedup_table *t, uint32_t origin, uint64_t req_id);

/* Fixed-size little-endian encoding for the host's store and snapshots. */
void dedup_encode(const struct dedup_table *t, uint8_t out[DEDUP_ENC_LEN]);
void dedup_decode(struct dedup_table *t, const uint8_t in[DEDUP_ENC_LEN]);

#endif
