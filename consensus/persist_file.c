/* persist_file.c - acceptor state in an append-only log file (persist_file.h). */
#include "consensus/persist_file.h"

#include "common/bytes.h"
#include "common/crc32c.h"
#include "common/file_io.h"
#include "common/log.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FILE_HDR      32          /* magic 8, version u32, 16 zero, crc32c of bytes 0..27 */
#define FRAME_HDR     12          /* magic u32, payload length u32, crc32c of (length, payload) */
#define FRAME_MAGIC   0x46585051u /* "QPXF" */
#define BATCH_HDR     29          /* type u8, promised u64, commit u64, log_start u64, nrec u32 */
#define REC_HDR       34 /* slot u64, ballot u64, flags u8, kind u8, origin u32, req u64, len u32 */
#define BATCH_TYPE    1
#define COMPACT_RATIO 2
#define SPLIT_BYTES   (16u << 20) /* a compaction's frames: no larger than this */

static const uint8_t magic[8] = {'Q', 'F', 'S', 'P', 'A', 'X', 'O', 'S'};

/* One frame being encoded: FRAME_HDR + BATCH_HDR, then records. */
struct enc {
    uint8_t *buf;
    size_t cap, len;
    uint32_t nrec;
    struct cons_persist_state st;
};

struct persist_file {
    struct persist_file_options o;
    char *path, *tmp, *dir;
    int fd;
    uint64_t end;       /* offset after the last whole frame: the next goes here */
    uint64_t alloc;     /* file size: zero-filled past end */
    uint64_t log_start; /* as last saved */
    uint64_t live;      /* bytes of the live state at the last load or compaction */
    struct enc enc;
    uint64_t next_compact; /* frame bytes before a failed compaction is tried again */
    bool dir_unsynced;     /* a rename's directory sync failed: saves wait for it */
    bool broken;           /* a failed frame could not be cleared: reopen to go on */
};

/* What a read of the whole file found. Records point into buf. */
struct loaded {
    uint8_t *buf;
    size_t size, end;
    struct cons_persist_state st;
    struct rec_ref {
        uint64_t slot, seq;
        const uint8_t *p;
    } * refs;
    size_t n, cap;
};

/* ---- encoding ---- */

static int enc_room(struct enc *e, size_t more)
{
    if (e->len + more <= e->cap)
        return 0;
    size_t cap = e->cap ? e->cap : 4096;
    while (cap < e->len + more)
        cap *= 2;
    uint8_t *b = realloc(e->buf, cap);
    if (!b)
        return -ENOMEM;
    e->buf = b;
    e->cap = cap;
    return 0;
}

static int enc_begin(struct enc *e, const struct cons_persist_state *st)
{
    e->len = 0;
    e->nrec = 0;
    e->st = *st;
    int rc = enc_room(e, FRAME_HDR + BATCH_HDR);
    e->len = rc ? 0 : FRAME_HDR + BATCH_HDR;
    return rc;
}

static int enc_rec(struct enc *e, const struct cons_rec *r)
{
    int rc = enc_room(e, REC_HDR + (size_t)r->e.len);
    if (rc)
        return rc;
    uint8_t *v = e->buf + e->len;
    put_u64(v, r->slot);
    put_u64(v + 8, r->ballot);
    v[16] = r->flags;
    v[17] = r->e.kind;
    put_u32(v + 18, r->e.origin);
    put_u64(v + 22, r->e.req_id);
    put_u32(v + 30, r->e.len);
    if (r->e.len)
        memcpy(v + REC_HDR, r->e.data, r->e.len);
    e->len += REC_HDR + (size_t)r->e.len;
    e->nrec++;
    return 0;
}

/* Fills the headers in: the frame is buf[0, len). */
static int enc_end(struct enc *e)
{
    if (e->len - FRAME_HDR > UINT32_MAX)
        return -EFBIG;
    uint8_t *b = e->buf + FRAME_HDR;
    b[0] = BATCH_TYPE;
    put_u64(b + 1, e->st.promised);
    put_u64(b + 9, e->st.commit);
    put_u64(b + 17, e->st.log_start);
    put_u32(b + 25, e->nrec);
    put_u32(e->buf, FRAME_MAGIC);
    put_u32(e->buf + 4, (uint32_t)(e->len - FRAME_HDR));
    uint32_t crc = crc32c_update(0, e->buf + 4, 4);
    put_u32(e->buf + 8, crc32c_update(crc, b, e->len - FRAME_HDR));
    return 0;
}

