/*
 * meta_inode.h - inode records, symlink targets and xattrs in the metadata
 * store. Records are versioned little-endian values (docs/on-disk-meta.md);
 * a record that does not decode is -EPROTO, never garbage attributes.
 */
#ifndef QFS_FS_STORE_META_INODE_H
#define QFS_FS_STORE_META_INODE_H

#include "fs/store/meta_store.h"

#include <stddef.h>
#include <stdint.h>

#define META_TAG_MAX 7 /* a node tag: the first 7 characters of its node ID */

struct meta_time {
    int64_t sec;
    uint32_t nsec;
};

struct meta_inode {
    uint64_t ino;
    uint32_t mode, uid, gid, nlink;
    uint64_t size;
    uint64_t rdev;
    uint64_t alloc;       /* bytes held by chunk-map extents (st_blocks) */
    uint64_t parent;      /* directories: the parent ('..'); others: 0 */
    uint64_t next_cookie; /* directories: next readdir cookie to hand out */
    struct meta_time atime, mtime, ctime;
    /* Content version (regular files): bumped by every command that changes
     * the bytes or the size; origin and tag name the node that made the
     * change (tag: up to META_TAG_MAX chars, NUL-terminated, may be empty).
     * A writer's content commit names the version it started from: that is
     * how apply tells concurrent writers from sequential ones. */
    uint64_t content_ver;
    uint64_t content_origin;
    char content_tag[META_TAG_MAX + 1];
};

int meta_inode_get(struct meta_store *ms, MDB_txn *txn, uint64_t ino, struct meta_inode *out);
int meta_inode_put(struct meta_store *ms, MDB_txn *txn, const struct meta_inode *in);
int meta_inode_del(struct meta_store *ms, MDB_txn *txn, uint64_t ino);

/* Symlink targets (1..4095 bytes). get returns the length copied (at most
 * cap) and the full length in *full. */
int meta_symlink_get(struct meta_store *ms, MDB_txn *txn, uint64_t ino, char *buf, size_t cap,
                     size_t *full);
int meta_symlink_put(struct meta_store *ms, MDB_txn *txn, uint64_t ino, const char *t, size_t len);
int meta_symlink_del(struct meta_store *ms, MDB_txn *txn, uint64_t ino);

/* Xattrs: names 1..255 bytes, values up to 64 KiB. get points *val into the
 * transaction's memory (valid until it ends). */
#define META_XATTR_NAME_MAX 255
#define META_XATTR_SIZE_MAX 65536
int meta_xattr_get(struct meta_store *ms, MDB_txn *txn, uint64_t ino, const char *name,
                   size_t namelen, const void **val, size_t *len);
int meta_xattr_put(struct meta_store *ms, MDB_txn *txn, uint64_t ino, const char *name,
                   size_t namelen, const void *val, size_t len);
int meta_xattr_del(struct meta_store *ms, MDB_txn *txn, uint64_t ino, const char *name,
                   size_t namelen);
/* Calls fn for each name of ino in order; stops at fn's nonzero return. */
typedef int (*meta_xattr_fn)(void *ctx, const char *name, size_t namelen);
int meta_xattr_foreach(struct meta_store *ms, MDB_txn *txn, uint64_t ino, meta_xattr_fn fn,
                       void *ctx);
/* Removes every xattr of ino (when the inode dies). */
int meta_xattr_del_all(struct meta_store *ms, MDB_txn *txn, uint64_t ino);

/* Orphans: inodes with nlink 0 kept while open. list copies up to max. */
int meta_orphan_put(struct meta_store *ms, MDB_txn *txn, uint64_t ino);
int meta_orphan_del(struct meta_store *ms, MDB_txn *txn, uint64_t ino);
int meta_orphan_list(struct meta_store *ms, MDB_txn *txn, uint64_t *out, int max);

#endif
