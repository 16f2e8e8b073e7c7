/*
 * control.h - the daemon's control server: `qfs status`, `peers`, `wait-sync`,
 * `conflicts` and `metrics` ask it through DATA/control.sock (protocol:
 * docs/control-protocol.md, encoding: control_proto.h).
 *
 * Invariants:
 *  - The socket is a Unix stream socket, mode 0600, created at start (a stale
 *    socket left by a dead daemon is replaced; a live daemon's is not) and
 *    removed at stop. Only root and the daemon's own user are served
 *    (SO_PEERCRED), on top of the file mode.
 *  - One thread serves one request at a time, with send/receive timeouts, so
 *    a stuck client delays others by at most CONTROL_IO_TIMEOUT_MS and never
 *    touches a FUSE thread. Memory is fixed at start (request and reply
 *    buffers are reused).
 *  - The server only reads: it calls the ops below and core_sync.h, never a
 *    mutation.
 */
#ifndef QFS_FS_CONTROL_CONTROL_H
#define QFS_FS_CONTROL_CONTROL_H

#include "fs/cluster/cluster_status.h"

#include <stdint.h>

#define CONTROL_IO_TIMEOUT_MS 2000

struct cluster;
struct core;
struct control_server;

/* How the server learns about consensus; called on the control thread. */
struct control_ops {
    void *ctx;
    /* One consistent picture of the node and its cluster. */
    int (*get_status)(void *ctx, struct cluster_status *st);
    /* The leader's commit index (single node: the applied index); -EROFS
     * without quorum, -ETIMEDOUT. */
    int (*read_index)(void *ctx, uint64_t *idx, int timeout_ms);
    /* The index of the last command applied on this node. */
    uint64_t (*applied)(void *ctx);
};

struct control_config {
    const char *data_dir;   /* the socket is data_dir/control.sock */
    const char *mountpoint; /* reported by status */
    struct core *core;      /* per-path and store figures (core_sync.h) */
    struct control_ops ops;
};

/* Binds the socket and starts the thread. -EADDRINUSE if a live daemon
 * already serves this data directory, other -errno on failure. */
int control_server_start(const struct control_config *cfg, struct control_server **out);
/* Stops the thread, removes the socket, frees everything. NULL is a no-op. */
void control_server_stop(struct control_server *s);

/* The ops of a single-node mount (no -c): one member, always a quorum,
 * commit index = applied index, read from the core. */
struct control_ops control_single_node_ops(struct core *core);
/* The ops of a cluster node (quorumfs -c): fs/cluster/cluster.h. */
struct control_ops control_cluster_ops(struct cluster *cl);

#endif
