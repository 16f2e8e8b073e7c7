/*
 * control_conflicts.h - conflict copies as the control server reports them.
 *
 * The list comes from core_conflicts_list(), which the "conflicts" work adds
 * to fs/core/core.h. Until it is there, control_conflicts.c holds a weak
 * stand-in that lists nothing; the declaration below is what this module
 * assumes the real one looks like (the lead wires the two together).
 */
#ifndef QFS_FS_CONTROL_CONTROL_CONFLICTS_H
#define QFS_FS_CONTROL_CONTROL_CONFLICTS_H

#include "fs/control/control_proto.h"

#include <stddef.h>
#include <stdint.h>

struct core;

struct core_conflict {
    uint64_t parent;    /* the directory holding both names */
    char copy[256];     /* the conflict copy's name */
    char original[256]; /* the name it was split from */
    char writer[64];    /* node ID whose commit took the name */
    char other[64];     /* node ID whose version became the copy */
    int64_t time;       /* UTC seconds of the conflict commit */
};
typedef int (*core_conflict_fn)(void *ctx, const struct core_conflict *cf);
int core_conflicts_list(struct core *c, core_conflict_fn fn, void *ctx);

/* Writes "conflicts.count" and conflict.I.{copy,original,writer,other,time}
 * for the newest max conflicts (all of them if max is 0), newest first when
 * max > 0. Paths are relative to the mount's root, starting with '/'. */
int control_conflicts_put(struct core *c, struct ctl_buf *out, size_t max);

/* The path of directory ino from the root ("/" for the root): 0, -ENOENT,
 * -ENAMETOOLONG. */
int control_dir_path(struct core *c, uint64_t ino, char *buf, size_t cap);

#endif
