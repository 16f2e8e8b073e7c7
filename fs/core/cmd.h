/*
 * cmd.h - the commands that mutate the filesystem, and their codec.
 *
 * A command carries everything apply_cmd() needs that is not in the store:
 * the caller's credentials, the proposer's clock reading, the origin node and
 * request id (for de-duplication in a cluster). Variable parts (names,
 * values, ranges, extents) are pointers: into the caller's memory when a
 * command is built locally, into the encoded buffer after cmd_decode() -
 * except the extents of a version 3 command, which are compact on the wire
 * and expanded by cmd_decode() into memory the command owns (c->owned).
 * Whoever decodes a command calls cmd_release() when done with it.
 *
 * Wire format (docs/commands.md, version CMD_VERSION): little-endian, a
 * common header then one body per op. Decoding bounds every length and
 * rejects unknown versions/ops, trailing bytes and malformed varints with
 * -EPROTO and out-of-range fields with -EINVAL; it never reads past the
 * buffer. Encoding writes CMD_VERSION; decoding also reads version 1 (a
 * content command of version 1 has no base, hint or tag) and version 2
 * (extents of a fixed CMD_EXTENT_LEN bytes).
 */
#ifndef QFS_FS_CORE_CMD_H
#define QFS_FS_CORE_CMD_H

#include "fs/store/meta_inode.h"
#include "fs/store/meta_map.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CMD_VERSION     3
#define CMD_MAX_GROUPS  64
#define CMD_NAME_MAX    255
#define CMD_TARGET_MAX  4095
#define CMD_VALUE_MAX   65536
#define CMD_MAX_RANGES  65536
#define CMD_MAX_EXTENTS 65536
#define CMD_RANGE_LEN   16                /* start u64, end u64 */
#define CMD_EXTENT_LEN  (16 + SHA256_LEN) /* off u64, coff u32, len u32, hash */
#define CMD_TAG_MAX     META_TAG_MAX

enum cmd_op {
    CMD_INIT = 1,    /* create the root if absent: mode */
    CMD_MKNOD,       /* ino=parent, name, mode, rdev */
    CMD_MKDIR,       /* ino=parent, name, mode */
    CMD_SYMLINK,     /* ino=parent, name, data=target */
    CMD_LINK,        /* ino=target inode, ino2=new parent, name2 */
    CMD_UNLINK,      /* ino=parent, name, flags */
    CMD_RMDIR,       /* ino=parent, name, flags */
    CMD_RENAME,      /* ino=parent, name, ino2=new parent, name2, flags */
    CMD_SETATTR,     /* ino, flags=CORE_SET_*, mode, uid, gid, size, atime, mtime */
    CMD_SETXATTR,    /* ino, name, data=value, flags=XATTR_CREATE/REPLACE */
    CMD_REMOVEXATTR, /* ino, name */
    CMD_CONTENT,     /* ino, flags, min_size, base_ver, hint, tag, ranges, extents */
    CMD_ATIME,       /* ino, atime */
    CMD_REAP,        /* ino: delete it if it is an orphan (nlink 0) */
    CMD_OP_END
};

/* UNLINK, RMDIR, RENAME flag: an inode whose last link goes stays as an
 * orphan (still readable through open files) until a CMD_REAP. */
#define CMD_KEEP_ORPHAN (1u << 16)

/* CMD_CONTENT flags. */
enum {
    CMD_CONTENT_MTIME = 1 << 0,     /* a write: set mtime and ctime to the command time */
    CMD_CONTENT_KILL_SUID = 1 << 1, /* a write by non-root: clear setuid, setgid */
    /* Staged writes: base_ver is the content version the writer started
     * from. If another node changed the content since, apply first moves
     * that version to a conflict copy (apply_conflict.c). Without the flag
     * (punch, fallocate, copy ranges) the command applies to whatever the
     * content is, as a truncate does. */
    CMD_CONTENT_BASE = 1 << 2,
    CMD_CONTENT_FLAGS = 7,
};

struct cmd_cred {
    uint32_t uid, gid;
    uint32_t ngroups;
    uint32_t groups[CMD_MAX_GROUPS];
};

struct cmd {
    uint8_t op;
    uint64_t origin, req_id;
    struct meta_time time;
    struct cmd_cred cred;

    uint64_t ino, ino2;
    const char *name, *name2;
    uint32_t namelen, name2len;
    const uint8_t *data;
    uint32_t datalen;
    uint32_t mode, flags;
    uint64_t rdev;

    uint32_t uid, gid;             /* setattr */
    uint64_t size;                 /* setattr */
    struct meta_time atime, mtime; /* setattr, atime */

    uint64_t min_size; /* content: the size becomes at least this */
    uint32_t n_ranges, n_ext;
    const uint8_t *ranges;     /* n_ranges * CMD_RANGE_LEN: [start, end) to replace */
    const uint8_t *extents;    /* n_ext * CMD_EXTENT_LEN, each inside one range */
    uint64_t base_ver;         /* content: see CMD_CONTENT_BASE */
    uint64_t hint_parent;      /* content: where the proposer last saw the file */
    const char *hint_name;     /* (parent, name): where a conflict copy goes */
    uint32_t hint_namelen;     /* 0..CMD_NAME_MAX; 0 = no hint */
    char tag[CMD_TAG_MAX + 1]; /* content: the proposer's node tag, may be "" */
    /* Memory the command owns (freed by cmd_release): the expanded extents
     * of a decoded version 3 command. NULL for locally built commands. */
    void *owned;
};

/* Upper bound of the encoded size of c (exact for version 3 extents, which
 * it reads: at most CMD_EXTENT_LEN each when apply would accept them). */
size_t cmd_encoded_size(const struct cmd *c);
/* What extent e adds to an encoded command when it follows prev (NULL: the
 * first, expected where the ranges say: the most it can take then). Lets a
 * builder fill a command up to a size limit without re-encoding it. */
size_t cmd_extent_wire_len(const struct meta_extent *e, const struct meta_extent *prev);
/* Returns the encoded length, or -ENOBUFS / -EINVAL (c out of bounds). */
int cmd_encode(const struct cmd *c, uint8_t *buf, size_t cap);
/* Fills c with pointers into buf (which must outlive c) and, for version 3
 * extents, memory of its own: call cmd_release(c) when done, before c is
 * decoded into again. On error c owns nothing. -ENOMEM: no memory. */
int cmd_decode(const uint8_t *buf, size_t len, struct cmd *c);
/* Frees what cmd_decode allocated for c. Safe on any decoded or zeroed
 * command, and twice. */
void cmd_release(struct cmd *c);

/* A node tag is 1..CMD_TAG_MAX characters of [A-Za-z0-9_-] (it goes into
 * file names). cmd_set_tag copies tag's first CMD_TAG_MAX characters, or
 * CMD_TAG_DEFAULT when tag is NULL or not a valid tag. */
#define CMD_TAG_DEFAULT "local"
bool cmd_tag_valid(const char *tag, size_t len);
void cmd_set_tag(struct cmd *c, const char *tag);

void cmd_range_put(uint8_t *raw, uint32_t i, uint64_t start, uint64_t end);
void cmd_range_get(const struct cmd *c, uint32_t i, uint64_t *start, uint64_t *end);
void cmd_extent_put(uint8_t *raw, uint32_t i, const struct meta_extent *e);
void cmd_extent_get(const struct cmd *c, uint32_t i, struct meta_extent *e);

#endif
