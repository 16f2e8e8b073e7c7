/*
 * chunk_io_store.h - the replicator's view of this node's chunks (struct
 * chunk_io, net/chunk_io.h) over the LMDB chunk store, so that every chunk a
 * peer pushes here is protected from the GC until its commit applies.
 *
 * Invariant: has() and put_batch() touch each chunk (gc_touch) BEFORE they
 * look at the store, so a chunk a peer is told is present here cannot be
 * deleted by a collection racing with the answer (gc.h: pin-then-put order).
 * get() is the store's verified get. The stores must outlive the chunk_io.
 */
#ifndef QFS_FS_CLUSTER_CHUNK_IO_STORE_H
#define QFS_FS_CLUSTER_CHUNK_IO_STORE_H

#include "net/chunk_io.h"

struct chunk_store;
struct gc;

struct chunk_io_store {
    struct chunk_store *cs;
    struct gc *gc; /* NULL: no GC to tell (tests) */
};

/* Fills io with callbacks over s (which must outlive io). */
void chunk_io_store_init(struct chunk_io_store *s, struct chunk_store *cs, struct gc *gc,
                         struct chunk_io *io);

#endif
