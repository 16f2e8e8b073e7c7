/*
 * core_remote_int.h - what the core does with the remote of core_remote.h
 * (private to fs/core): replicate a commit's chunks before it is proposed,
 * and read a committed chunk that is missing or corrupt here from a peer.
 * Without a remote both behave as a single node: replication is a no-op and
 * a missing or corrupt chunk is -EIO, logged by the caller.
 */
#ifndef QFS_FS_CORE_CORE_REMOTE_INT_H
#define QFS_FS_CORE_CORE_REMOTE_INT_H

#include "fs/chunk/chunk_store.h"
#include "fs/core/apply.h"
#include "fs/core/cmd.h"
#include "fs/core/gc.h"

#include <stdbool.h>
#include <stdint.h>

struct core;

/* Starts making the new chunks among the n refs (already durable here)
 * durable on a majority: one remote call for all of them. Chunks the
 * committed state references are skipped (they were durable on a majority
 * when committed). known[i]: this node held refs[i] before this commit (so
 * peers may hold it too: they are asked before it is pushed). *job is NULL
 * when nothing travels, when there is no remote, or when the remote has only
 * the synchronous replicate() (then it ran here). 0, -EROFS, -ETIMEDOUT,
 * -ENOMEM, -EBUSY (too many jobs in flight on this node: wait for one). */
int core_replicate_start(struct core *c, const struct chunk_ref *refs, const bool *known, size_t n,
                         void **job);
/* 0 once job's chunks are durable on a majority, -EROFS / -ETIMEDOUT; frees
 * job. NULL: 0. */
int core_replicate_wait(struct core *c, void *job);

/* The window in which a chunk a truncate of this node removed needs no
 * have-query (recent_refs.h): well inside the peers' GC grace, which must
 * also cover the push, the proposal and the peers' apply of the commit that
 * uses it again. */
#define RECENT_REFS_WINDOW_MS (GC_GRACE_DEFAULT_MS / 4)

/* What a truncate is about to remove from a file's map: the chunks of its
 * extents from the new size on, the file's content version and the time,
 * all taken before the command is proposed. */
struct refs_drop {
    uint64_t ver, t_ms;
    size_t n;
    uint8_t (*h)[SHA256_LEN]; /* malloc'd; NULL when nothing is noted */
};

/* Before a truncate of ino to from, with the file's staging lock held (no
 * write of this node can change the map meanwhile). Notes nothing on a single
 * node, or when the map is longer than recent_refs can keep. 0 or -errno
 * (the truncate then goes ahead without its shortcut). */
int core_drop_capture(struct core *c, uint64_t ino, uint64_t from, struct refs_drop *d);
/* After the truncate was applied: keeps d's chunks in c->recent when the
 * file's content version shows that this command alone changed the map
 * since d was taken (no other node's commit came in between, whose removals
 * the peers may have applied long before). Frees d's hashes. */
void core_drop_record(struct core *c, struct refs_drop *d, const struct apply_result *res);

/* chunk_store_read() for chunks a committed map references: bytes
 * [off, off + len) of chunk hash into buf, the count copied or -errno. A chunk
 * absent here (-ENOENT) or failing its hash (-EIO; the bad copy is dropped
 * first) is fetched through the remote and stored, and the read goes
 * on. Without a remote, or when the fetch fails, the store's error (-ENOENT
 * or -EIO) is returned. */
int core_chunk_read(struct core *c, const uint8_t hash[SHA256_LEN], uint32_t off, void *buf,
                    uint32_t len);

/* Makes chunk hash, which a committed map references but this node lacks,
 * present here: fetched from a peer and stored. 0, -ENOENT (no remote, or
 * no reachable peer has it), -ENOTCONN, -ETIMEDOUT, -EIO, -ENOMEM. */
int core_chunk_fetch(struct core *c, const uint8_t hash[SHA256_LEN]);

#endif
