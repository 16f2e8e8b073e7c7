/* control_conflicts_stub.c - a stand-in for core_conflicts_list() until the
 * conflicts branch puts the real one in fs/core (then delete this file: see
 * control_conflicts.h). Lists nothing. */
#include "fs/control/control_conflicts.h"

__attribute__((weak)) int core_conflicts_list(struct core *c, core_conflict_fn fn, void *ctx)
{
    (void)c;
    (void)fn;
    (void)ctx;
    return 0;
}
