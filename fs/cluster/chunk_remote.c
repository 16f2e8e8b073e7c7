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
#include <string.h>

#define PUSH_TIMEOUT_MS  5000
#define FETCH_TIMEOUT_MS 5000

static int replicate(void *ctx, const uint8_t (*hashes)[32], size_t n)
{
    struct cluster *cl = ctx;
    int k = (int)cl->mem.n / 2;
    if (!n || !k)
        return 0;
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

static int fetch(void *ctx, const uint8_t hash[32], uint8_t *buf, size_t cap, uint32_t *len)
{
    struct cluster *cl = ctx;
    return repl_fetch(cl->repl, hash, buf, cap, len, FETCH_TIMEOUT_MS);
}

void chunk_remote_fill(struct cluster *cl, struct core_remote *r)
{
    *r = (struct core_remote){.ctx = cl, .replicate = replicate, .fetch = fetch};
}
