/*
 * gc_grace.h - what the collector remembers so that, in a cluster, it
 * deletes a dead chunk only after a grace period: recent touches (chunks a
 * peer pushed or found present here) and since when each queued chunk has
 * been seen unreferenced. Used by gc.c only; the caller's locks guard both
 * (gc.h says which).
 *
 * Invariants:
 *  - Touches: a hash touched at time t is reported recent until at least
 *    t + grace (two generations of a Bloom filter, each at least grace long;
 *    false positives only postpone a deletion). Fixed memory.
 *  - Dead times: a pass over the GC queue looks each hash up in the table of
 *    the previous pass and keeps the hashes still waiting in a new one. A
 *    hash not found (first seen, or the table was full) counts as dead since
 *    now: a miss only postpones a deletion. Fixed memory; nothing to clear
 *    (entries carry their pass number).
 */
#ifndef QFS_FS_CORE_GC_GRACE_H
#define QFS_FS_CORE_GC_GRACE_H

#include "common/sha256.h"

#include <stdbool.h>
#include <stdint.h>

struct gc_touches {
    uint64_t *bits[2]; /* bits[cur] takes new touches; the other is older */
    int cur;
    uint64_t gen_start_ms; /* when bits[cur] started */
};

int gc_touches_init(struct gc_touches *t);
void gc_touches_free(struct gc_touches *t);
void gc_touches_add(struct gc_touches *t, const uint8_t hash[SHA256_LEN], uint64_t now_ms,
                    uint64_t grace_ms);
bool gc_touches_recent(struct gc_touches *t, const uint8_t hash[SHA256_LEN], uint64_t now_ms,
                       uint64_t grace_ms);

struct gc_dead_ent;
struct gc_dead {
    struct gc_dead_ent *tab[2]; /* tab[pass & 1] is filled, the other read */
    uint64_t pass;
    uint32_t n_kept; /* entries in this pass's table */
};

int gc_dead_init(struct gc_dead *d);
void gc_dead_free(struct gc_dead *d);
/* When hash was first seen dead by a pass before this one, else now_ms. */
uint64_t gc_dead_since(const struct gc_dead *d, const uint8_t hash[SHA256_LEN], uint64_t now_ms);
/* Remembers a hash that keeps waiting (dropped when the table is full). */
void gc_dead_keep(struct gc_dead *d, const uint8_t hash[SHA256_LEN], uint64_t since_ms);
/* Ends a pass: what it kept becomes what the next one looks up. */
void gc_dead_next_pass(struct gc_dead *d);

/* CLOCK_MONOTONIC in milliseconds. */
uint64_t gc_now_ms(void);

#endif
