/* cmd_log.c - the daemon's local command log (cmd_log.h). */
#include "fs/core/cmd_log.h"

#include "common/bytes.h"
#include "common/crc32c.h"
#include "common/file_io.h"
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#define FILE_HDR    24 /* magic 8, version u32, reserved u32 (0), salt 8 */
#define FRAME_HDR   24 /* magic u32, payload length u32, crc32c u32, first u64, count u32 */
#define CRC_FROM    12 /* the CRC covers the frame from here (first, count, payload) */
#define FRAME_MAGIC 0x4c434651u /* "QFCL" */
#define GROW_BYTES  (1u << 20)  /* small: two logs sit on a data disk that may be small */
#define SALT_LEN    8

static const uint8_t file_magic[8] = {'Q', 'F', 'S', 'C', 'M', 'D', 'L', 'G'};

struct cmd_log {
    char *path;
    int fd;
    uint8_t salt[SALT_LEN];
    uint64_t end;                 /* offset after the last frame of the log: the next goes here */
    uint64_t alloc;               /* file size: zero-filled or stale past end */
    uint64_t last;                /* last index of the frame before end, when end > FILE_HDR */
    bool can_void;                /* the frame at void_off is the last append's */
    uint64_t void_off, void_last; /* where it starts; `last` before it */
    bool failed;                  /* a frame could not be cleared: -EIO until reopened */
    uint8_t *buf;                 /* one frame, being encoded or read */
    size_t cap;
    struct cmd *cmds; /* replay: one frame's commands, decoded */
    uint32_t ncmds;
};

/* A frame of the log, read into l->buf (header included). */
struct frame {
    uint32_t len; /* payload bytes, after FRAME_HDR */
    uint64_t first, last;
    uint32_t count;
};

/* ---- file I/O ---- */

static int sync_fd(int fd)
{
    return fdatasync(fd) ? -errno : 0;
}

static int buf_room(struct cmd_log *l, size_t n)
{
    if (n <= l->cap)
        return 0;
    size_t cap = l->cap ? l->cap : 65536;
    while (cap < n)
        cap *= 2;
    uint8_t *b = realloc(l->buf, cap);
    if (!b)
        return -ENOMEM;
    l->buf = b;
    l->cap = cap;
    return 0;
}

/* The salt makes a frame valid in this file only, and only to whoever can
 * read the file: see the header comment. */
static uint32_t frame_crc(const struct cmd_log *l, const uint8_t *frame, size_t total)
{
    uint32_t crc = crc32c_update(0, l->salt, SALT_LEN);
    return crc32c_update(crc, frame + CRC_FROM, total - CRC_FROM);
}

/* ---- creating and opening ---- */

static void make_header(uint8_t h[FILE_HDR], const uint8_t salt[SALT_LEN])
{
    memset(h, 0, FILE_HDR);
    memcpy(h, file_magic, sizeof(file_magic));
    put_u32(h + 8, CMD_LOG_VERSION);
    memcpy(h + 16, salt, SALT_LEN);
}

static int fill_new(int fd)
{
    uint8_t salt[SALT_LEN], h[FILE_HDR];
    if (getrandom(salt, sizeof(salt), 0) != (ssize_t)sizeof(salt))
        return errno ? -errno : -EIO;
    make_header(h, salt);
    int rc = file_pwrite_all(fd, h, FILE_HDR, 0);
    if (!rc)
        rc = file_zero_fill(fd, FILE_HDR, GROW_BYTES);
    if (!rc && fsync(fd))
        rc = -errno;
    return rc;
}

/* Written aside and renamed: a crash never leaves a half-made header that
 * the next open would refuse. */
static int create_file(const char *path)
{
    char *tmp;
    if (asprintf(&tmp, "%s.tmp", path) < 0)
        return -ENOMEM;
    int rc = 0, fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        rc = -errno;
    if (!rc)
        rc = fill_new(fd);
    if (!rc && rename(tmp, path))
        rc = -errno;
    if (fd >= 0)
        close(fd);
    if (rc)
        unlink(tmp);
    free(tmp);
    return rc ? rc : file_sync_parent(path);
}

