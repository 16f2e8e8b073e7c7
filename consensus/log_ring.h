/*
 * log_ring.h - the engine's in-memory view of the log: a fixed ring of
 * `cap` slots covering [start, start + cap). A slot outside that window is
 * not held (below: truncated; above: no room yet, the sender retries later).
 * Each ring cell owns a data buffer that grows to its largest command and is
 * then reused, so steady state allocates nothing.
 */
#ifndef QFS_CONSENSUS_LOG_RING_H
#define QFS_CONSENSUS_LOG_RING_H

#include "consensus/types.h"

#include <stdint.h>

enum slot_state { SLOT_EMPTY = 0, SLOT_ACCEPTED = 1, SLOT_CHOSEN = 2 };

struct ring_slot {
    uint64_t slot;   /* which slot this cell holds; lazily reset when reused */
    uint64_t ballot; /* ballot the value was accepted in */
    uint8_t state;   /* enum slot_state */
    uint8_t dirty;   /* must go into the next persist batch */
    uint8_t kind;
    uint32_t origin;
    uint64_t req_id;
    uint32_t len, cap;
    uint8_t *data;
};

struct log_ring {
    struct ring_slot *cell;
    uint64_t cap;   /* power of two */
    uint64_t start; /* first slot held (log_start) */
    uint64_t high;  /* one past the highest slot ever given a value */
};

int ring_init(struct log_ring *r, uint64_t cap);
void ring_free(struct log_ring *r);

/* The cell for slot, or NULL when slot is outside the window. */
struct ring_slot *ring_get(struct log_ring *r, uint64_t slot);

/* Copies e into the cell (value, origin, req id, kind); -ENOMEM on failure. */
int ring_set_value(struct log_ring *r, struct ring_slot *c, const struct cons_entry *e);

/* The cell's value as an entry (data points into the cell). */
struct cons_entry ring_entry(const struct ring_slot *c);

#endif
