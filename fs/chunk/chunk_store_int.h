/*
 * chunk_store_int.h - what the chunk store's own files share: chunk_store.c
 * (open, transactions, writes) and chunk_read.c (checked reads). Not for
 * other modules: chunk_store.h is the contract.
 */
#ifndef QFS_FS_CHUNK_CHUNK_STORE_INT_H
#define QFS_FS_CHUNK_CHUNK_STORE_INT_H

#include "fs/chunk/chunk_format.h"
#include "fs/chunk/chunk_store.h"

#include <limits.h>
#include <lmdb.h>
#include <pthread.h>

#define TXN_POOL_MAX 32 /* reset read txns kept for reuse */

/* A reset read txn and its renewable cursor on "pieces", kept for reuse so
 * a get allocates nothing (MDB_NOTLS: any thread may renew it). */
struct reader {
    MDB_txn *txn;
    MDB_cursor *cur;
};

struct chunk_store {
    MDB_env *env;
    MDB_dbi meta, chunks, pieces;
    uint32_t piece;   /* piece payload size, from the "piece" meta record */
    int os_readahead; /* chunk_store_opts: else reads ask for their pages */
    char path[PATH_MAX];
    /*
     * map_lock is held shared by every thread for as long as it has a txn
     * (read or write) active, and exclusively by a writer that grows the map:
     * mdb_env_set_mapsize() requires that no txn of this process is active.
     * Writer-preferring, so a resize is not starved by a stream of reads.
     * It also guards map_size.
     */
    pthread_rwlock_t map_lock;
    uint64_t map_size;
    uint64_t reserve;          /* atomic: chunk_store_set_reserve() */
    pthread_mutex_t pool_lock; /* guards pool and npool */
    struct reader pool[TXN_POOL_MAX];
    int npool;
};

/* LMDB's error codes as -errno. */
int chunk_lmdb_errno(int rc);
/* A read txn from the pool (or a new one), map_lock held shared until
 * chunk_reader_end: -errno (logged) if none can start. */
int chunk_reader_begin(struct chunk_store *cs, struct reader *r);
void chunk_reader_end(struct chunk_store *cs, struct reader *r);
/* The decoded record of hash: 0, MDB_NOTFOUND, MDB_CORRUPTED (a size that
 * fits no format, or a length over CHUNK_MAX) or another LMDB code. */
int chunk_record_lookup(struct chunk_store *cs, MDB_txn *txn, const uint8_t *hash,
                        struct chunk_record *rec);

/* Puts of at least this many new payload bytes in one batch drop their
 * pages from the page cache once committed (chunk_uncache.c says why). */
#define CHUNK_UNCACHE_MIN (1u << 20)
/* Drops the pieces of chunks with ids in [first, end) from the page cache.
 * Best effort: nothing is reported, nothing can be lost. */
void chunk_uncache(struct chunk_store *cs, uint64_t first, uint64_t end);

#endif