/* ---- file I/O ---- */

static int sync_fd(int fd)
{
    return fdatasync(fd) ? -errno : 0;
}

static uint64_t round_up(uint64_t n, uint64_t step)
{
    return (n + step - 1) / step * step;
}

static void make_header(uint8_t h[FILE_HDR])
{
    memset(h, 0, FILE_HDR);
    memcpy(h, magic, sizeof(magic));
    put_u32(h + 8, PAXOS_FILE_VERSION);
    put_u32(h + 28, crc32c_update(0, h, 28));
}

static int check_header(const struct persist_file *p, const uint8_t *h, size_t size)
{
    if (size < FILE_HDR || memcmp(h, magic, sizeof(magic)) != 0) {
        log_error("consensus: %s is not a quorumfs Paxos log", p->path);
        return -EPROTO;
    }
    if (get_u32(h + 28) != crc32c_update(0, h, 28)) {
        log_error("consensus: %s: damaged header", p->path);
        return -EIO;
    }
    if (get_u32(h + 8) != PAXOS_FILE_VERSION) {
        log_error("consensus: %s has format version %u; this build reads %u", p->path,
                  get_u32(h + 8), PAXOS_FILE_VERSION);
        return -EPROTO;
    }
    return 0;
}

static int sync_renamed(struct persist_file *p)
{
    int rc = file_sync_dir(p->dir);
    p->dir_unsynced = rc != 0;
    return rc;
}

/* Writes header and frames[0, n) to a new file, grown and synced, and
 * renames it over path: all or nothing. Once renamed it is the file,
 * whatever the directory's sync says (until that succeeds, saves fail:
 * a crash could bring the old file back). */
