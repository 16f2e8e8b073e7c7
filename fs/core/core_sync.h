/*
 * core_sync.h - what this node holds of the content its committed metadata
 * references: the local half of "in sync" for `qfs status` (fs/control/).
 *
 * A file is in sync on a node when its committed version is applied there
 * (the caller compares the applied index with the leader's commit index) and
 * every chunk its map references is stored there (these functions count the
 * references whose chunk is absent).
 *
 * Invariants: each call reads one LMDB snapshot of the metadata and checks
 * it against the chunk store as it is at that moment. Chunks are stored
 * before a command that references them applies and deleted only after
 * their count reached zero, so a reference counted missing is missing; a
 * count of zero is exact, never an estimate. Counts are per reference
 * (consecutive extents that view one chunk count once), except the
 * node-wide distinct counts, which come from the reference-count table.
 */
#ifndef QFS_FS_CORE_CORE_SYNC_H
#define QFS_FS_CORE_CORE_SYNC_H

#include <stdint.h>

struct core;

struct core_sync_ino {
    uint64_t chunks;         /* chunk references of the map */
    uint64_t bytes;          /* file bytes mapped to chunks (holes excluded) */
    uint64_t missing_chunks; /* references whose chunk is not stored here */
    uint64_t missing_bytes;  /* file bytes in those chunks */
};

/* Counts one inode's map (any type; non-files have an empty map). -ENOENT if
 * the inode does not exist. */
int core_sync_ino(struct core *c, uint64_t ino, struct core_sync_ino *out);

struct core_sync_all {
    uint64_t referenced_chunks; /* distinct chunks with a nonzero count */
    uint64_t missing_chunks;    /* of those, not stored here */
    uint64_t logical_bytes;     /* file bytes mapped to chunks, all files */
    uint64_t missing_bytes;     /* of those, in chunks not stored here */
    uint64_t stored_chunks;     /* what the chunk store holds (chunk_store_stats) */
    uint64_t stored_bytes;
    uint64_t file_bytes; /* LMDB data file of the chunk store */
    uint64_t map_bytes;  /* its LMDB map size */
};

/* The whole store: one pass over the inodes' maps and one over the reference
 * counts; O(extents + chunks), so callers cache it. */
int core_sync_all(struct core *c, struct core_sync_all *out);

#endif
