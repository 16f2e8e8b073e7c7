/*
 * persist.h - how the engine makes acceptor state durable.
 *
 * The engine hands a backend one batch per engine input (group commit: one
 * durable write, one fsync, for however many slots the batch holds) and sends
 * no reply that depends on the batch before save() has returned 0. save() is
 * all-or-nothing: after a crash either the whole batch is there or none of it.
 * Records below log_start may be dropped by the backend (truncation).
 */
#ifndef QFS_CONSENSUS_PERSIST_H
#define QFS_CONSENSUS_PERSIST_H

#include "consensus/types.h"

#include <stddef.h>
#include <stdint.h>

/* One log slot as the acceptor holds it. flags: CONS_REC_CHOSEN. */
struct cons_rec {
    uint64_t slot;
    uint64_t ballot; /* ballot the value was accepted in */
    uint8_t flags;
    struct cons_entry e;
};

struct cons_persist_state {
    uint64_t promised;  /* highest ballot promised */
    uint64_t commit;    /* every slot <= commit is chosen */
    uint64_t log_start; /* first slot still held; earlier ones were truncated */
};

struct cons_persist_batch {
    struct cons_persist_state st; /* always the current values */
    size_t n;
    const struct cons_rec *recs; /* slots to write (insert or overwrite) */
};

struct cons_persist_ops {
    /* Durably writes b. 0 only once it is durable; negative errno otherwise. */
    int (*save)(void *ctx, const struct cons_persist_batch *b);
    /* Fills *st, then calls each() for every record >= log_start, in slot
     * order. A fresh store reports zeros. */
    int (*load)(void *ctx, struct cons_persist_state *st,
                int (*each)(void *arg, const struct cons_rec *r), void *arg);
};

#endif
