/*
 * meta_dir.h - directory entries and the per-directory cookie index.
 *
 * Every entry has a cookie, allocated by apply from the directory's
 * next_cookie and never reused, kept in two DBs that always agree:
 *   dirents: (parent, name)   -> child, type, cookie   (lookup)
 *   cookies: (parent, cookie) -> child, type, name     (readdir order)
 * readdir walks the cookie index, so a listing resumed after cookie c sees
 * every entry that existed throughout exactly once, whatever was unlinked
 * or created meanwhile. Cookies 1 and 2 are '.' and '..'.
 */
#ifndef QFS_FS_STORE_META_DIR_H
#define QFS_FS_STORE_META_DIR_H

#include "fs/store/meta_store.h"

#include <stddef.h>
#include <stdint.h>

#define META_NAME_MAX     255
#define META_FIRST_COOKIE 3

struct meta_dirent {
    uint64_t child;
    uint32_t type; /* S_IFMT bits */
    uint64_t cookie;
};

int meta_dirent_get(struct meta_store *ms, MDB_txn *txn, uint64_t parent, const char *name,
                    size_t namelen, struct meta_dirent *out);
/* A value of the dirents DB (e.g. read from a snapshot's copy); -EPROTO if
 * it is malformed. */
int meta_dirent_decode(const MDB_val *v, struct meta_dirent *out);
/* Inserts or overwrites the entry (and its cookie index record). */
int meta_dirent_put(struct meta_store *ms, MDB_txn *txn, uint64_t parent, const char *name,
                    size_t namelen, const struct meta_dirent *e);
/* Removes the entry (and its cookie index record). */
int meta_dirent_del(struct meta_store *ms, MDB_txn *txn, uint64_t parent, const char *name,
                    size_t namelen, uint64_t cookie);
/* 1 if the directory has no entries, 0 if it has, or -errno. */
int meta_dir_empty(struct meta_store *ms, MDB_txn *txn, uint64_t dir);

/* Calls fn for each entry with cookie > after, in cookie order, until fn
 * returns nonzero (that value is returned) or the entries end (0). */
typedef int (*meta_dir_fn)(void *ctx, const char *name, size_t namelen,
                           const struct meta_dirent *e);
int meta_dir_foreach(struct meta_store *ms, MDB_txn *txn, uint64_t dir, uint64_t after,
                     meta_dir_fn fn, void *ctx);

#endif
