/*
 * control_conflicts.h - conflict copies as the control server reports them.
 *
 * The list comes from core_conflicts_list(), which the "conflicts" branch
 * adds to fs/core/core.h. Until that is merged, the block below repeats its
 * declarations (as they stand on that branch) and control_conflicts_stub.c
 * defines a weak stand-in that lists nothing.
 * WHEN MERGING THE CONFLICTS BRANCH: delete this block and
 * control_conflicts_stub.c (a weak definition in this static library could
 * otherwise win over a strong one the linker never pulls in).
 */
#ifndef QFS_FS_CONTROL_CONTROL_CONFLICTS_H
#define QFS_FS_CONTROL_CONTROL_CONFLICTS_H

#include "fs/control/control_proto.h"

#include <stddef.h>
#include <stdint.h>

struct core;

/* ---- from the conflicts branch's fs/core/core.h (delete at merge) ---- */
struct core_conflict {
    uint64_t copy_ino;              /* the copy: the earlier version */
    uint64_t orig_ino;              /* the file that kept its name */
    uint64_t parent;                /* the copy's directory */
    const char *name;               /* the copy's name (NUL-terminated) */
    uint64_t copy_origin;           /* node whose version the copy holds */
    uint64_t win_origin;            /* node whose commit took the name */
    const char *copy_tag, *win_tag; /* their node tags ("" if unknown) */
    int64_t sec;                    /* time of the later commit (UTC seconds) */
    uint32_t nsec;
};
typedef int (*core_conflict_fn)(void *ctx, const struct core_conflict *cf);
int core_conflicts_list(struct core *c, core_conflict_fn fn, void *ctx);
/* ---- end of the block to delete ---- */

/* Writes "conflicts.count" and conflict.I.{copy,original,writer,other,time}
 * for the newest max conflicts (all of them if max is 0), newest first when
 * max > 0. Paths are from the mount's root, starting with '/'; writer is the
 * tag of the node whose commit kept the name, other the tag of the node whose
 * version the copy holds. */
int control_conflicts_put(struct core *c, struct ctl_buf *out, size_t max);

/* The path of directory ino from the root ("/" for the root): 0, -ENOENT,
 * -ENAMETOOLONG. */
int control_dir_path(struct core *c, uint64_t ino, char *buf, size_t cap);

#endif
