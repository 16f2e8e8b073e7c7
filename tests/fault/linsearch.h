/*
 * linsearch.h - Wing–Gong linearizability search with memoization (the
 * algorithm of Lowe, as used by Porcupine) over the directory model.
 *
 * Each operation has a call time and a return time; an operation whose
 * outcome is unknown (timed out, or failed with an error that does not say
 * whether it took effect) has ret == LS_NEVER and res == DM_ANY: it may take
 * effect at any point after its call, or never. The history is linearizable
 * when some total order of all completed operations (plus any subset of the
 * unknown ones) respects real time (a returned before b was called => a
 * first) and replays through dm_step() giving every recorded result.
 *
 * Memory is bounded by max_cache_bytes; the search gives up (inconclusive)
 * when it would exceed it or max_steps.
 */
#ifndef QFS_TESTS_FAULT_LINSEARCH_H
#define QFS_TESTS_FAULT_LINSEARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tests/fault/dirmodel.h"

#define LS_NEVER INT64_MAX

struct ls_op {
    int64_t call; /* any monotonic unit; only the order matters */
    int64_t ret;  /* LS_NEVER when the outcome is unknown */
    struct dm_call args;
    enum dm_res res;
};

enum ls_verdict { LS_LINEARIZABLE, LS_NOT_LINEARIZABLE, LS_INCONCLUSIVE };

struct ls_limits {
    uint64_t max_steps;
    size_t max_cache_bytes;
    bool lazy_unknown; /* place unknown ops only where a return needs them */
};

struct ls_report {
    enum ls_verdict verdict;
    uint64_t steps;      /* candidate linearization points tried */
    size_t best_depth;   /* longest linearized prefix found */
    size_t stuck_op;     /* index of an op that could not be placed at best_depth */
    dm_state best_state; /* model state after that prefix */
};

/* Checks ops[0..n) starting from directory state init. Returns 0 with *rep
 * filled in, or -ENOMEM / -EINVAL (a ret before its call). */
int ls_check(const struct ls_op *ops, size_t n, dm_state init, const struct ls_limits *lim,
             struct ls_report *rep);

#endif
