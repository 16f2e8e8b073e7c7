/*
 * gc.h - deletes chunks no chunk map references any more, and pins the
 * chunks of commits in flight so that it never deletes one of them.
 *
 * Apply queues a chunk in the GC DB when its count reaches zero (same
 * transaction). gc_collect() runs on the apply thread after a batch commits:
 * for each queued chunk still unreferenced and not pinned, it deletes it from
 * the chunk store, then removes it from the queue. A writer pins every chunk
 * it is about to put (before the put) until its content command is applied:
 * a put that found the chunk already present is therefore never undone by
 * a collection racing with it (the pin check and the delete happen under
 * the pin lock). Deleting is idempotent, so a crash anywhere is harmless.
 *
 * In a cluster (a grace period set), deletion is local and waits: a peer
 * pushes a chunk before the commit that references it is applied here, so
 * it has count zero until then. The push receiver touches every chunk it
 * stores or finds present, BEFORE it looks (the same order as pin-then-put),
 * and a queued chunk is deleted only once the passes of a whole grace
 * period have seen it unreferenced and it was not touched within it; the
 * touch check and the delete happen under the pin lock. Both are kept in
 * memory, so after a restart every queued chunk waits a whole grace period
 * again. So a chunk a peer was told is stored here stays for a grace period
 * after that, which is assumed to cover the time from push to commit. A
 * pass over the queue starts at most every grace/4 and spreads over several
 * calls when the queue is long. (The read path also deletes a chunk that
 * fails its hash before fetching a good copy, core_remote.c: bytes no one
 * can use.)
 *
 * Strays: a chunk stored but never referenced (pushed for a commit that
 * never came; put by a writer whose daemon died before its command applied)
 * never has a count to drop to zero, so nothing queues it. A sweep walks the
 * chunk store in slices, one per gc_collect call, from the first call after
 * open and again every GC_SWEEP_MS, and queues every chunk with count zero;
 * the queue's rules (pins, touches, grace) then decide. A chunk being
 * written is pinned and a pushed one touched, so queueing it early is
 * harmless: the commit that references it takes it off the queue.
 * A writer whose commit failed (a full disk) knows its strays: it unpins
 * them with gc_unpin_unused(), and the next collection queues the ones
 * still unreferenced (in memory until then: after a crash the sweep finds
 * them). So the space a failed large write took is free again at the next
 * collection, not at the next sweep an hour later.
 *
 * Running on the apply thread is what makes the refcount check valid: no
 * command applies between reading a count of zero and the delete. A writer
 * unpins once its command applied, so a collector on another thread could see
 * zero, lose the race to that command, and delete a live chunk. Moving GC off
 * the apply thread (it costs that thread up to three synced commits per round)
 * needs the count re-read under the pin lock in a fresh read transaction.
 */
#ifndef QFS_FS_CORE_GC_H
#define QFS_FS_CORE_GC_H

#include "fs/chunk/chunk_store.h"
#include "fs/store/meta_store.h"

#include <stddef.h>
#include <stdint.h>

struct gc;

int gc_open(struct meta_store *ms, struct chunk_store *cs, struct gc **out);
void gc_close(struct gc *g);
int gc_pin(struct gc *g, const uint8_t hash[SHA256_LEN]);
void gc_unpin(struct gc *g, const uint8_t hash[SHA256_LEN]);
/* gc_unpin() for a chunk put for a command that was never applied: the next
 * collection queues it if nothing references it. */
void gc_unpin_unused(struct gc *g, const uint8_t hash[SHA256_LEN]);

#define GC_GRACE_DEFAULT_MS 60000 /* what a cluster sets (core_set_remote) */
/* 0 (the default: a single node, nothing is pushed) deletes at once. */
void gc_set_grace(struct gc *g, uint32_t grace_ms);
/* A peer stored chunk hash here or found it present: keep it for a grace
 * period even if unreferenced. Thread-safe; cheap (a Bloom filter). */
void gc_touch(struct gc *g, const uint8_t hash[SHA256_LEN]);
/* One collection (a seq_after_fn); failures are logged and retried later. */
void gc_collect(void *g);
#define GC_SWEEP_MS (60u * 60 * 1000) /* between two sweeps for strays */
/* Chunks deleted since open (for tests and status). */
uint64_t gc_deleted(struct gc *g);

#endif
