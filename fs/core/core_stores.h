/*
 * core_stores.h - the core's stores, for the cluster side of chunk movement
 * (fs/cluster/chunk_io_store.h serves peers from the chunk store and tells
 * the GC about pushed chunks; fs/cluster/chunk_sync.h scans the reference
 * counts). The core owns them: they live from core_open() to core_close()
 * and must not be closed by the caller.
 */
#ifndef QFS_FS_CORE_CORE_STORES_H
#define QFS_FS_CORE_CORE_STORES_H

struct core;
struct meta_store;
struct chunk_store;
struct gc;

struct meta_store *core_meta_store(struct core *c);
struct chunk_store *core_chunk_store(struct core *c);
struct gc *core_gc(struct core *c);

#endif
