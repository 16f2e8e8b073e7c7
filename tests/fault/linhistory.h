/*
 * linhistory.h - reads the namespace history the linearizability checker
 * consumes (format "lincheck-history v1", docs/fault-testing.md):
 *
 *   # lincheck-history v1
 *   init NAME file|dir            (optional, before the first op)
 *   ID CALL RET|- OP NAME NAME2|- RESULT
 *
 * CALL/RET are integers (ns of a monotonic clock); RET "-" or RESULT "?"
 * make the op unknown (it may take effect at any time after CALL, or
 * never). Names are interned to indices < DM_MAX_NAMES.
 */
#ifndef QFS_TESTS_FAULT_LINHISTORY_H
#define QFS_TESTS_FAULT_LINHISTORY_H

#include <stdio.h>

#include "tests/fault/linsearch.h"

struct lh_history {
    struct ls_op *ops;
    char **ids; /* ids[i] names ops[i] in reports */
    size_t n, cap;
    char *names[DM_MAX_NAMES];
    unsigned n_names;
    dm_state init;
};

/* Parses f into *h (zeroed by the caller). On a malformed line returns
 * -EINVAL and writes "line N: why" into err. -ENOMEM on allocation failure. */
int lh_parse(FILE *f, struct lh_history *h, char *err, size_t errlen);

void lh_free(struct lh_history *h);

#endif
