/*
 * core_remote_int.h - what the core does with the remote of core_remote.h
 * (private to fs/core): replicate a commit's chunks before it is proposed,
 * and read a committed chunk that is missing or corrupt here from a peer.
 * Without a remote both behave as a single node: replication is a no-op and
 * a missing or corrupt chunk is -EIO, logged by the caller.
 */
#ifndef QFS_FS_CORE_CORE_REMOTE_INT_H
#define QFS_FS_CORE_CORE_REMOTE_INT_H

#include "fs/core/cmd.h"

#include <stdint.h>

struct core;

/* Makes the chunks of the n extents in raw (CMD_EXTENT_LEN each, already
 * durable here) durable on a majority: one remote.replicate() call for all of
 * them. 0, -EROFS, -ETIMEDOUT, -ENOMEM; 0 at once without a remote. */
int core_replicate_extents(struct core *c, const uint8_t *raw, uint32_t n);

/* chunk_cache_read() for chunks a committed map references: bytes
 * [off, off + len) of chunk hash into buf, the count copied or -errno. A chunk
 * absent here (-ENOENT) or failing its hash (-EIO; the bad copy is dropped
 * first) is fetched through the remote, stored, cached, and the read goes
 * on. Without a remote, or when the fetch fails, the store's error (-ENOENT
 * or -EIO) is returned. */
int core_chunk_read(struct core *c, const uint8_t hash[SHA256_LEN], uint32_t off, void *buf,
                    uint32_t len);

#endif
