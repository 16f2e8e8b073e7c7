/*
 * apply.h - the deterministic state machine: one command against the store.
 *
 * apply_cmd() reads nothing but the command and the transaction: no clock,
 * no randomness, no node-local state. The same commands in the same order
 * give the same store on every node. Validation happens here (EEXIST,
 * ENOENT, ENOTEMPTY ...); a failed command changes nothing (it runs in a
 * nested transaction that is aborted) and its error is the caller's result.
 */
#ifndef QFS_FS_CORE_APPLY_H
#define QFS_FS_CORE_APPLY_H

#include "fs/core/cmd.h"
#include "fs/store/meta_inode.h"
#include "fs/store/meta_store.h"

#include <stdbool.h>

struct apply_result {
    int err;                /* the command's result: 0 or -errno */
    bool has_attr;          /* attr is valid */
    struct meta_inode attr; /* the inode created or changed */
    uint64_t copy_parent;   /* a conflict copy was linked in this directory (0: none) */
    uint64_t unlinked_ino;  /* an inode that lost a link (its other names see nlink change) */
    /* Directories a rename moved (0: none), within their directory too:
     * [0] was at the command's (ino, name), [1] at (ino2, name2) (an
     * exchange). Other nodes' kernels may still know them by those names,
     * and a later move elsewhere reports only the name it had then. */
    uint64_t moved_dirs[2];
};

/* Applies c inside txn (the batch's write transaction). Returns 0 with the
 * command's own result in *res, or -errno when txn itself failed and the
 * whole batch must be aborted. */
int apply_cmd(struct meta_store *ms, MDB_txn *txn, const struct cmd *c, struct apply_result *res);

/* One decided batch: cmds[i] in log order, results into res[i]. A NULL cmd
 * (a no-op slot, a duplicate) applies nothing and only counts in the index. */
struct apply_item {
    const struct cmd *cmd;
    struct apply_result *res;
};

/* Extra writes in the batch's transaction (e.g. the de-duplication table);
 * redone with the batch if the batch is retried. */
struct apply_extra {
    int (*write)(void *ctx, MDB_txn *txn);
    void *ctx;
    /* MDB_NOMETASYNC: the commit syncs its data but not LMDB's meta page, so
     * a power loss may undo the batch (never corrupt the store). Only for a
     * caller that can apply the batch again: the cluster, whose Paxos log
     * holds every slot until a later synced commit has made it durable.
     * LMDB 0.9 ignores it as a transaction flag: the cluster sets it on the
     * environment (fs/cluster/log_apply.c), which is what takes effect. */
    unsigned txn_flags;
};

/* Applies n commands in ONE write transaction together with the new applied
 * index (*applied + n), and commits it (one fsync pair: group commit). The
 * results are exactly apply_cmd()'s, one after the other.
 * Returns 0 (results in each res) or -errno when the batch could not be
 * committed (nothing of it is applied; *applied is unchanged). Used by the
 * local sequencer, and by the Paxos learner in a cluster. */
int apply_batch(struct meta_store *ms, const struct apply_item *items, int n, uint64_t *applied);
/* The same with extra writes in the same transaction (extra may be NULL). */
int apply_batch_extra(struct meta_store *ms, const struct apply_item *items, int n,
                      uint64_t *applied, const struct apply_extra *extra);

#endif
