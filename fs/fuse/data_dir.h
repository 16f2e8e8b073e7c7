/*
 * data_dir.h - where a node keeps its data (meta/ and chunks/).
 *
 * With nothing given: root uses /var/lib/quorumfs/default, other users
 * $XDG_DATA_HOME/quorumfs or ~/.local/share/quorumfs. The directory and its
 * parents are created (mode 0700 for the last one). The result is absolute,
 * so the daemon may chdir("/").
 */
#ifndef QFS_FS_FUSE_DATA_DIR_H
#define QFS_FS_FUSE_DATA_DIR_H

#include <stdbool.h>

/* given may be NULL. On success *out is malloc'd; *is_default says whether
 * the default was used. Returns 0 or -errno (logged). */
int data_dir_resolve(const char *given, char **out, bool *is_default);

#endif
