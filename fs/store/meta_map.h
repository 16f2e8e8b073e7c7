/*
 * meta_map.h - per-file chunk maps, chunk reference counts and the GC queue.
 *
 * A file's content is a set of non-overlapping extents keyed (ino, offset):
 * each is a view [coff, coff+len) of one chunk. A gap between extents is a
 * hole (zeros, nothing stored). No extent reaches past the file size.
 * Each extent holds one reference on its chunk; a chunk whose count drops to
 * zero is put in the GC queue (in the same transaction) and deleted from the
 * chunk store by the collector after commit.
 */
#ifndef QFS_FS_STORE_META_MAP_H
#define QFS_FS_STORE_META_MAP_H

#include "common/sha256.h"
#include "fs/store/meta_store.h"

#include <stddef.h>
#include <stdint.h>

struct meta_extent {
    uint64_t off;  /* file offset */
    uint32_t coff; /* offset inside the chunk */
    uint32_t len;
    uint8_t hash[SHA256_LEN];
};

/* The extent containing off: 0, -ENOENT if off is in a hole, or -errno. */
int meta_map_find(struct meta_store *ms, MDB_txn *txn, uint64_t ino, uint64_t off,
                  struct meta_extent *out);
/* The first extent ending after off (containing it or after it): 0, -ENOENT. */
int meta_map_next(struct meta_store *ms, MDB_txn *txn, uint64_t ino, uint64_t off,
                  struct meta_extent *out);
/* Calls fn for each extent overlapping [from, to) in order; stops at a
 * nonzero return (returned). */
typedef int (*meta_map_fn)(void *ctx, const struct meta_extent *e);
int meta_map_foreach(struct meta_store *ms, MDB_txn *txn, uint64_t ino, uint64_t from, uint64_t to,
                     meta_map_fn fn, void *ctx);

/* Removes [start, end) from the map, trimming extents that straddle its
 * edges; adjusts references. *alloc_delta gets the change in mapped bytes. */
int meta_map_remove_range(struct meta_store *ms, MDB_txn *txn, uint64_t ino, uint64_t start,
                          uint64_t end, int64_t *alloc_delta);
/* Inserts an extent (the range must be free) and takes a reference. */
int meta_map_insert(struct meta_store *ms, MDB_txn *txn, uint64_t ino, const struct meta_extent *e);

/* Reference counts: 0 when absent. */
int meta_ref_get(struct meta_store *ms, MDB_txn *txn, const uint8_t hash[SHA256_LEN],
                 uint64_t *count);
int meta_ref_adjust(struct meta_store *ms, MDB_txn *txn, const uint8_t hash[SHA256_LEN], int delta);

/* GC queue: copies up to max queued hashes; returns how many. */
int meta_gc_list(struct meta_store *ms, MDB_txn *txn, uint8_t (*out)[SHA256_LEN], int max);
int meta_gc_add(struct meta_store *ms, MDB_txn *txn, const uint8_t hash[SHA256_LEN]);
int meta_gc_remove(struct meta_store *ms, MDB_txn *txn, const uint8_t hash[SHA256_LEN]);

#endif
