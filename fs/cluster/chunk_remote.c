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

#define PUSH_TIMEOUT_MS  5000
#define FETCH_TIMEOUT_MS 5000

static int push_and_wait(struct cluster *cl, const uint8_t (*hashes)[32], size_t n, int k)
{
    struct repl_push *job;
    int rc = repl_push_start(cl->repl, hashes, n, &job);
    if (rc)
        return rc == -ENOTCONN ? -EROFS : rc;
    rc = repl_push_wait(job, k, PUSH_TIMEOUT_MS);
    repl_push_release(job); /* the other peers get them in the background */
    if (rc < 0) {
        log_warn("cluster: %zu chunks not on a majority within %d ms: %s", n, PUSH_TIMEOUT_MS,
                 strerror(-rc));
        return -EROFS;
    }
    return 0;
}

/* Rewriting a file re-cuts chunks the peers still hold (a truncate made them
 * unreferenced; the GC keeps them for its grace period): ask first, push only
 * what some peer lacks. */
static int replicate(void *ctx, const uint8_t (*hashes)[32], size_t n)
{
    struct cluster *cl = ctx;
    int k = (int)cl->mem.n / 2;
    if (!n || !k)
        return 0;
    /* Without a quorum the command could not be proposed anyway: fail now
     * rather than after the have-query's and the push's timeouts, which
     * stacked up behind the file's staging lock to minutes (fault suite). */
    struct engine_status st;
    cl_engine_status(cl, &st);
    if (!st.quorum_ok)
        return -EROFS;
    uint8_t(*lack)[32] = malloc(n * 32);
    if (!lack)
        return -ENOMEM;
    long nl = repl_peers_lack(cl->repl, hashes, n, lack, PUSH_TIMEOUT_MS);
    int rc = nl < 0 ? (int)nl : 0;
    if (!rc && nl > 0)
        rc = push_and_wait(cl, (const uint8_t(*)[32])lack, (size_t)nl, k);
    free(lack);
    return rc;
}

static int fetch(void *ctx, const uint8_t hash[32], uint8_t *buf, size_t cap, uint32_t *len)
{
    struct cluster *cl = ctx;
    return repl_fetch(cl->repl, hash, buf, cap, len, FETCH_TIMEOUT_MS);
}

void chunk_remote_fill(struct cluster *cl, struct core_remote *r)
{
    *r = (struct core_remote){.ctx = cl, .replicate = replicate, .fetch = fetch};
}