static int check_header(struct cmd_log *l)
{
    uint8_t h[FILE_HDR];
    if (l->alloc < FILE_HDR) {
        log_error("cmd_log: %s is not a command log", l->path);
        return -EPROTO;
    }
    int rc = file_pread_all(l->fd, h, FILE_HDR, 0);
    if (rc)
        return rc;
    if (memcmp(h, file_magic, sizeof(file_magic)) != 0) {
        log_error("cmd_log: %s is not a command log", l->path);
        return -EPROTO;
    }
    if (get_u32(h + 8) != CMD_LOG_VERSION) {
        log_error("cmd_log: %s has format version %u; this build reads %u", l->path, get_u32(h + 8),
                  CMD_LOG_VERSION);
        return -EPROTO;
    }
    memcpy(l->salt, h + 16, SALT_LEN);
    return 0;
}

/* ---- reading frames ---- */

/* The commands' lengths tile the payload exactly. Checked after the CRC:
 * a frame that fails it was written wrong, not torn. */
static bool payload_ok(const uint8_t *p, uint32_t len, uint32_t count)
{
    uint32_t off = 0;
    for (uint32_t i = 0; i < count; i++) {
        if (len - off < 4)
            return false;
        uint32_t n = get_u32(p + off);
        if (n == 0 || n > len - off - 4)
            return false;
        off += 4 + n;
    }
    return off == len;
}

/* Reads the frame at off into l->buf. Returns 1 when it is whole and
 * follows prev (NULL: it is the first), 0 when the log ends there, or an
 * error. Frames lie in [off, limit). */
static int frame_read(struct cmd_log *l, uint64_t off, uint64_t limit, const struct frame *prev,
                      struct frame *f)
{
    uint8_t h[FRAME_HDR];
    if (limit < off || limit - off < FRAME_HDR)
        return 0;
    int rc = file_pread_all(l->fd, h, FRAME_HDR, off);
    if (rc)
        return rc;
    f->len = get_u32(h + 4);
    f->first = get_u64(h + 12);
    f->count = get_u32(h + 20);
    if (get_u32(h) != FRAME_MAGIC || f->len > CMD_LOG_FRAME_MAX - FRAME_HDR ||
        f->len > limit - off - FRAME_HDR)
        return 0;
    if (prev && f->first != prev->last + 1) /* stale: from before a reset */
        return 0;
    size_t total = FRAME_HDR + (size_t)f->len;
    rc = buf_room(l, total);
    if (!rc)
        rc = file_pread_all(l->fd, l->buf + FRAME_HDR, f->len, off + FRAME_HDR);
    if (rc)
        return rc;
    memcpy(l->buf, h, FRAME_HDR);
    if (frame_crc(l, l->buf, total) != get_u32(h + 8))
        return 0; /* torn */
    if (f->first == 0 || f->count == 0 || f->first - 1 > UINT64_MAX - f->count ||
        !payload_ok(l->buf + FRAME_HDR, f->len, f->count)) {
        log_error("cmd_log: %s: malformed frame at offset %llu", l->path, (unsigned long long)off);
        return -EIO;
    }
    f->last = f->first + f->count - 1;
    return 1;
}

typedef int (*frame_fn)(struct cmd_log *l, const struct frame *f, void *arg);

/* Walks the log's frames in [FILE_HDR, limit), calling each (if set) for
 * every one; *end and *last say where the log ends. */
static int scan(struct cmd_log *l, uint64_t limit, frame_fn each, void *arg, uint64_t *end,
                uint64_t *last)
{
    struct frame f, prev;
    uint64_t off = FILE_HDR;
    bool any = false;
    int rc;
    while ((rc = frame_read(l, off, limit, any ? &prev : NULL, &f)) == 1) {
        if (each && (rc = each(l, &f, arg)) != 0)
            return rc;
        off += FRAME_HDR + (uint64_t)f.len;
        prev = f;
        any = true;
    }
    if (rc < 0)
        return rc;
    *end = off;
    *last = any ? prev.last : 0;
    return 0;
}

