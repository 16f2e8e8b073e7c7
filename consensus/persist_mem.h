/*
 * persist_mem.h - in-memory persistence backend, the simulator's "disk".
 *
 * What save() stored survives the engine (a simulated crash destroys the
 * engine, not this store). fail_next makes the next save() fail without
 * storing anything: the simulator's crash in the middle of a persist.
 */
#ifndef QFS_CONSENSUS_PERSIST_MEM_H
#define QFS_CONSENSUS_PERSIST_MEM_H

#include "consensus/persist.h"

struct mem_rec {
    uint64_t slot; /* UINT64_MAX = unused */
    uint64_t ballot;
    uint8_t flags, kind;
    uint32_t origin, len, cap;
    uint64_t req_id;
    uint8_t *data;
};

struct persist_mem {
    struct cons_persist_state st;
    struct mem_rec *recs; /* ring indexed by slot & (cap - 1) */
    uint64_t cap;
    uint64_t hi;    /* one past the highest slot stored */
    int fail_next;  /* set by the simulator */
    uint64_t saves; /* number of successful saves (for figures) */
};

extern const struct cons_persist_ops persist_mem_ops;

int persist_mem_init(struct persist_mem *pm);
void persist_mem_free(struct persist_mem *pm);

#endif
