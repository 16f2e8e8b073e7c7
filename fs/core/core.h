/*
 * core.h - the filesystem without FUSE: every operation a mount needs, on
 * inode numbers, with POSIX semantics and negative-errno results.
 *
 * The FUSE driver (fs/fuse/) is a thin translation onto these calls; the
 * integration tests exercise them through a real mount.
 *
 * Invariants:
 *  - Every mutation becomes one serialized command applied by the single
 *    deterministic apply function (fs/core/apply.h) in log order, on the
 *    apply thread, in a batch that commits with the new applied index in one
 *    LMDB transaction. A mutation returns only after that commit (durable),
 *    with the result the apply function computed. Commands carry everything
 *    apply needs that is not in the store: caller credentials, timestamps,
 *    new inode attributes: apply reads no clock and no node-local state.
 *  - Reads (lookup, getattr, read, readdir, xattrs) run on the calling
 *    thread in an LMDB read transaction and never wait for the apply thread.
 *  - File content written through core_write() is staged on this node
 *    (bounded memory; a writer whose staged bytes pass the bound commits
 *    early) and visible to core_read() on this node at once; it is committed
 *    as a content command on flush, fsync or release, re-cutting only the
 *    chunks around the dirty ranges.
 *  - Inode numbers are allocated by the apply function and never reused.
 *    The root is CORE_ROOT_INO. Names are 1..255 bytes without '/' or NUL.
 *  - Thread-safe: any number of FUSE threads call in at once.
 */
#ifndef QFS_FS_CORE_CORE_H
#define QFS_FS_CORE_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>

#define CORE_ROOT_INO 1

struct core;

enum core_atime_mode { CORE_ATIME_RELATIME = 0, CORE_ATIME_NOATIME, CORE_ATIME_STRICT };

struct core_config {
    const char *data_dir;            /* holds meta/ and chunks/; created if missing */
    enum core_atime_mode atime_mode; /* from the mount options */
    size_t staging_limit;            /* bytes staged per node (past half, writers commit
                                        in the background; at it, they wait);
                                        0 = default (a sixteenth of
                                        memory, 64 MiB to 1 GiB) */
    const char *node_tag;            /* this node in conflict copy names: the first 7
                                        characters of its node ID; NULL = "local".
                                        Must outlive the core. */
    bool cluster; /* commands are ordered by a cluster (core_cluster.h), not locally */
};

/* Who asks: from the FUSE request (fuse_req_ctx, fuse_req_getgroups). */
struct core_cred {
    uint32_t uid, gid;
    uint32_t umask; /* already applied by the kernel when the fs is mounted with
                       default_permissions and FUSE_CAP_DONT_MASK is off */
    uint32_t ngroups;
    const uint32_t *groups; /* supplementary groups, for setgid rules */
};

/* Bits of core_setattr's to_set (mirror FUSE_SET_ATTR_*). */
enum {
    CORE_SET_MODE = 1 << 0,
    CORE_SET_UID = 1 << 1,
    CORE_SET_GID = 1 << 2,
    CORE_SET_SIZE = 1 << 3,
    CORE_SET_ATIME = 1 << 4,
    CORE_SET_MTIME = 1 << 5,
    CORE_SET_ATIME_NOW = 1 << 7,
    CORE_SET_MTIME_NOW = 1 << 8,
    CORE_SET_CTIME = 1 << 10,
};

/* One directory entry; cookie is what to pass to resume after it. */
struct core_dirent {
    const char *name;
    size_t namelen;
    uint64_t ino;
    uint32_t type; /* S_IFMT bits */
    uint64_t cookie;
};
/* Return nonzero to stop (e.g. the reply buffer is full): that entry is not
 * consumed and the next call resumes with it. */
typedef int (*core_dirent_fn)(void *ctx, const struct core_dirent *e, const struct stat *st);

int core_open(const struct core_config *cfg, struct core **out);
/* Commits staged content, stops the apply thread, closes the stores. */
void core_close(struct core *c);

/* Namespace (each returns the new or looked-up inode's attributes in *st). */
int core_lookup(struct core *c, uint64_t parent, const char *name, struct stat *st);
int core_getattr(struct core *c, uint64_t ino, struct stat *st);
int core_setattr(struct core *c, const struct core_cred *cr, uint64_t ino, const struct stat *in,
                 int to_set, struct stat *st);
int core_mknod(struct core *c, const struct core_cred *cr, uint64_t parent, const char *name,
               mode_t mode, dev_t rdev, struct stat *st);
int core_mkdir(struct core *c, const struct core_cred *cr, uint64_t parent, const char *name,
               mode_t mode, struct stat *st);
int core_symlink(struct core *c, const struct core_cred *cr, uint64_t parent, const char *name,
                 const char *target, struct stat *st);
int core_link(struct core *c, const struct core_cred *cr, uint64_t ino, uint64_t newparent,
              const char *newname, struct stat *st);
int core_unlink(struct core *c, const struct core_cred *cr, uint64_t parent, const char *name);
int core_rmdir(struct core *c, const struct core_cred *cr, uint64_t parent, const char *name);
/* flags: 0, RENAME_NOREPLACE or RENAME_EXCHANGE. */
int core_rename(struct core *c, const struct core_cred *cr, uint64_t parent, const char *name,
                uint64_t newparent, const char *newname, unsigned int flags);
