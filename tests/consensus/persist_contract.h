/*
 * persist_contract.h - checks every consensus persistence backend must pass
 * (consensus/persist.h), shared by the LMDB and the log file tests: records
 * seen by load(), numbered batches, and a writer killed with SIGKILL between
 * persisting and answering that must lose nothing it answered for.
 */
#ifndef QFS_TESTS_CONSENSUS_PERSIST_CONTRACT_H
#define QFS_TESTS_CONSENSUS_PERSIST_CONTRACT_H

#include "consensus/persist.h"

#include <stdint.h>

#define SEEN_MAX 16384 /* more than a pipe can hold of unread answers */

struct seen {
    uint64_t n, slots[SEEN_MAX], ballots[SEEN_MAX];
    uint8_t flags[SEEN_MAX];
    char data[SEEN_MAX][16];
};

/* load()'s each(): appends r to the struct seen at arg. */
int seen_collect(void *arg, const struct cons_rec *r);

/* Saves slots [first, first + n) (n <= 64), accepted in ballot `promised`,
 * with data "cmd-SLOT"; commit = the last of them. */
int save_slots(const struct cons_persist_ops *ops, void *ctx, uint64_t promised, uint64_t log_start,
               uint64_t first, uint64_t n, uint8_t flags);

/* A backend as the SIGKILL check opens it (in the child, then again in the
 * parent): open() returns its ctx or NULL; close() ends it. */
struct backend {
    const struct cons_persist_ops *ops;
    void *(*open)(void);
    void (*close)(void *ctx);
};

/* Forks a writer that saves slot i then writes i to a pipe, kills it with
 * SIGKILL after at least min_acked answers, and asserts that every
 * answered slot loads back. */
void check_sigkill_loses_nothing(const struct backend *b, uint64_t min_acked);

#endif
