/*
 * meta_copy.h - replaces named databases of one LMDB environment with the
 * same-named databases of another, inside the caller's write transaction.
 *
 * The cluster installs a peer's metadata snapshot this way (fs/cluster/
 * snapshot.h): logically, record by record, in one transaction on the live
 * environment, so readers see the old state until the commit and the new
 * one after it, never a mix, and databases not named (the node's own Paxos
 * state) are never touched.
 *
 * Invariants: each named destination DB holds exactly the source DB's
 * records after the call (a name absent from the source leaves it empty);
 * nothing else in the destination changes; on error the caller aborts the
 * transaction and nothing changed. Plain DBs only (no MDB_DUPSORT), default
 * key order on both sides (records are appended in source order).
 */
#ifndef QFS_FS_STORE_META_COPY_H
#define QFS_FS_STORE_META_COPY_H

#include "fs/store/meta_store.h"

#include <lmdb.h>
#include <stddef.h>

/* The names meta_store.c gives enum meta_db (checked against it by the
 * unit test, since meta_store.h does not export them). */
extern const char *const meta_copy_fs_dbs[META_DB_COUNT];

/* Empties each of names[0..n) in dst (created if absent), then copies every
 * record of the same-named DB of src into it. src may be a read-only
 * transaction of another environment. 0 or a negative errno (meta_err;
 * -EINVAL for a NULL name or a DB whose flags differ). */
int meta_copy_dbs(MDB_txn *src, MDB_txn *dst, const char *const *names, size_t n);

#endif
