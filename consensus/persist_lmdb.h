/*
 * persist_lmdb.h - LMDB persistence backend for the consensus engine.
 *
 * Shares an MDB_env the caller already opened (the daemon's metadata
 * environment; it must allow 2 more named DBs, see mdb_env_set_maxdbs).
 * Uses the named DBs "paxos_meta" and "paxos_log" (docs/consensus.md, on-disk
 * format version 1). Each save() is one write transaction, so one commit
 * (one fsync pair) per engine batch, never one per command. save() returns
 * only once the commit is durable, whatever the env's flags: if the env
 * skips syncs on commit (MDB_NOMETASYNC, MDB_NOSYNC, set by its other users
 * whose commits can be replayed), save() forces an mdb_env_sync() itself.
 * Not thread-safe: the engine's thread is its only user.
 */
#ifndef QFS_CONSENSUS_PERSIST_LMDB_H
#define QFS_CONSENSUS_PERSIST_LMDB_H

#include "consensus/persist.h"

#include <lmdb.h>

#define PAXOS_LMDB_VERSION 1

struct persist_lmdb;

extern const struct cons_persist_ops persist_lmdb_ops;

/* Opens (creating if needed) the paxos DBs; -EPROTO if their version differs. */
int persist_lmdb_open(struct persist_lmdb **out, MDB_env *env);
void persist_lmdb_close(struct persist_lmdb *p);
/* Empties the state (the records and promised/commit/log_start; the version
 * stays): after it moved to another backend (persist_file.h). */
int persist_lmdb_clear(struct persist_lmdb *p);

#endif
