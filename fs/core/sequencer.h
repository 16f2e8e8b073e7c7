/*
 * sequencer.h - orders commands and applies them on one thread, in batches.
 *
 * Callers (FUSE threads) submit a command and block. The apply thread takes
 * everything queued (up to SEQ_BATCH_MAX), appends it to the command log as
 * one frame (one pwrite and fdatasync per batch: group commit), applies it
 * in ONE write transaction together with the new applied index, commits
 * without syncing (the store's checkpoints make that safe:
 * meta_checkpoint.h), then wakes each caller with its result. A checkpoint
 * is taken when due (commits, time, log size) and the log starts over.
 *
 * The cluster hook: in single-node mode the order is the queue order (the
 * local log). A cluster replaces only sequencer_submit's ordering: it
 * proposes the encoded command to Multi-Paxos and the learner feeds decided
 * commands to the same batch-apply loop; a content command is proposed only
 * after its chunks are durable on a majority (the point marked
 * "CLUSTER HOOK" in recut.c). Memory is bounded: each queued entry
 * lives on its blocked caller's stack.
 */
#ifndef QFS_FS_CORE_SEQUENCER_H
#define QFS_FS_CORE_SEQUENCER_H

#include "fs/core/apply.h"
#include "fs/store/meta_store.h"

#define SEQ_BATCH_MAX 256

/* What the core asks of whoever orders its commands, and nothing more: the
 * local sequencer below implements it; a cluster supplies a Paxos proposer
 * whose learner feeds decided batches to apply_batch() (apply.h) and wakes
 * the proposing caller with the result its command got. */
struct orderer_ops {
    int (*submit)(void *impl, const struct cmd *c, struct apply_result *res);
    uint64_t (*applied)(void *impl);
};

struct sequencer;
extern const struct orderer_ops sequencer_ops; /* impl: a struct sequencer */

/* Called on the apply thread after each committed batch (e.g. the GC). */
typedef void (*seq_after_fn)(void *ctx);

/* Replays the command log at log_path (cmd_log.h) onto ms, which opened at
 * its last checkpoint, then starts the apply thread. */
int sequencer_start(struct meta_store *ms, const char *log_path, seq_after_fn after, void *ctx,
                    struct sequencer **out);
/* Applies what is queued, then stops the thread. */
void sequencer_stop(struct sequencer *s);
/* Blocks until c is applied and committed; returns 0 with c's result in
 * *res, or -errno when the batch could not be committed (e.g. -ENOSPC). */
int sequencer_submit(struct sequencer *s, const struct cmd *c, struct apply_result *res);
/* Asks the apply thread to run the after hook once more, even with nothing
 * to apply, and waits for a run that began after the call: a put that found
 * the disk full lets the GC delete what the last unlinks freed, then tries
 * again. 0, or -ESHUTDOWN once stopping. */
int sequencer_run_after(struct sequencer *s);
/* Index of the last applied command. */
uint64_t sequencer_applied(struct sequencer *s);

#endif
