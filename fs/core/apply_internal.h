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

/* Content versions and conflict copies (apply_content.c, apply_conflict.c). */
/* a's command changed in's bytes or size: bump its content version, record
 * the command's origin and tag (the caller writes in back). */
void apply_content_changed(struct apply_ctx *a, struct meta_inode *in);
/* A content commit whose writer started from another version than in's,
 * made by another node: two nodes wrote the file concurrently. */
bool apply_is_conflict(const struct cmd *c, const struct meta_inode *in);
/* Links a new inode holding in's current content (shared chunks, size, mode,
 * owner, times) as a conflict copy next to the file, and records it. */
int apply_conflict_copy(struct apply_ctx *a, const struct meta_inode *in);
/* ino's name was unlinked or renamed: a conflict record for it goes. */
int apply_conflict_forget(struct apply_ctx *a, uint64_t ino);

#endif
