/*
 * apply_internal.h - what the apply_*.c files share (private to fs/core).
 */
#ifndef QFS_FS_CORE_APPLY_INTERNAL_H
#define QFS_FS_CORE_APPLY_INTERNAL_H

#include "fs/core/apply.h"
#include "fs/store/meta_dir.h"
#include "fs/store/meta_map.h"

#include <stdbool.h>

struct apply_ctx {
    struct meta_store *ms;
    MDB_txn *txn;
    const struct cmd *c;
    struct apply_result *res;
};

int apply_init(struct apply_ctx *a);
int apply_create(struct apply_ctx *a);
int apply_link(struct apply_ctx *a);
int apply_remove(struct apply_ctx *a);
int apply_rename(struct apply_ctx *a);
int apply_setattr(struct apply_ctx *a);
int apply_setxattr(struct apply_ctx *a);
int apply_removexattr(struct apply_ctx *a);
int apply_content(struct apply_ctx *a);
int apply_atime(struct apply_ctx *a);
int apply_reap(struct apply_ctx *a);

/* Helpers. */
bool apply_in_group(const struct cmd_cred *cr, uint32_t gid);
/* Drops one link of ino (after its dirent is gone); frees it at zero unless
 * keep, in which case it becomes an orphan. */
int apply_drop_link(struct apply_ctx *a, struct meta_inode *in, bool keep);
/* Frees an inode with no links: content, xattrs, symlink target, record. */
int apply_free_inode(struct apply_ctx *a, uint64_t ino);
int apply_get_dir(struct apply_ctx *a, uint64_t ino, struct meta_inode *dir);
int apply_result_attr(struct apply_ctx *a, const struct meta_inode *in);

#endif
