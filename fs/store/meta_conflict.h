/*
 * meta_conflict.h - the record of every conflict copy (DB "conflicts").
 *
 * When two nodes commit content to one file concurrently, apply moves the
 * earlier version to a new inode (the conflict copy) and records it here,
 * keyed by the copy's inode. The record lives until the copy is unlinked or
 * renamed (the user has dealt with it). Only apply writes it; `qfs status`
 * and `qfs conflicts` read it. Format: docs/on-disk-meta.md.
 */
#ifndef QFS_FS_STORE_META_CONFLICT_H
#define QFS_FS_STORE_META_CONFLICT_H

#include "fs/store/meta_dir.h"
#include "fs/store/meta_inode.h"

#include <stdint.h>

struct meta_conflict {
    uint64_t copy_ino;                /* the conflict copy: holds the earlier version */
    uint64_t orig_ino;                /* the file that kept its name: the later version */
    uint64_t parent;                  /* directory the copy was linked in */
    uint64_t copy_origin, win_origin; /* nodes that made each version */
    char copy_tag[META_TAG_MAX + 1], win_tag[META_TAG_MAX + 1];
    struct meta_time time; /* the later commit's time */
    uint32_t namelen;      /* the copy's name when it was made */
    char name[META_NAME_MAX + 1];
};

int meta_conflict_put(struct meta_store *ms, MDB_txn *txn, const struct meta_conflict *cf);
/* 0 also when ino has no record. */
int meta_conflict_del(struct meta_store *ms, MDB_txn *txn, uint64_t copy_ino);
int meta_conflict_get(struct meta_store *ms, MDB_txn *txn, uint64_t copy_ino,
                      struct meta_conflict *out);
/* Calls fn for each record in copy-inode order until fn returns nonzero
 * (returned). */
typedef int (*meta_conflict_fn)(void *ctx, const struct meta_conflict *cf);
int meta_conflict_foreach(struct meta_store *ms, MDB_txn *txn, meta_conflict_fn fn, void *ctx);

#endif
