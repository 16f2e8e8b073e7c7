/*
 * meta_store.h - the metadata LMDB environment (DATA/meta/) and its named
 * databases. The schema (keys, values, version) is docs/on-disk-meta.md.
 *
 * Invariants:
 *  - One writer: only the apply thread opens write transactions on the
 *    filesystem DBs; readers use their own read-only transactions.
 *  - The format version in the "meta" DB is checked on open: an older
 *    version this build still reads (META_FORMAT_OLDEST..) is upgraded in
 *    place (its records stay valid); any other is -EPROTO and nothing is
 *    changed.
 *  - maxdbs leaves room for the cluster (Paxos state, membership, de-dup):
 *    other modules open their own named DBs through meta_store_env().
 *  - The map is as large as the address space grants (1 TiB, or less under
 *    a ulimit or a sanitizer; LMDB only grows the file as pages are used).
 *    A full map or a full disk surfaces as -ENOSPC from the commit and
 *    leaves the last commit intact.
 */
#ifndef QFS_FS_STORE_META_STORE_H
#define QFS_FS_STORE_META_STORE_H

#include <lmdb.h>
#include <stdbool.h>
#include <stdint.h>

#define META_FORMAT_VERSION 2
#define META_FORMAT_OLDEST  1

enum meta_db {
    META_DB_META = 0,  /* "version", "next_ino", "applied" */
    META_DB_INODES,    /* ino BE -> inode record */
    META_DB_SYMLINKS,  /* ino BE -> target bytes */
    META_DB_DIRENTS,   /* parent BE + name -> child, type, cookie */
    META_DB_COOKIES,   /* parent BE + cookie BE -> child, type, name */
    META_DB_CHUNKMAP,  /* ino BE + file offset BE -> hash, chunk offset, length */
    META_DB_REFS,      /* hash -> reference count */
    META_DB_GC,        /* hash -> (empty): chunks whose count reached zero */
    META_DB_XATTRS,    /* ino BE + name -> value */
    META_DB_ORPHANS,   /* ino BE -> (empty): nlink 0, kept while open */
    META_DB_CONFLICTS, /* copy ino BE -> conflict record (meta_conflict.h) */
    META_DB_COUNT
};

struct meta_ckpt;

struct meta_store {
    MDB_env *env;
    MDB_dbi dbi[META_DB_COUNT];
    struct meta_ckpt *ckpt; /* meta_checkpoint.h; used by the writer thread */
};

/* Opens (creating if needed) dir as the metadata environment, rolled back
 * to its last checkpoint (meta_checkpoint.h): commits from here on do not
 * sync, so whatever the caller commits past a checkpoint must be in a log
 * of its own or be derived again at the next open. -EBUSY: another process
 * has it open. */
int meta_store_open(const char *dir, struct meta_store **out);
/* Takes a last checkpoint, so a clean close keeps every commit. */
void meta_store_close(struct meta_store *ms);
/* On the writer thread, between write transactions: syncs the store and
 * makes its state the one the next open rolls back to. Only then may the
 * caller drop its log up to the applied index it committed. */
int meta_store_checkpoint(struct meta_store *ms);
/* The same in two steps, the syncs on a thread of the store's own while the
 * writer goes on: begin (-EBUSY: one in flight), then poll after later
 * batches: 1 the state begun is durable, 0 not yet (or none in flight),
 * -errno it failed. */
int meta_store_checkpoint_begin(struct meta_store *ms);
int meta_store_checkpoint_poll(struct meta_store *ms, bool wait);
/* Enough commits or time since the last checkpoint began to begin one. */
bool meta_store_checkpoint_due(struct meta_store *ms);
/* For modules that keep their own named DBs in this environment. */
MDB_env *meta_store_env(struct meta_store *ms);

/* Commits txn. LMDB reports a short write as EIO, and a file system that runs
 * out of space mid-write gives exactly that: with less than 2 MiB free it is
 * -ENOSPC (a full disk, as the writer should hear it), else -EIO. */
int meta_commit(struct meta_store *ms, MDB_txn *txn);

/* Maps an LMDB or errno result to a negative errno (MDB_NOTFOUND -> -ENOENT,
 * MDB_MAP_FULL -> -ENOSPC, other LMDB codes -> -EIO). */
int meta_err(int rc);

/* Bytes up to the environment's last used page (its data file's high-water
 * mark, free pages inside it included); 0 if LMDB cannot say. */
uint64_t meta_store_used_bytes(struct meta_store *ms);

int meta_txn_read(struct meta_store *ms, MDB_txn **txn);
int meta_txn_write(struct meta_store *ms, MDB_txn **txn);

/* Reads a u64 value (LE) stored under key in dbi: 0 when absent, -EPROTO when
 * the value is not 8 bytes. Counters and reference counts use it. */
int meta_get_u64(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t keylen, uint64_t *v);

/* Counters in the "meta" DB: 0 when absent. */
int meta_counter_get(struct meta_store *ms, MDB_txn *txn, const char *key, uint64_t *v);
int meta_counter_put(struct meta_store *ms, MDB_txn *txn, const char *key, uint64_t v);

#endif
