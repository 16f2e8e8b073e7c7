/*
 * cluster_status.h - one consistent picture of this node and its cluster,
 * as `qfs status`, `qfs peers`, `qfs metrics` and `qfs wait-sync` see it
 * (through the control socket, fs/control/).
 *
 * Filled by cluster_get_status() (cluster.h) in a cluster, and by the daemon
 * itself for a single-node mount (n_members = 1, quorum true, leader 0).
 * Plain data: no pointers, safe to copy.
 */
#ifndef QFS_FS_CLUSTER_CLUSTER_STATUS_H
#define QFS_FS_CLUSTER_CLUSTER_STATUS_H

#include <stdbool.h>
#include <stdint.h>

#define CLUSTER_MEMBERS_MAX 9 /* this node + NET_MAX_PEERS */
#define CLUSTER_ID_STR      64
#define CLUSTER_ADDR_STR    64

struct cluster_member {
    char id[CLUSTER_ID_STR];     /* human node ID (node_id_format) */
    char addr[CLUSTER_ADDR_STR]; /* as configured; this node: its listen address */
    bool self;
    bool connected;       /* control channel up and heard from recently (self: true) */
    int64_t rtt_us;       /* smoothed heartbeat round trip, -1 unknown (self: 0) */
    int64_t last_seen_ms; /* ms since last heard, -1 never (self: 0) */
    int64_t applied;      /* its applied index as last reported, -1 unknown */
    uint64_t push_chunks; /* chunks still to push to it (0 for self) */
    uint64_t push_bytes;
};

struct cluster_status {
    bool single_node; /* a `quorumfs MOUNTPOINT` without -c: no peers, no Paxos */
    uint32_t n_members;
    uint32_t self;   /* index of this node in m[] */
    int32_t leader;  /* index in m[], -1 unknown */
    bool quorum;     /* a majority is reachable: mutations are accepted */
    uint64_t ballot; /* highest ballot seen */
    uint64_t commit; /* highest slot known chosen */
    uint64_t applied;
    int apply_error; /* -errno while this node cannot apply what is committed (a full disk) */
    bool rebuilding; /* may have lost its Paxos state: votes once all members answered */
    uint32_t rebuild_missing; /* rebuilding: bit i set = m[i] has not answered yet */
    uint64_t fetch_chunks;    /* chunks referenced by applied commits, not stored here yet */
    uint64_t fetch_bytes;
    uint64_t fetched_bytes_total; /* since start: received in answer to this node's fetches */
    uint64_t pushed_bytes_total;  /* since start: sent, pushes and fetch answers */
    struct cluster_member m[CLUSTER_MEMBERS_MAX];
};

#endif