/* Returns the target's length (not NUL-terminated in buf), or -errno. */
ssize_t core_readlink(struct core *c, uint64_t ino, char *buf, size_t cap);
/* Lists entries after cookie (0 = from the start, with "." and ".."). Stable
 * across concurrent unlinks and creates: no entry is listed twice or skipped
 * unless it was removed or added during the listing. */
int core_readdir(struct core *c, uint64_t ino, uint64_t cookie, bool plus, core_dirent_fn fn,
                 void *ctx);
int core_statfs(struct core *c, struct statvfs *st);
/* The path of directory dir from the root, as "/a/b" ("" for the root),
 * NUL-terminated in buf; returns its length, -ENAMETOOLONG if it does not
 * fit in cap, -ENOTDIR or -ENOENT. Walks each parent's entries: for rare
 * uses only (core_path.c). */
ssize_t core_dir_path(struct core *c, uint64_t dir, char *buf, size_t cap);

/* Extended attributes. getxattr/listxattr return the size (cap 0 asks for
 * it), -ERANGE if cap is too small, -ENODATA if absent. */
int core_setxattr(struct core *c, const struct core_cred *cr, uint64_t ino, const char *name,
                  const void *value, size_t size, int flags);
ssize_t core_getxattr(struct core *c, uint64_t ino, const char *name, void *buf, size_t cap);
ssize_t core_listxattr(struct core *c, uint64_t ino, char *buf, size_t cap);
int core_removexattr(struct core *c, const struct core_cred *cr, uint64_t ino, const char *name);

/* Content. open/release bracket every use of an inode's staging; they count
 * opens per inode. */
int core_file_open(struct core *c, uint64_t ino, int flags);
/* The same, and *atime_due tells whether a read now would make an atime
 * update due (the mount's atime mode: relatime, strictatime, noatime). */
int core_file_open_atime(struct core *c, uint64_t ino, int flags, bool *atime_due);
/* The open of a file this node's create just made. It succeeds even when
 * another node's unlink removed the file between the two: the create did
 * happen and must say so (O_EXCL's caller must not read ENOENT as "nothing
 * changed"); I/O on the handle then fails with ENOENT, as on NFS. */
int core_file_open_new(struct core *c, uint64_t ino, int flags);
ssize_t core_read(struct core *c, uint64_t ino, uint64_t off, void *buf, size_t size);
/* The caller passes the credentials so that a non-root write clears setuid/setgid. */
ssize_t core_write(struct core *c, const struct core_cred *cr, uint64_t ino, uint64_t off,
                   const void *buf, size_t size);
/* An O_APPEND write: at the end of the file as this node has it when the
 * write runs (staged bytes included), not at an offset the caller chose. In
 * a cluster the kernel's idea of the size can be older than the store's
 * (another node appended since), and writing at it would cover those bytes. */
ssize_t core_write_append(struct core *c, const struct core_cred *cr, uint64_t ino, const void *buf,
                          size_t size);
int core_flush(struct core *c, uint64_t ino);
/* flush of a read-only handle: the atime update that is due, never a commit
 * (the inode's staged bytes are other handles' writes, and their failure is
 * not this close()'s). */
void core_flush_reader(struct core *c, uint64_t ino);
int core_fsync(struct core *c, uint64_t ino, bool datasync);
int core_file_release(struct core *c, uint64_t ino);
/* mode: 0, FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE|FALLOC_FL_KEEP_SIZE. */
int core_fallocate(struct core *c, const struct core_cred *cr, uint64_t ino, int mode, uint64_t off,
                   uint64_t len);
/* Shares whole chunks where the ranges allow it (no bytes copied), copies the
 * ragged edges. Returns bytes copied. */
ssize_t core_copy_file_range(struct core *c, const struct core_cred *cr, uint64_t ino_in,
                             uint64_t off_in, uint64_t ino_out, uint64_t off_out, size_t len);
/* SEEK_DATA / SEEK_HOLE over committed + staged content. */
int64_t core_lseek(struct core *c, uint64_t ino, int64_t off, int whence);

/* Counters for tests, benchmarks and `qfs status` (added by the core). */
struct core_stats {
    uint64_t applied;      /* index of the last applied command */
    uint64_t chunks_put;   /* chunks handed to the chunk store by content commits */
    uint64_t chunks_freed; /* chunks the GC deleted */
    uint64_t chunks;       /* distinct chunks stored now */
    uint64_t staged_bytes; /* memory holding uncommitted writes now */
};
int core_stats(struct core *c, struct core_stats *out);

/* Conflict copies that still exist under the name they were given (for
 * `qfs conflicts` and `qfs status`). When two nodes commit content to one
 * file concurrently, the later commit keeps the name and the earlier
 * version becomes NAME.conflict-YYYYMMDD-HHMMSS-TAG[.EXT] (docs/commands.md);
 * a copy stops being listed once it is unlinked or renamed. */
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
/* Return nonzero to stop (returned by core_conflicts_list). */
typedef int (*core_conflict_fn)(void *ctx, const struct core_conflict *cf);
/* Calls fn for each conflict copy in inode order, from this node's applied
 * state. Returns 0, fn's nonzero return, or -errno. */
int core_conflicts_list(struct core *c, core_conflict_fn fn, void *ctx);

#endif
