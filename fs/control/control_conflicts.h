/*
 * control_conflicts.h - conflict copies as the control server reports them,
 * from core_conflicts_list() (fs/core/core.h): paths from the mount's root
 * rather than inode numbers, node tags, the newest few for `qfs status`.
 */
#ifndef QFS_FS_CONTROL_CONTROL_CONFLICTS_H
#define QFS_FS_CONTROL_CONTROL_CONFLICTS_H

#include "fs/control/control_proto.h"
#include "fs/core/core.h"

#include <stddef.h>
#include <stdint.h>

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
