/* control_cluster.c - the control ops of a cluster node (quorumfs -c): fs/cluster/cluster.h. */
#include "fs/control/control.h"

#include "fs/cluster/cluster.h"

static int cl_status(void *ctx, struct cluster_status *st)
{
    return cluster_get_status(ctx, st);
}

static int cl_read_index(void *ctx, uint64_t *idx, int timeout_ms)
{
    return cluster_read_index(ctx, timeout_ms, idx);
}

static uint64_t cl_applied(void *ctx)
{
    struct cluster_status st;
    return cluster_get_status(ctx, &st) == 0 ? st.applied : 0;
}

struct control_ops control_cluster_ops(struct cluster *cl)
{
    return (struct control_ops){
        .ctx = cl, .get_status = cl_status, .read_index = cl_read_index, .applied = cl_applied};
}
