/*
 * atime_queue.h - atime updates that a reader's close() does not wait for.
 *
 * A read that makes an atime update due (relatime) records it; the update
 * is one command through the orderer, which in a cluster is a Paxos round
 * trip to the leader. A reader's close() used to wait for it: on the fault
 * suite's lossy link that alone took 3.6 s of one read. Now close() queues
 * (ino, time) and a helper thread submits the commands, as Linux's
 * lazytime writes atime back later.
 *
 * Invariants: at most one entry per inode (a second update of a queued
 * inode only moves its time forward); at most ATIME_QUEUE_MAX entries, and
 * a caller whose entry does not fit submits it itself, so no update is
 * dropped for lack of room; entries are submitted oldest first. getattr,
 * lookup and setattr take an inode's entry first (atime_queue_take) and
 * submit it, so a stat after close() still shows the read and an explicit
 * utimens is never overwritten by an older read's update; readdirplus
 * gives no attributes for an inode with an update pending
 * (atime_queue_pending), so the kernel does not cache the old atime. An
 * update the orderer refuses (EROFS without a quorum) is dropped, as
 * before: atime is not worth a retry.
 */
#ifndef QFS_FS_CORE_ATIME_QUEUE_H
#define QFS_FS_CORE_ATIME_QUEUE_H

#include "fs/store/meta_inode.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define ATIME_QUEUE_MAX 1024

/* Submits one atime update; called without the queue's lock held. */
typedef int (*atime_submit_fn)(void *ctx, uint64_t ino, const struct meta_time *t);

struct atime_entry {
    uint64_t ino;
    struct meta_time t;
};

struct atime_queue {
    atime_submit_fn submit;
    void *ctx;
    pthread_t thread;
    pthread_mutex_t lock; /* guards everything below */
    pthread_cond_t cond;  /* an entry was added, or stop */
    pthread_cond_t done;  /* the thread finished submitting busy_ino's update */
    struct atime_entry e[ATIME_QUEUE_MAX];
    uint32_t n;
    /* Written under the lock, also read without it (__atomic) by take() */
    uint32_t n_atomic; /* copy of n */
    uint64_t busy_ino; /* the update the thread is submitting (0: none) */
    bool started, stopped;
};

void atime_queue_init(struct atime_queue *q, atime_submit_fn submit, void *ctx);
/* Queues ino's update (starting the thread on first use). -ENOSPC when the
 * queue is full, -ESHUTDOWN after stop: the caller submits it itself. */
int atime_queue_add(struct atime_queue *q, uint64_t ino, const struct meta_time *t);
/* Removes ino's queued update into *t; false if none is queued. */
bool atime_queue_take(struct atime_queue *q, uint64_t ino, struct meta_time *t);
/* True while ino's update is queued or being submitted. */
bool atime_queue_pending(struct atime_queue *q, uint64_t ino);
/* Submits everything queued, then stops the thread; later adds fail. */
void atime_queue_stop(struct atime_queue *q);
/* After stop (or if never started). */
void atime_queue_destroy(struct atime_queue *q);

#endif
