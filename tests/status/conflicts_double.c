/* conflicts_double.c - see conflicts_double.h. */
#include "tests/status/conflicts_double.h"

#include <errno.h>

/* Set by the test before the server is asked; read by the server thread
 * afterwards (the request/reply round trip orders the two). */
static const struct core_conflict *set_records;
static size_t set_n;

void conflicts_double_set(const struct core_conflict *records, size_t n)
{
    set_records = records;
    set_n = n;
}

int core_conflicts_list(struct core *c, core_conflict_fn fn, void *ctx)
{
    if (!c)
        return -EINVAL;
    for (size_t i = 0; i < set_n; i++) {
        int rc = fn(ctx, &set_records[i]);
        if (rc)
            return rc;
    }
    return 0;
}
