/*
 * committer.h - commits frozen staging sets on a background thread.
 *
 * A writer that passes half the staging bound detaches its file's staged
 * pages into a frozen set (staging_detach) and queues it here; it goes on
 * writing into fresh pages while the set is cut, hashed, stored and
 * committed, so staging and committing overlap instead of adding up.
 *
 * Invariants:
 *  - A queued set is read-only and stays attached to its sfile (readers
 *    overlay it) until the sfile's owner, holding sf->lock for writing,
 *    collects the result (committer_wait) and drops it. The thread never
 *    takes an sfile's lock, so a holder may wait for it.
 *  - Sets are committed one at a time, in queue order.
 */
#ifndef QFS_FS_CORE_COMMITTER_H
#define QFS_FS_CORE_COMMITTER_H

#include "fs/core/staging.h"

#include <pthread.h>
#include <stdbool.h>

typedef int (*commit_set_fn)(void *ctx, struct sfile *set);

struct committer {
    commit_set_fn commit;
    void *ctx;
    pthread_t thread;
    bool started;
    pthread_mutex_t lock; /* guards head, tail, stop and each queued set's bg_* fields */
    pthread_cond_t work;  /* a set was queued, or stop */
    pthread_cond_t done;  /* a set's commit finished */
    struct sfile *head, *tail;
    bool stop;
};

void committer_init(struct committer *cm, commit_set_fn commit, void *ctx);
/* Queues set (starting the thread on first use). -errno if the thread
 * cannot start: the caller then commits the set itself. */
int committer_queue(struct committer *cm, struct sfile *set);
/* Whether set's commit finished (no wait). */
bool committer_done(struct committer *cm, struct sfile *set);
/* Waits until set's commit finished; its result (0 or -errno). */
int committer_wait(struct committer *cm, struct sfile *set);
/* Stops the thread; nothing may be queued any more (every set collected). */
void committer_destroy(struct committer *cm);

#endif