static int replace_file(struct persist_file *p, const uint8_t *frames, size_t n)
{
    int fd = open(p->tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    uint8_t h[FILE_HDR];
    make_header(h);
    uint64_t size = round_up(FILE_HDR + n, p->o.grow_bytes);
    int rc = file_pwrite_all(fd, h, FILE_HDR, 0);
    if (!rc)
        rc = file_pwrite_all(fd, frames, n, FILE_HDR);
    if (!rc)
        rc = file_zero_fill(fd, FILE_HDR + n, size);
    if (!rc)
        rc = fsync(fd) ? -errno : 0;
    if (!rc && rename(p->tmp, p->path))
        rc = -errno;
    if (rc) {
        close(fd);
        unlink(p->tmp);
        return rc;
    }
    if (p->fd >= 0)
        close(p->fd);
    p->fd = fd;
    p->end = FILE_HDR + n;
    p->alloc = size;
    return sync_renamed(p);
}

/* ---- reading ---- */

/* Reads the file, or its first `limit` bytes when limit is set. */
static int read_file(struct persist_file *p, uint64_t limit, struct loaded *L)
{
    struct stat sb;
    if (fstat(p->fd, &sb))
        return -errno;
    uint64_t size = (uint64_t)sb.st_size;
    L->size = (size_t)(limit && limit < size ? limit : size);
    L->buf = malloc(L->size ? L->size : 1);
    if (!L->buf)
        return -ENOMEM;
    for (size_t got = 0; got < L->size;) {
        ssize_t r = pread(p->fd, L->buf + got, L->size - got, (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return r < 0 ? -errno : -EIO;
        got += (size_t)r;
    }
    return check_header(p, L->buf, L->size);
}

/* The payload length of a whole frame at off, or 0 when none is there. */
static size_t frame_at(const uint8_t *buf, size_t size, size_t off)
{
    if (off > size || size - off < FRAME_HDR || get_u32(buf + off) != FRAME_MAGIC)
        return 0;
    uint32_t len = get_u32(buf + off + 4);
    if (len < BATCH_HDR || len > size - off - FRAME_HDR)
        return 0;
    uint32_t crc = crc32c_update(crc32c_update(0, buf + off + 4, 4), buf + off + FRAME_HDR, len);
    return crc == get_u32(buf + off + 8) ? len : 0;
}

static int add_ref(struct loaded *L, uint64_t slot, const uint8_t *rec)
{
    if (L->n == L->cap) {
        size_t cap = L->cap ? L->cap * 2 : 1024;
        struct rec_ref *r = realloc(L->refs, cap * sizeof(*r));
        if (!r)
            return -ENOMEM;
        L->refs = r;
        L->cap = cap;
    }
    L->refs[L->n] = (struct rec_ref){slot, L->n, rec};
    L->n++;
    return 0;
}

/* A whole frame's payload: its state becomes current, its records are listed. */
static int take_frame(struct loaded *L, const uint8_t *b, size_t len)
{
    if (b[0] != BATCH_TYPE)
        return -EIO;
    L->st = (struct cons_persist_state){get_u64(b + 1), get_u64(b + 9), get_u64(b + 17)};
    uint32_t nrec = get_u32(b + 25);
    size_t off = BATCH_HDR;
    for (uint32_t i = 0; i < nrec; i++) {
        if (len - off < REC_HDR || get_u32(b + off + 30) > len - off - REC_HDR)
            return -EIO;
        int rc = add_ref(L, get_u64(b + off), b + off);
        if (rc)
            return rc;
        off += REC_HDR + get_u32(b + off + 30);
    }
    return off == len ? 0 : -EIO;
}

/* Takes every whole frame; finds where the next one goes. */
static int scan_frames(struct persist_file *p, struct loaded *L)
{
    size_t off = FILE_HDR, len;
    while ((len = frame_at(L->buf, L->size, off))) {
        int rc = take_frame(L, L->buf + off + FRAME_HDR, len);
        if (rc) {
            log_error("consensus: %s: malformed frame at offset %zu", p->path, off);
            return rc;
        }
        off += FRAME_HDR + len;
    }
    L->end = off;
    /* Frames are written one after the other, each once the one before is
     * durable: only the last can be torn. A whole frame anywhere after the
     * end means the one there was damaged, not torn. */
    for (size_t at = off + 1; at + FRAME_HDR <= L->size; at++) {
        if (frame_at(L->buf, L->size, at)) {
            log_error("consensus: %s: damaged frame at offset %zu with a whole frame at %zu",
                      p->path, off, at);
            return -EIO;
        }
    }
    return 0;
}

static int by_slot(const void *a, const void *b)
{
    const struct rec_ref *x = a, *y = b;
    if (x->slot != y->slot)
        return x->slot < y->slot ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void loaded_free(struct loaded *L)
{
    free(L->buf);
    free(L->refs);
}

/* limit: 0 reads the whole file (at open); in the process that wrote it,
 * p->end, for a failed save may have left a whole frame in the page cache
 * past the last durable one. */
static int load_file(struct persist_file *p, uint64_t limit, struct loaded *L)
{
    memset(L, 0, sizeof(*L));
    int rc = read_file(p, limit, L);
    if (!rc)
        rc = scan_frames(p, L);
    if (rc) {
        loaded_free(L);
        return rc;
    }
    if (L->st.log_start == 0)
        L->st.log_start = 1;
    if (L->n) /* refs is NULL when no record was read */
        qsort(L->refs, L->n, sizeof(*L->refs), by_slot);
    return 0;
}

static void decode_rec(const uint8_t *v, struct cons_rec *r)
{
    r->slot = get_u64(v);
    r->ballot = get_u64(v + 8);
    r->flags = v[16];
    r->e.kind = v[17];
    r->e.origin = get_u32(v + 18);
    r->e.req_id = get_u64(v + 22);
    r->e.len = get_u32(v + 30);
    r->e.data = v + REC_HDR;
}

/* refs[i] (sorted) is the latest record of a slot >= log_start. */
static bool is_live(const struct loaded *L, size_t i)
{
    return L->refs[i].slot >= L->st.log_start &&
           (i + 1 == L->n || L->refs[i + 1].slot != L->refs[i].slot);
}

/* Calls each() for the latest record of every slot >= log_start, in order. */
static int each_live(const struct loaded *L, int (*each)(void *arg, const struct cons_rec *r),
                     void *arg)
{
    for (size_t i = 0; i < L->n; i++) {
        if (!is_live(L, i))
            continue;
        struct cons_rec r;
        decode_rec(L->refs[i].p, &r);
        int rc = each(arg, &r);
        if (rc)
            return rc;
    }
    return 0;
}

/* The bytes a compaction would write: the live records and one frame's
 * headers (what is live decides when to compact, not what the file holds). */
static uint64_t live_bytes(const struct loaded *L)
{
    uint64_t n = FRAME_HDR + BATCH_HDR;
    for (size_t i = 0; i < L->n; i++)
        if (is_live(L, i))
            n += REC_HDR + get_u32(L->refs[i].p + 30);
    return n;
}

/* ---- the live state as new frames (compaction, import) ---- */

/* Encodes records into frames of at most SPLIT_BYTES, each with the state. */
struct splitter {
    struct enc *e;
    uint8_t *out;
    size_t len, cap;
};

static int split_flush(struct splitter *s)
{
    int rc = enc_end(s->e);
    if (rc)
        return rc;
    if (s->len + s->e->len > s->cap) {
        size_t cap = s->cap ? s->cap : 65536;
        while (cap < s->len + s->e->len)
            cap *= 2;
        uint8_t *o = realloc(s->out, cap);
        if (!o)
            return -ENOMEM;
        s->out = o;
        s->cap = cap;
    }
    memcpy(s->out + s->len, s->e->buf, s->e->len);
    s->len += s->e->len;
    return enc_begin(s->e, &s->e->st);
}

static int split_rec(void *arg, const struct cons_rec *r)
{
    struct splitter *s = arg;
    if (s->e->nrec && s->e->len + REC_HDR + r->e.len > SPLIT_BYTES) {
        int rc = split_flush(s);
        if (rc)
            return rc;
    }
    return enc_rec(s->e, r);
}

static int compact(struct persist_file *p)
{
    struct loaded L;
    int rc = load_file(p, p->end, &L);
    if (rc)
        return rc;
    struct splitter s = {&p->enc, NULL, 0, 0};
    rc = enc_begin(&p->enc, &L.st);
    if (!rc)
        rc = each_live(&L, split_rec, &s);
    if (!rc)
        rc = split_flush(&s);
    if (!rc)
        rc = replace_file(p, s.out, s.len);
    if (p->end == FILE_HDR + s.len) /* renamed, even if its directory sync failed */
        p->live = s.len;
    free(s.out);
    loaded_free(&L);
    return rc;
}

/* Import's load: records arrive after the state (persist.h). */
static int import_into(struct persist_file *p, struct splitter *s)
{
    struct cons_persist_state st = {0};
    int rc = enc_begin(&p->enc, &st);
    if (!rc)
        rc = p->o.import->load(p->o.import_ctx, &p->enc.st, split_rec, s);
    if (!rc)
        rc = split_flush(s);
    return rc;
}

static int create_file(struct persist_file *p)
{
    struct splitter s = {&p->enc, NULL, 0, 0};
    int rc = p->o.import ? import_into(p, &s) : 0;
    if (!rc)
        rc = replace_file(p, s.out, s.len);
    if (!rc && p->o.import && p->enc.st.promised)
        log_info("consensus: Paxos state moved to %s (%zu bytes)", p->path, s.len);
    free(s.out);
    return rc;
}

/* ---- open, save, load ---- */

static int set_paths(struct persist_file *p, const char *path)
{
    size_t n = strlen(path);
    p->path = strdup(path);
    p->tmp = malloc(n + 5);
    p->dir = strdup(path);
    if (!p->path || !p->tmp || !p->dir)
        return -ENOMEM;
    snprintf(p->tmp, n + 5, "%s.tmp", path);
    char *slash = strrchr(p->dir, '/');
    if (!slash)
        strcpy(p->dir, ".");
    else if (slash == p->dir)
        p->dir[1] = '\0'; /* "/name": the root */
    else
        *slash = '\0';
    return 0;
}

/* Zeroes what lies past the end (a torn frame's bytes), so that the
 * damage check of the next open finds only what later saves wrote. */
static int clear_tail(struct persist_file *p, const struct loaded *L)
{
    size_t last = L->size;
    while (last > L->end && L->buf[last - 1] == 0)
        last--;
    if (last == L->end)
        return 0;
    int rc = file_zero_fill(p->fd, L->end, last);
    return rc ? rc : sync_fd(p->fd);
}

static int open_existing(struct persist_file *p)
{
    struct loaded L;
    int rc = load_file(p, 0, &L);
    if (rc)
        return rc;
    p->end = L.end;
    p->alloc = L.size;
    p->log_start = L.st.log_start;
    p->live = live_bytes(&L);
    rc = clear_tail(p, &L);
    loaded_free(&L);
    return rc;
}

int persist_file_open(const char *path, const struct persist_file_options *o,
                      struct persist_file **out)
{
    struct persist_file *p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    p->fd = -1;
    if (o)
        p->o = *o;
    if (!p->o.grow_bytes)
        p->o.grow_bytes = 4u << 20;
    if (!p->o.compact_bytes)
        p->o.compact_bytes = 64u << 20;
    int rc = set_paths(p, path);
    if (!rc) {
        p->fd = open(path, O_RDWR | O_CLOEXEC);
        if (p->fd < 0)
            rc = errno == ENOENT ? create_file(p) : -errno;
    }
    if (!rc)
        rc = open_existing(p);
    if (rc) {
        log_error("consensus: cannot open the Paxos log %s: %s", path, strerror(-rc));
        persist_file_close(p);
        return rc;
    }
    *out = p;
    return 0;
}

void persist_file_close(struct persist_file *p)
{
    if (!p)
        return;
    if (p->fd >= 0)
        close(p->fd);
    free(p->enc.buf);
    free(p->path);
    free(p->tmp);
    free(p->dir);
    free(p);
}

uint64_t persist_file_bytes(const struct persist_file *p)
{
    return p->end - FILE_HDR;
}

/* Makes room for n more bytes past end: zero-filled and synced, so a save
 * only overwrites (and a full disk fails here, before a frame is torn). */
static int ensure_room(struct persist_file *p, size_t n)
{
    if (p->end + n <= p->alloc)
        return 0;
    uint64_t size = round_up(p->end + n, p->o.grow_bytes);
    int rc = file_zero_fill(p->fd, p->alloc, size);
    if (!rc)
        rc = sync_fd(p->fd);
    if (rc && ftruncate(p->fd, (off_t)p->alloc)) /* give the space back; else the */
        log_debug("consensus: %s: %s", p->path, strerror(errno)); /* next step rewrites it */
    if (rc)
        return rc;
    p->alloc = size;
    return 0;
}

static int encode_batch(struct persist_file *p, const struct cons_persist_batch *b)
{
    int rc = enc_begin(&p->enc, &b->st);
    for (size_t i = 0; !rc && i < b->n; i++)
        if (b->recs[i].slot >= b->st.log_start)
            rc = enc_rec(&p->enc, &b->recs[i]);
    return rc ? rc : enc_end(&p->enc);
}

/* After a failed write or sync the page cache may hold a whole frame the
 * disk lacks: zero its header so that no later load (or sync) takes it. */
static void unwrite(struct persist_file *p)
{
    static const uint8_t zeros[FRAME_HDR];
    if (file_pwrite_all(p->fd, zeros, FRAME_HDR, p->end) == 0)
        return;
    log_error("consensus: %s: cannot clear a failed frame; no more saves until a restart", p->path);
    p->broken = true;
}

static int write_frame(struct persist_file *p)
{
    int rc = ensure_room(p, p->enc.len);
    if (rc)
        return rc;
    rc = file_pwrite_all(p->fd, p->enc.buf, p->enc.len, p->end);
    if (!rc)
        rc = sync_fd(p->fd);
    if (rc)
        unwrite(p);
    return rc;
}

static int file_save(void *ctx, const struct cons_persist_batch *b)
{
    struct persist_file *p = ctx;
    int rc = p->broken ? -EIO : p->dir_unsynced ? sync_renamed(p) : 0;
    if (!rc && b->st.log_start > p->log_start && p->o.before_truncate)
        rc = p->o.before_truncate(p->o.before_truncate_ctx);
    if (!rc)
        rc = encode_batch(p, b);
    if (!rc)
        rc = write_frame(p);
    if (rc) {
        log_error("consensus: persist failed: %s", strerror(-rc));
        return rc;
    }
    p->end += p->enc.len;
    p->log_start = b->st.log_start;
    uint64_t frames = p->end - FILE_HDR;
    if (frames > p->o.compact_bytes && frames > COMPACT_RATIO * p->live &&
        frames >= p->next_compact) {
        rc = compact(p); /* the log as it is stays correct: a failure is only logged */
        if (rc) {
            log_warn("consensus: compacting %s failed: %s", p->path, strerror(-rc));
            p->next_compact = frames + p->o.compact_bytes; /* not at every save */
        }
    }
    return 0;
}

static int file_load(void *ctx, struct cons_persist_state *st,
                     int (*each)(void *arg, const struct cons_rec *r), void *arg)
{
    struct persist_file *p = ctx;
    if (p->broken)
        return -EIO;
    struct loaded L;
    int rc = load_file(p, p->end, &L);
    if (rc)
        return rc;
    *st = L.st;
    p->log_start = L.st.log_start;
    rc = each_live(&L, each, arg);
    loaded_free(&L);
    return rc;
}

const struct cons_persist_ops persist_file_ops = {file_save, file_load};
