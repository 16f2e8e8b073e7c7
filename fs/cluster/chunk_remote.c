/*
 * chunk_remote.c - the core's remote-chunk callbacks (fs/core/core_remote.h)
 * on top of the replicator: a content commit waits until its chunks are
 * durable on a majority (this node counts, so n/2 peers), and a read of a
 * chunk that is missing or corrupt here fetches it from a peer.
 */
#include "fs/cluster/chunk_remote.h"
#include "fs/cluster/cluster_internal.h"

#include "common/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The have-query and the push share one budget: the fault suite's no-hang
 * bound is 10 s for a whole open-write-fsync-close, and on a lossy link a
 * have-query's 2 s, a push's 5 s and the command's 3 s (CL_SUBMIT_MS) added
 * up to just over it (three writes of the long slow-link run). */
#define PUSH_TIMEOUT_MS  5000
#define HAVE_TIMEOUT_MS  2000 /* unanswered: every chunk is pushed */
#define WAIT_SLICE_MS    200  /* a push wait checks the quorum this often */
#define FETCH_TIMEOUT_MS 5000

/* A commit's replication: the push and when its budget ends. */
struct push_job {
    struct repl_push *push;
    uint64_t deadline_us;
};

/* Starts pushing hashes[0, n) to every peer; *job NULL when n is 0. */
static int push_start(struct cluster *cl, const uint8_t (*hashes)[32], size_t n,
                      uint64_t deadline_us, void **job)
{
    if (!n)
        return 0;
    struct push_job *j = malloc(sizeof(*j));
    if (!j)
        return -ENOMEM;
    j->deadline_us = deadline_us;
    int rc = repl_push_start(cl->repl, hashes, n, &j->push);
    if (rc) {
        free(j);
        return rc == -ENOTCONN ? -EROFS : rc;
    }
    *job = j;
    return 0;
}

/* Rewriting a file re-cuts chunks the peers still hold (a truncate made them
 * unreferenced; the GC keeps them for its grace period): the first n_ask,
 * which this node held before the commit, are asked about first and only
 * those some peer lacks are pushed. The rest were new here, so the peers
 * almost surely lack them too: asking would only cost a round trip, which
 * waits behind the pushes the peers are still storing. */
static int replicate_start(void *ctx, const uint8_t (*hashes)[32], size_t n, size_t n_ask,
                           void **job)
{
    struct cluster *cl = ctx;
    *job = NULL;
    if (!n || cl->mem.n / 2 == 0)
        return 0;
    /* Without a quorum the command could not be proposed anyway: fail now
     * rather than after the have-query's and the push's timeouts, which
     * stacked up behind the file's staging lock to minutes (fault suite). */
    if (!cl_has_quorum(cl))
        return -EROFS;
    uint64_t deadline = cl_now_us() + PUSH_TIMEOUT_MS * 1000u;
    if (n_ask == 0)
        return push_start(cl, hashes, n, deadline, job);
    uint8_t(*lack)[32] = malloc(n * 32);
    if (!lack)
        return -ENOMEM;
    long nl = repl_peers_lack(cl->repl, hashes, n_ask, lack, HAVE_TIMEOUT_MS);
    int rc = nl < 0 ? (int)nl : 0;
    if (!rc) {
        memcpy(lack[nl], hashes[n_ask], (n - n_ask) * 32);
        rc = push_start(cl, (const uint8_t(*)[32])lack, (size_t)nl + (n - n_ask), deadline, job);
    }
    free(lack);
    return rc;
}

/* The majority: this node counts, so n/2 peers. Gives up as soon as this
 * node loses its quorum (the command could not be proposed), so a commit on
 * a node cut off mid-push fails within an election timeout, not after the
 * whole push timeout on top of the have-query's (the fault suite's no-hang
 * bound is 10 s for a whole open-write-fsync-close). */
static int replicate_wait(void *ctx, void *job)
{
    struct cluster *cl = ctx;
    struct push_job *j = job;
    if (!j)
        return 0;
    int rc;
    for (;;) { /* at least one look, even past the deadline */
        uint64_t now = cl_now_us();
        uint64_t left_ms = now < j->deadline_us ? (j->deadline_us - now + 999) / 1000 : 0;
        rc = repl_push_wait(j->push, (int)cl->mem.n / 2,
                            left_ms < WAIT_SLICE_MS ? (int)left_ms : WAIT_SLICE_MS);
        if (rc != -ETIMEDOUT || left_ms == 0 || !cl_has_quorum(cl))
            break;
    }
    repl_push_release(j->push); /* the other peers get them in the background */
    free(j);
    if (rc < 0) {
        log_warn("cluster: chunks not on a majority: %s",
                 rc == -ETIMEDOUT && !cl_has_quorum(cl) ? "no quorum" : strerror(-rc));
        return -EROFS;
    }
    return 0;
}

static int replicate(void *ctx, const uint8_t (*hashes)[32], size_t n)
{
    void *job;
    int rc = replicate_start(ctx, hashes, n, n, &job);
    return rc ? rc : replicate_wait(ctx, job);
}

static int fetch(void *ctx, const uint8_t hash[32], uint8_t *buf, size_t cap, uint32_t *len)
{
    struct cluster *cl = ctx;
    return repl_fetch(cl->repl, hash, buf, cap, len, FETCH_TIMEOUT_MS);
}

void chunk_remote_fill(struct cluster *cl, struct core_remote *r)
{
    *r = (struct core_remote){.ctx = cl,
                              .replicate = replicate,
                              .replicate_start = replicate_start,
                              .replicate_wait = replicate_wait,
                              .fetch = fetch};
}