int cmd_log_open(const char *path, struct cmd_log **out)
{
    struct cmd_log *l = calloc(1, sizeof(*l));
    if (!l)
        return -ENOMEM;
    l->fd = -1;
    l->path = strdup(path);
    int rc = l->path ? 0 : -ENOMEM;
    if (!rc && access(path, F_OK) && errno == ENOENT)
        rc = create_file(path);
    if (!rc && (l->fd = open(path, O_RDWR | O_CLOEXEC)) < 0)
        rc = -errno;
    struct stat sb;
    if (!rc && fstat(l->fd, &sb))
        rc = -errno;
    if (!rc) {
        l->alloc = (uint64_t)sb.st_size;
        rc = check_header(l);
    }
    if (!rc)
        rc = scan(l, l->alloc, NULL, NULL, &l->end, &l->last);
    if (rc) {
        log_error("cmd_log: cannot open the command log %s: %s", path, strerror(-rc));
        cmd_log_close(l);
        return rc;
    }
    *out = l;
    return 0;
}

void cmd_log_close(struct cmd_log *l)
{
    if (!l)
        return;
    if (l->fd >= 0)
        close(l->fd);
    free(l->cmds);
    free(l->buf);
    free(l->path);
    free(l);
}

/* ---- appending ---- */

/* Makes room for n more bytes past end: zero-filled and synced, so that an
 * append only overwrites (and a full disk fails here, before a frame byte
 * is written). */
static int ensure_room(struct cmd_log *l, size_t n)
{
    if (l->end + n <= l->alloc)
        return 0;
    uint64_t want = l->end + n > l->alloc + GROW_BYTES ? l->end + n : l->alloc + GROW_BYTES;
    uint64_t size = (want + GROW_BYTES - 1) / GROW_BYTES * GROW_BYTES;
    int rc = file_zero_fill(l->fd, l->alloc, size);
    if (!rc)
        rc = sync_fd(l->fd);
    if (rc) {
        /* Give the space back; if that fails, the next step rewrites it. */
        if (ftruncate(l->fd, (off_t)l->alloc))
            log_debug("cmd_log: %s: %s", l->path, strerror(errno));
        return rc;
    }
    l->alloc = size;
    return 0;
}

/* Encodes the frame into l->buf[0, *total). */
static int encode_frame(struct cmd_log *l, uint64_t first, const struct cmd *const *cmds, int n,
                        size_t *total)
{
    size_t bound = FRAME_HDR;
    for (int i = 0; i < n; i++)
        bound += 4 + cmd_encoded_size(cmds[i]);
    int rc = buf_room(l, bound);
    if (rc)
        return rc;
    size_t pos = FRAME_HDR;
    for (int i = 0; i < n; i++) {
        int len = cmd_encode(cmds[i], l->buf + pos + 4, bound - pos - 4);
        if (len < 0)
            return len;
        put_u32(l->buf + pos, (uint32_t)len);
        pos += 4 + (size_t)len;
    }
    if (pos > CMD_LOG_FRAME_MAX)
        return -EFBIG;
    put_u32(l->buf, FRAME_MAGIC);
    put_u32(l->buf + 4, (uint32_t)(pos - FRAME_HDR));
    put_u64(l->buf + 12, first);
    put_u32(l->buf + 20, (uint32_t)n);
    put_u32(l->buf + 8, frame_crc(l, l->buf, pos));
    *total = pos;
    return 0;
}

/* Zeroes the header of the frame at off and syncs: after a failed write or
 * sync the page cache (or the disk) may hold it whole. */
static int clear_frame(struct cmd_log *l, uint64_t off)
{
    static const uint8_t zeros[FRAME_HDR];
    int rc = file_pwrite_all(l->fd, zeros, FRAME_HDR, off);
    if (!rc)
        rc = sync_fd(l->fd);
    if (rc) {
        log_error("cmd_log: %s: cannot clear a frame: %s; no more appends until a restart", l->path,
                  strerror(-rc));
        l->failed = true;
    }
    return rc;
}

static int check_append(const struct cmd_log *l, uint64_t first, int n)
{
    if (l->failed)
        return -EIO;
    if (n < 1 || first == 0 || first - 1 > UINT64_MAX - (uint64_t)n)
        return -EINVAL;
    if (l->end > FILE_HDR && first != l->last + 1)
        return -EINVAL; /* it would end the log: never replayed */
    return 0;
}

