/*
 * chunk_sync.h - background anti-entropy: makes every chunk that applied
 * commands reference present on this node, pulling what is missing from
 * peers. Pushes normally deliver a content commit's chunks before it
 * applies; this catches the rest (a node that was down or cut off, a push
 * lost with a connection, a restart) without waiting for a read to need it.
 *
 * Invariants:
 *  - chunk_sync_note() never blocks on the network or the disk: it copies
 *    the hashes of a CMD_CONTENT's extents into a bounded queue under a
 *    short lock. When the queue is full it drops them and schedules a full
 *    rescan instead: nothing noted is forgotten, only found later.
 *  - The worker thread checks presence itself and pulls absent chunks in
 *    batches through cfg.pull (repl_pull in the daemon). What is still
 *    missing goes to a bounded retry list, pulled again with exponential
 *    backoff while peers are unreachable; while that list is full the
 *    worker takes no new work (the queue then overflows into a rescan).
 *  - chunk_sync_start() begins with a scan of the reference counts (every
 *    chunk a chunk map references), so what was missing at a restart is
 *    found. Scans read in pages, each in a short read transaction. A rescan
 *    after an overflow starts RESCAN_DELAY_MS later, so that the batch
 *    whose note overflowed has committed.
 *  - Only chunks an applied command still references are pulled: every
 *    check drops the absent ones whose reference count fell to 0 (a file
 *    deleted or overwritten meanwhile); the peers collect those too, so a
 *    pull could never get them. Notes come after their batch committed
 *    (log_apply.c), so a check sees the references the noted command added.
 *  - A noted chunk whose command's origin is still pushing to this node
 *    (cfg.pushing) is not pulled yet: the push is on its way, and a pull
 *    would bring the same bytes a second time, from the node already busy
 *    pushing them (on a 1 GiB write, up to 7% more per peer, measured in
 *    session 22). It waits in the retry list, checked every
 *    cfg.defer_check_ms, until it arrives, the push goes quiet, a peer says
 *    it gave that chunk's push up (cfg.given_up: a sender that was kept
 *    from this node drops its oldest jobs, and keeps pushing newer ones), or
 *    cfg.defer_max_ms after it was noted. Reads do not wait: they fetch
 *    what they need at once (core_remote.h).
 *  - Memory is fixed at create: queue, retry list, one page of hashes.
 * Thread-safe: note from the apply thread, stats from any thread.
 */
#ifndef QFS_FS_CLUSTER_CHUNK_SYNC_H
#define QFS_FS_CLUSTER_CHUNK_SYNC_H

#include "fs/chunk/chunk_store.h"
#include "fs/core/cmd.h"
#include "fs/store/meta_store.h"
#include "net/replicate.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Makes the listed chunks local: the number still missing (0: all here),
 * or -errno. Adds to *got what peers sent in answer to it, not what
 * arrived otherwise meanwhile (a push). repl_pull() has this shape. */
typedef long (*chunk_sync_pull_fn)(void *ctx, const uint8_t (*hashes)[32], size_t n, int timeout_ms,
                                   struct repl_fetched *got);

struct chunk_sync_config {
    struct meta_store *ms;  /* the reference counts the scan reads */
    struct chunk_store *cs; /* where chunks must be */
    chunk_sync_pull_fn pull;
    void *pull_ctx;
    /* True while node origin (a cmd.origin) is pushing chunks to this node;
     * NULL: never (every absent chunk is pulled at once). */
    bool (*pushing)(void *ctx, uint64_t origin);
    /* True when a peer said it will not push this chunk here (NULL: never);
     * called with pushing_ctx. repl_push_given_up() in the daemon. */
    bool (*given_up)(void *ctx, const uint8_t hash[32]);
    void *pushing_ctx;
    int defer_check_ms;   /* 0: 250 */
    int defer_max_ms;     /* 0: 10000 */
    bool skip_self;       /* true: commands whose origin is self_origin are not noted */
    uint64_t self_origin; /* this node's cmd.origin (its chunks are pushed from here) */
    size_t queue_cap;     /* 0: 65536 hashes */
    size_t retry_cap;     /* 0: 4096 hashes */
    int backoff_min_ms;   /* 0: 100 */
    int backoff_max_ms;   /* 0: 10000 */
    int pull_timeout_ms;  /* 0: 10000 */
    int rescan_delay_ms;  /* 0: 1000 (RESCAN_DELAY_MS) */
};

struct chunk_sync_stats {
    uint64_t queued;                        /* noted, not checked yet */
    uint64_t missing_chunks;                /* checked: absent here, not fetched yet */
    uint64_t missing_bytes;                 /* their size: extent ends for noted chunks,
                                               CHUNK_AVG each for chunks a scan found */
    uint64_t fetched_chunks, fetched_bytes; /* received by its pulls since start (got) */
    uint64_t pull_failures;                 /* pulls that left chunks missing */
    uint64_t dropped;                       /* missing, then unreferenced: not pulled */
    uint64_t scans;                         /* full scans completed */
    bool scanning;                          /* a scan is running or scheduled */
};

struct chunk_sync;

int chunk_sync_create(const struct chunk_sync_config *cfg, struct chunk_sync **out);
/* Starts the worker; its first job is the startup scan. */
int chunk_sync_start(struct chunk_sync *s);
/* For each applied command, in order, on the apply thread. */
void chunk_sync_note(struct chunk_sync *s, const struct cmd *c);
/* Asks for a full scan now (e.g. after a snapshot install). */
void chunk_sync_rescan(struct chunk_sync *s);
void chunk_sync_get_stats(struct chunk_sync *s, struct chunk_sync_stats *out);
/* True when nothing is queued, missing or scheduled for a scan. */
bool chunk_sync_idle(struct chunk_sync *s);
/* Stops and joins the worker; a pull in progress ends first (bounded by
 * pull_timeout_ms; detaching the replicator before ends it at once). */
void chunk_sync_stop(struct chunk_sync *s);
/* After stop (or without start). */
void chunk_sync_destroy(struct chunk_sync *s);

#endif
