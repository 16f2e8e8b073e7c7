/*
 * cluster.h - one node of a quorumfs cluster: the filesystem core, the
 * Multi-Paxos engine and the peer transport plugged together.
 *
 * Threads (each owns what it names; docs/ARCHITECTURE.md "The cluster"):
 *  - the network thread (net/transport.h) runs the frame callbacks: it copies
 *    consensus frames into the Paxos inbox and answers read-index requests;
 *  - the Paxos thread owns the engine: it feeds it frames, proposals and
 *    ticks, persists through LMDB (group commit), and hands decided entries,
 *    in slot order, to
 *  - the apply thread, which applies them in batches (one LMDB transaction
 *    with the applied index and the de-duplication table) and wakes the FUSE
 *    thread that proposed each command with the result apply computed.
 *
 * Invariants: every node applies the same commands in the same order (slot
 * order), each command at most once (dedup by origin and request id, in the
 * same transaction as its effects); a FUSE thread's mutation returns only
 * after its own node applied it, or with EROFS when no quorum decided it in
 * time (then its outcome is unknown, like an NFS soft mount's EIO).
 */
#ifndef QFS_FS_CLUSTER_CLUSTER_H
#define QFS_FS_CLUSTER_CLUSTER_H

#include "fs/cluster/cluster_status.h"
#include "fs/core/core.h"
#include "net/config.h"

#include <stddef.h>
#include <stdint.h>

struct cluster;

/* What the cluster tells the mount about changes other nodes made (called
 * on the apply thread: must not block; see fs/fuse/invalidate.h). */
struct cluster_hooks {
    void *ctx;
    /* An inode's attributes or content changed (slot: the applying slot). */
    void (*inode_changed)(void *ctx, uint64_t slot, uint64_t ino);
    /* An entry of directory parent was added, removed or replaced. */
    void (*entry_changed)(void *ctx, uint64_t slot, uint64_t parent, const char *name, size_t len);
    /* Directory dir moved to another parent; its old name was (parent, name). */
    void (*dir_moved)(void *ctx, uint64_t dir, uint64_t parent, const char *name, size_t len);
    /* Everything up to slot is applied (and its changes reported). */
    void (*applied)(void *ctx, uint64_t slot);
};

/* Starts the node on a core opened with cfg.cluster set: installs the
 * orderer in the core, connects to the peers. hooks may be NULL. */
int cluster_start(const struct net_config *cfg, struct core *core,
                  const struct cluster_hooks *hooks, struct cluster **out);
/* Commits staged content, then stops every thread (the core stays open). */
void cluster_stop(struct cluster *cl);

/* Waits (at most timeout_ms) until this node has applied every command
 * committed before the call: one round trip to the leader (none on the
 * leader). 0, or -EROFS (no quorum: local state is all there is),
 * -ETIMEDOUT, or at once the error this node's apply fails with (-ENOSPC:
 * it cannot catch up now). *applied gets the index reached. A node whose
 * read index is answered but whose apply lags waits past timeout_ms, up to
 * CL_CATCHUP_MS, when its apply's pace will reach the index by then. After a
 * timeout, -ETIMEDOUT at once until a leader with a quorum is seen again. */
int cluster_sync(struct cluster *cl, int timeout_ms, uint64_t *applied);
/* The leader's commit index (read index) only, without waiting to apply. */
int cluster_read_index(struct cluster *cl, int timeout_ms, uint64_t *idx);
/* Waits until the applied index reaches idx. 0, -ETIMEDOUT, or the apply's
 * failure as soon as it fails. */
int cluster_wait_applied(struct cluster *cl, uint64_t idx, int timeout_ms);
/* The last slot this node applied. */
uint64_t cluster_applied_index(struct cluster *cl);

int cluster_get_status(struct cluster *cl, struct cluster_status *st);

#endif
