/*
 * recent_refs.h - chunks that this node's own commands took out of the
 * committed state a moment ago, which a majority therefore still holds.
 *
 * Why it is safe to rely on: a chunk that a committed file referenced was
 * durable on a majority when that file was committed. When a command drops
 * the last reference, every node keeps the chunk for a whole GC grace period
 * counted from its own apply of that command (gc.h), and no node applies a
 * command before it was proposed. So if a command proposed at time t removed
 * the chunk from a file, a majority holds it until at least t + grace. A
 * writer that cuts the same chunks again soon after (an O_TRUNC open followed
 * by a rewrite of mostly the same bytes, as editors and cp do) need not ask
 * the peers whether they have them, which for a 100 MiB file was 26 KB of
 * have-queries per peer and a round trip.
 *
 * Invariants:
 *  - Only what the caller proved was removed by its command goes in (core:
 *    the file's content version moved by exactly that command), with the
 *    time taken before the command was proposed.
 *  - An entry counts for window_ms after its time; the caller keeps
 *    window_ms well inside the grace period (the commit that reuses the
 *    chunk must be applied on the peers before it ends, as for the touch a
 *    have-query leaves).
 *  - Memory is bounded: RECENT_REFS_MAX hashes in RECENT_REFS_BATCHES
 *    batches at most. What does not fit is not kept (the oldest batch makes
 *    room for a new one): those chunks are simply asked about, as before.
 * Thread-safe: one mutex guards every field.
 */
#ifndef QFS_FS_CORE_RECENT_REFS_H
#define QFS_FS_CORE_RECENT_REFS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RECENT_REFS_MAX     (1u << 18) /* hashes: 8 MiB, a 16 GiB file's chunks */
#define RECENT_REFS_BATCHES 64

struct recent_batch;

struct recent_refs {
    pthread_mutex_t lock; /* guards everything below */
    struct recent_batch *oldest, *newest;
    size_t n_batches, n_hashes;
    uint64_t window_ms;
};

void recent_refs_init(struct recent_refs *r, uint64_t window_ms);
void recent_refs_destroy(struct recent_refs *r);
/* Records h[0, n) as removed by a command proposed at t_ms (CLOCK_MONOTONIC
 * milliseconds). 0, -ENOSPC when they cannot all be kept (none are then),
 * or -ENOMEM. */
int recent_refs_add(struct recent_refs *r, const uint8_t (*h)[32], size_t n, uint64_t t_ms);
/* True when hash was recorded by a command proposed less than window_ms
 * before now_ms. */
bool recent_refs_has(struct recent_refs *r, const uint8_t hash[32], uint64_t now_ms);

#endif
