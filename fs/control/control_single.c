/* control_single.c - the control ops of a single-node mount: no peers, no Paxos. */
#include "fs/control/control.h"

#include "fs/core/core.h"

#include <string.h>

static uint64_t single_applied(void *ctx)
{
    struct core_stats cs;
    return core_stats(ctx, &cs) == 0 ? cs.applied : 0;
}

static int single_status(void *ctx, struct cluster_status *st)
{
    memset(st, 0, sizeof(*st));
    st->single_node = true;
    st->n_members = 1;
    st->quorum = true;
    st->applied = st->commit = single_applied(ctx);
    struct cluster_member *m = &st->m[0];
    strcpy(m->id, "single-node");
    strcpy(m->addr, "-");
    m->self = m->connected = true;
    m->applied = (int64_t)st->applied;
    return 0;
}

/* A command returns only once applied here, so applied is the commit index. */
static int single_read_index(void *ctx, uint64_t *idx, int timeout_ms)
{
    (void)timeout_ms;
    *idx = single_applied(ctx);
    return 0;
}

struct control_ops control_single_node_ops(struct core *core)
{
    return (struct control_ops){.ctx = core,
                                .get_status = single_status,
                                .read_index = single_read_index,
                                .applied = single_applied};
}
