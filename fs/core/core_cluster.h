/*
 * core_cluster.h - what the cluster glue (fs/cluster/) needs from the core
 * beyond core.h: the stores, a way to order commands other than the local
 * sequencer, and the apply entry point for decided commands.
 *
 * In a cluster the core starts without a sequencer (cfg->cluster): the
 * cluster installs its orderer with core_set_orderer() before the mount
 * serves requests, and its apply thread calls core_apply_decided() for each
 * batch of decided commands, in log order. Nothing else changes: the same
 * apply function, the same transactions, the same GC.
 *
 * The root directory of a fresh cluster store is created by a "genesis"
 * application of CMD_INIT with fixed fields (root:root 0755, time 0) that is
 * not a log slot: every node creates the identical root without a round of
 * consensus, so a node can mount before it has ever seen a quorum.
 */
#ifndef QFS_FS_CORE_CORE_CLUSTER_H
#define QFS_FS_CORE_CORE_CLUSTER_H

#include "fs/chunk/chunk_store.h"
#include "fs/core/apply.h"
#include "fs/core/core.h"
#include "fs/core/sequencer.h"
#include "fs/store/meta_store.h"

struct meta_store *core_meta_store(struct core *c);
struct chunk_store *core_chunk_store(struct core *c);
struct gc *core_gc(struct core *c);
/* Runs one garbage collection on the apply thread, one that starts after
 * the call, and waits for it; -ENOTSUP when the host applies the commands
 * (it runs core_after_apply itself), -ESHUTDOWN once the core stops. */
int core_collect(struct core *c);

/* Installs the orderer; commands carry origin as their origin node and
 * request ids from req_base + 1 on (never reused: req_base changes at each
 * start). Content commits are split so that no command encodes to more
 * than cmd_max bytes. */
void core_set_orderer(struct core *c, const struct orderer_ops *ops, void *impl, uint32_t origin,
                      uint64_t req_base, size_t cmd_max);

/* Applies decided commands (items with a NULL cmd only advance the index:
 * no-ops and duplicates) with the new applied index in one transaction;
 * as apply_batch() (apply.h). */
int core_apply_decided(struct core *c, const struct apply_item *items, int n, uint64_t *applied,
                       const struct apply_extra *extra);
/* Housekeeping after committed batches (GC), on the apply thread. */
void core_after_apply(struct core *c);
/* The applied index stored with the state (at start). */
int core_load_applied(struct core *c, uint64_t *applied);
/* Commits every file's staged content (before the orderer stops). */
void core_commit_all(struct core *c);

#endif
