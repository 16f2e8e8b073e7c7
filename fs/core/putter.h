/*
 * putter.h - puts chunk batches into the chunk store on a helper thread, so
 * that re-cutting and hashing the next batch overlap the store's write and
 * fsync of this one. One batch in flight at a time; the caller keeps the
 * batch's memory untouched until putter_wait() says it is done.
 */
#ifndef QFS_FS_CORE_PUTTER_H
#define QFS_FS_CORE_PUTTER_H

#include "fs/chunk/chunk_store.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

struct putter {
    struct chunk_store *cs;
    int (*on_full)(void *ctx); /* may free space; 0: worth trying again */
    void *full_ctx;
    pthread_t thread;
    bool started;
    pthread_mutex_t lock; /* guards refs, n, busy, stop, rc */
    pthread_cond_t cond;
    const struct chunk_ref *refs;
    size_t n;
    bool busy, stop;
    int rc; /* first failure of any batch */
};

/* on_full (may be NULL) runs when a batch finds the disk full; when it
 * returns 0 the batch is tried once more. */
void putter_init(struct putter *p, struct chunk_store *cs, int (*on_full)(void *), void *ctx);
/* Hands over a batch (waits for the previous one first). Starts the thread
 * on first use. Returns the first error so far, or 0. */
int putter_start(struct putter *p, const struct chunk_ref *refs, size_t n);
/* Waits until no batch is in flight; returns the first error so far. */
int putter_wait(struct putter *p);
/* Waits, then stops the thread. */
void putter_destroy(struct putter *p);

#endif