int cmd_log_append(struct cmd_log *l, uint64_t first, const struct cmd *const *cmds, int n)
{
    if (!l->failed)
        l->can_void = false; /* a void after a failed append must not hit the one before */
    int rc = check_append(l, first, n);
    if (rc)
        return rc;
    size_t total;
    rc = encode_frame(l, first, cmds, n, &total);
    if (!rc)
        rc = ensure_room(l, total);
    if (rc)
        return rc;
    rc = file_pwrite_all(l->fd, l->buf, total, l->end);
    if (!rc)
        rc = sync_fd(l->fd);
    if (rc) {
        clear_frame(l, l->end);
        return rc;
    }
    l->can_void = true;
    l->void_off = l->end;
    l->void_last = l->last;
    l->end += (uint64_t)total;
    l->last = first + (uint64_t)n - 1;
    return 0;
}

int cmd_log_void_last(struct cmd_log *l)
{
    if (l->failed)
        return -EIO;
    if (!l->can_void)
        return -EINVAL;
    int rc = clear_frame(l, l->void_off);
    if (rc)
        return rc;
    l->end = l->void_off;
    l->last = l->void_last;
    l->can_void = false;
    return 0;
}

uint64_t cmd_log_first(struct cmd_log *l)
{
    struct frame f;
    return l->failed || frame_read(l, FILE_HDR, l->alloc, NULL, &f) != 1 ? 0 : f.first;
}

void cmd_log_reset(struct cmd_log *l)
{
    l->end = FILE_HDR;
    l->can_void = false;
}

uint64_t cmd_log_bytes(const struct cmd_log *l)
{
    return l->end - FILE_HDR;
}

/* ---- replay ---- */

struct replay {
    uint64_t after;
    cmd_log_replay_fn fn;
    void *ctx;
    bool seen; /* the first frame was checked for a gap */
};

static int cmds_room(struct cmd_log *l, uint32_t n)
{
    if (n <= l->ncmds)
        return 0;
    struct cmd *c = realloc(l->cmds, (size_t)n * sizeof(*c));
    if (!c)
        return -ENOMEM;
    l->cmds = c;
    l->ncmds = n;
    return 0;
}

static void release_cmds(struct cmd *c, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        cmd_release(&c[i]);
}

/* Decodes the frame in l->buf (its lengths were checked) into l->cmds. */
static int decode_frame(struct cmd_log *l, const struct frame *f)
{
    int rc = cmds_room(l, f->count);
    if (rc)
        return rc;
    const uint8_t *p = l->buf + FRAME_HDR;
    for (uint32_t i = 0; i < f->count; i++) {
        uint32_t len = get_u32(p);
        rc = cmd_decode(p + 4, len, &l->cmds[i]);
        if (rc) {
            log_error("cmd_log: %s: command %llu does not decode: %s", l->path,
                      (unsigned long long)(f->first + i), strerror(-rc));
            release_cmds(l->cmds, i);
            return rc;
        }
        p += 4 + len;
    }
    return 0;
}

static int replay_frame(struct cmd_log *l, const struct frame *f, void *arg)
{
    struct replay *r = arg;
    if (!r->seen && f->first - 1 > r->after) {
        log_error("cmd_log: %s: the log starts at command %llu; commands after %llu are missing",
                  l->path, (unsigned long long)f->first, (unsigned long long)r->after);
        return -EIO;
    }
    r->seen = true;
    if (f->last <= r->after)
        return 0;
    int rc = decode_frame(l, f);
    if (rc)
        return rc;
    rc = r->fn(r->ctx, f->first, l->cmds, (int)f->count);
    release_cmds(l->cmds, f->count);
    return rc;
}

int cmd_log_replay(struct cmd_log *l, uint64_t after, cmd_log_replay_fn fn, void *ctx)
{
    if (l->failed)
        return -EIO;
    struct replay r = {after, fn, ctx, false};
    uint64_t end, last;
    return scan(l, l->end, replay_frame, &r, &end, &last);
}
