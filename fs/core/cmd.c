#include "fs/core/cmd.h"

#include "common/bytes.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A bounded cursor over a buffer: any overrun sets err and stops writing. */
struct cur {
    uint8_t *w;
    const uint8_t *r;
    size_t pos, cap;
    int err;
};

static int room(struct cur *c, size_t n)
{
    if (c->err || n > c->cap - c->pos) {
        if (!c->err)
            c->err = c->w ? -ENOBUFS : -EPROTO;
        return 0;
    }
    return 1;
}

static void w8(struct cur *c, uint8_t v)
{
    if (room(c, 1))
        c->w[c->pos++] = v;
}
static void w32(struct cur *c, uint32_t v)
{
    if (room(c, 4))
        put_u32(c->w + c->pos, v), c->pos += 4;
}
static void w64(struct cur *c, uint64_t v)
{
    if (room(c, 8))
        put_u64(c->w + c->pos, v), c->pos += 8;
}
static void wbytes(struct cur *c, const void *p, size_t n)
{
    if (n && room(c, n))
        memcpy(c->w + c->pos, p, n), c->pos += n;
}
static uint8_t r8(struct cur *c)
{
    return room(c, 1) ? c->r[c->pos++] : 0;
}
static uint32_t r32(struct cur *c)
{
    uint32_t v = 0;
    if (room(c, 4))
        v = get_u32(c->r + c->pos), c->pos += 4;
    return v;
}
static uint64_t r64(struct cur *c)
{
    uint64_t v = 0;
    if (room(c, 8))
        v = get_u64(c->r + c->pos), c->pos += 8;
    return v;
}
static const uint8_t *rbytes(struct cur *c, size_t n)
{
    const uint8_t *p = NULL;
    if (room(c, n))
        p = c->r + c->pos, c->pos += n;
    return p;
}

static void wtime(struct cur *c, const struct meta_time *t)
{
    w64(c, (uint64_t)t->sec);
    w32(c, t->nsec);
}
static void rtime(struct cur *c, struct meta_time *t)
{
    t->sec = (int64_t)r64(c);
    t->nsec = r32(c);
    if (t->nsec >= 1000000000u && !c->err)
        c->err = -EINVAL;
}

/* Unsigned LEB128: 7 bits a byte, low group first, bit 7 = more follow. */
static size_t varint_len(uint64_t v)
{
    size_t n = 1;
    for (; v >= 0x80; v >>= 7)
        n++;
    return n;
}
static void wvarint(struct cur *c, uint64_t v)
{
    for (; v >= 0x80; v >>= 7)
        w8(c, (uint8_t)(v | 0x80));
    w8(c, (uint8_t)v);
}
/* A value of at most `bits` bits in its shortest form: longer forms (a last
 * byte of 0 after the first) and wider values are -EPROTO, so a varint
 * never takes more than 10 bytes (u64) or 5 (u32). */
static uint64_t rvarint(struct cur *c, unsigned bits)
{
    uint64_t v = 0;
    for (unsigned shift = 0;; shift += 7) {
        uint8_t b = r8(c);
        uint64_t part = b & 0x7f;
        if (c->err)
            return 0;
        if ((shift && b == 0) || shift >= bits || (bits - shift < 7 && part >> (bits - shift))) {
            c->err = -EPROTO;
            return 0;
        }
        v |= part << shift;
        if (!(b & 0x80))
            return v;
    }
}

/* Length-prefixed bytes; max bounds the length on both sides. */
static void wstr(struct cur *c, const void *p, uint32_t n)
{
    w32(c, n);
    wbytes(c, p, n);
}
static const uint8_t *rstr(struct cur *c, uint32_t *n, uint32_t min, uint32_t max)
{
    *n = r32(c);
    if (!c->err && (*n < min || *n > max))
        c->err = -EINVAL;
    return c->err ? NULL : rbytes(c, *n);
}

/* Fields per op: which of the optional fields an op carries. */
enum {
    F_INO = 1 << 0,
    F_NAME = 1 << 1,
    F_INO2 = 1 << 2,
    F_NAME2 = 1 << 3,
    F_MODE = 1 << 4,
    F_RDEV = 1 << 5,
    F_DATA = 1 << 6,
    F_FLAGS = 1 << 7,
    F_SETATTR = 1 << 8,
    F_CONTENT = 1 << 9,
    F_ATIME = 1 << 10,
};

static const uint16_t op_fields[CMD_OP_END] = {
    [CMD_INIT] = F_MODE,
    [CMD_MKNOD] = F_INO | F_NAME | F_MODE | F_RDEV,
    [CMD_MKDIR] = F_INO | F_NAME | F_MODE,
    [CMD_SYMLINK] = F_INO | F_NAME | F_DATA,
    [CMD_LINK] = F_INO | F_INO2 | F_NAME2,
    [CMD_UNLINK] = F_INO | F_NAME | F_FLAGS,
    [CMD_RMDIR] = F_INO | F_NAME | F_FLAGS,
    [CMD_RENAME] = F_INO | F_NAME | F_INO2 | F_NAME2 | F_FLAGS,
    [CMD_SETATTR] = F_INO | F_FLAGS | F_SETATTR,
    [CMD_SETXATTR] = F_INO | F_NAME | F_DATA | F_FLAGS,
    [CMD_REMOVEXATTR] = F_INO | F_NAME,
    [CMD_CONTENT] = F_INO | F_FLAGS | F_CONTENT,
    [CMD_ATIME] = F_INO | F_ATIME,
    [CMD_REAP] = F_INO,
};

static uint32_t data_max(uint8_t op)
{
    return op == CMD_SYMLINK ? CMD_TARGET_MAX : CMD_VALUE_MAX;
}

/*
 * Version 3 extents (docs/commands.md): a flag byte, the offset only when it
 * does not follow the previous extent, the chunk offset only when nonzero,
 * the length as a varint, then the hash. Contiguous whole-chunk extents
 * (the bulk of a rewrite) take 36 bytes instead of 48.
 */
enum {
    EXT_OFF_NEXT = 1 << 0,  /* offset = the expected offset: no bytes */
    EXT_OFF_GAP = 1 << 1,   /* offset = expected + varint; neither: u64 */
    EXT_COFF_ZERO = 1 << 2, /* chunk offset 0; else a varint */
    EXT_FLAGS = 7,
};
#define EXT_MIN_LEN (2 + SHA256_LEN) /* flags, a one-byte length, the hash */
/* Larger gaps are written as a u64: their varint would be no shorter. */
#define EXT_GAP_MAX ((1ull << 49) - 1)

/* Where the first extent is expected: the first range's start. */
static uint64_t first_expect(const struct cmd *c)
{
    uint64_t s = 0, e;
    if (c->n_ranges)
        cmd_range_get(c, 0, &s, &e);
    return s;
}

/* The next one: where this one ends (wrapping alike on both sides). */
static uint64_t next_expect(const struct meta_extent *e)
{
    return e->off + e->len;
}

static uint8_t ext_flags(const struct meta_extent *e, uint64_t expect)
{
    uint8_t f = e->coff ? 0 : EXT_COFF_ZERO;
    if (e->off == expect)
        f |= EXT_OFF_NEXT;
    else if (e->off > expect && e->off - expect <= EXT_GAP_MAX)
        f |= EXT_OFF_GAP;
    return f;
}

static size_t ext_size(const struct meta_extent *e, uint64_t expect)
{
    uint8_t f = ext_flags(e, expect);
    size_t n = 1 + varint_len(e->len) + SHA256_LEN;
    if (f & EXT_OFF_GAP)
        n += varint_len(e->off - expect);
    else if (!(f & EXT_OFF_NEXT))
        n += 8;
    if (!(f & EXT_COFF_ZERO))
        n += varint_len(e->coff);
    return n;
}

size_t cmd_extent_wire_len(const struct meta_extent *e, const struct meta_extent *prev)
{
    if (prev)
        return ext_size(e, next_expect(prev));
    return 1 + 8 + (e->coff ? varint_len(e->coff) : 0) + varint_len(e->len) + SHA256_LEN;
}

/* Exact, not n_ext * 48: no encoding of 48 bytes or less can hold every
 * extent (a weird one takes up to 51 bytes), while one that apply accepts
 * (coff + len <= 256 KiB) takes at most 47, so the bound is never above
 * what version 2 needed and commands sized for it still fit. */
static size_t extents_size(const struct cmd *c)
{
    if (c->op != CMD_CONTENT || c->n_ext > CMD_MAX_EXTENTS)
        return 0; /* no extents encoded, or cmd_encode refuses c */
    size_t n = 0;
    uint64_t expect = first_expect(c);
    for (uint32_t i = 0; i < c->n_ext; i++) {
        struct meta_extent e;
        cmd_extent_get(c, i, &e);
        n += ext_size(&e, expect);
        expect = next_expect(&e);
    }
    return n;
}

size_t cmd_encoded_size(const struct cmd *c)
{
    return 64 + 4 * CMD_MAX_GROUPS + 3 * (4 + CMD_NAME_MAX) + 4 + c->datalen + 96 + 24 +
           CMD_TAG_MAX + (size_t)c->n_ranges * CMD_RANGE_LEN + extents_size(c);
}

static void encode_extents(struct cur *w, const struct cmd *c)
{
    uint64_t expect = first_expect(c);
    w32(w, c->n_ext);
    for (uint32_t i = 0; i < c->n_ext && !w->err; i++) {
        struct meta_extent e;
        cmd_extent_get(c, i, &e);
        uint8_t f = ext_flags(&e, expect);
        w8(w, f);
        if (f & EXT_OFF_GAP)
            wvarint(w, e.off - expect);
        else if (!(f & EXT_OFF_NEXT))
            w64(w, e.off);
        if (!(f & EXT_COFF_ZERO))
            wvarint(w, e.coff);
        wvarint(w, e.len);
        wbytes(w, e.hash, SHA256_LEN);
        expect = next_expect(&e);
    }
}

static void encode_header(struct cur *w, const struct cmd *c)
{
    w8(w, CMD_VERSION);
    w8(w, c->op);
    w64(w, c->origin);
    w64(w, c->req_id);
    wtime(w, &c->time);
    w32(w, c->cred.uid);
    w32(w, c->cred.gid);
    w32(w, c->cred.ngroups);
    for (uint32_t i = 0; i < c->cred.ngroups && i < CMD_MAX_GROUPS; i++)
        w32(w, c->cred.groups[i]);
}

static void encode_body(struct cur *w, const struct cmd *c, uint16_t f)
{
    if (f & F_INO)
        w64(w, c->ino);
    if (f & F_NAME)
        wstr(w, c->name, c->namelen);
    if (f & F_INO2)
        w64(w, c->ino2);
    if (f & F_NAME2)
        wstr(w, c->name2, c->name2len);
    if (f & F_MODE)
        w32(w, c->mode);
    if (f & F_RDEV)
        w64(w, c->rdev);
    if (f & F_DATA)
        wstr(w, c->data, c->datalen);
    if (f & F_FLAGS)
        w32(w, c->flags);
    if (f & F_SETATTR) {
        w32(w, c->mode);
        w32(w, c->uid);
        w32(w, c->gid);
        w64(w, c->size);
        wtime(w, &c->atime);
        wtime(w, &c->mtime);
    }
    if (f & F_ATIME)
        wtime(w, &c->atime);
    if (f & F_CONTENT) {
        w64(w, c->min_size);
        w64(w, c->base_ver);
        w64(w, c->hint_parent);
        wstr(w, c->hint_name, c->hint_namelen);
        wstr(w, c->tag, (uint32_t)strnlen(c->tag, CMD_TAG_MAX));
        w32(w, c->n_ranges);
        wbytes(w, c->ranges, (size_t)c->n_ranges * CMD_RANGE_LEN);
        encode_extents(w, c);
    }
}

int cmd_encode(const struct cmd *c, uint8_t *buf, size_t cap)
{
    if (c->op == 0 || c->op >= CMD_OP_END || c->cred.ngroups > CMD_MAX_GROUPS ||
        c->namelen > CMD_NAME_MAX || c->name2len > CMD_NAME_MAX || c->datalen > data_max(c->op) ||
        c->n_ranges > CMD_MAX_RANGES || c->n_ext > CMD_MAX_EXTENTS ||
        c->hint_namelen > CMD_NAME_MAX)
        return -EINVAL;
    struct cur w = {.w = buf, .cap = cap};
    encode_header(&w, c);
    encode_body(&w, c, op_fields[c->op]);
    return w.err ? w.err : (int)w.pos;
}

static uint8_t decode_header(struct cur *r, struct cmd *c)
{
    uint8_t version = r8(r);
    if ((version < 1 || version > CMD_VERSION) && !r->err)
        r->err = -EPROTO;
    c->op = r8(r);
    if (!r->err && (c->op == 0 || c->op >= CMD_OP_END))
        r->err = -EPROTO;
    c->origin = r64(r);
    c->req_id = r64(r);
    rtime(r, &c->time);
    c->cred.uid = r32(r);
    c->cred.gid = r32(r);
    c->cred.ngroups = r32(r);
    if (!r->err && c->cred.ngroups > CMD_MAX_GROUPS)
        r->err = -EINVAL;
    for (uint32_t i = 0; i < c->cred.ngroups && !r->err; i++)
        c->cred.groups[i] = r32(r);
    return version;
}

static const uint8_t *rarray(struct cur *r, uint32_t *n, uint32_t max, size_t elem)
{
    *n = r32(r);
    if (!r->err && *n > max)
        r->err = -EINVAL;
    return r->err ? NULL : rbytes(r, (size_t)*n * elem);
}

/* Version 2 content fields: base version, name hint, tag. */
static void decode_conflict_fields(struct cur *r, struct cmd *c)
{
    uint32_t taglen;
    c->base_ver = r64(r);
    c->hint_parent = r64(r);
    c->hint_name = (const char *)rstr(r, &c->hint_namelen, 0, CMD_NAME_MAX);
    const uint8_t *tag = rstr(r, &taglen, 0, CMD_TAG_MAX);
    if (!r->err && taglen && !cmd_tag_valid((const char *)tag, taglen))
        r->err = -EINVAL;
    if (!r->err) {
        memcpy(c->tag, tag, taglen);
        c->tag[taglen] = '\0';
    }
}

static void decode_extent(struct cur *r, struct meta_extent *e, uint64_t expect)
{
    uint8_t f = r8(r);
    bool both = (f & EXT_OFF_NEXT) && (f & EXT_OFF_GAP);
    if (!r->err && ((f & ~EXT_FLAGS) || both))
        r->err = -EPROTO;
    e->off = expect;
    if (f & EXT_OFF_GAP) {
        e->off = expect + rvarint(r, 64);
        if (!r->err && e->off < expect) /* past 2^64 */
            r->err = -EPROTO;
    } else if (!(f & EXT_OFF_NEXT)) {
        e->off = r64(r);
    }
    e->coff = f & EXT_COFF_ZERO ? 0 : (uint32_t)rvarint(r, 32);
    e->len = (uint32_t)rvarint(r, 32);
    const uint8_t *hash = rbytes(r, SHA256_LEN);
    if (hash)
        memcpy(e->hash, hash, SHA256_LEN);
}

/* Version 3 extents cannot be pointed at in the buffer: they are expanded
 * into c->owned, in the layout cmd_extent_get reads. The count is checked
 * against the bytes left before anything is allocated. */
static void decode_extents_v3(struct cur *r, struct cmd *c)
{
    c->n_ext = r32(r);
    if (!r->err && c->n_ext > CMD_MAX_EXTENTS)
        r->err = -EINVAL;
    if (!r->err && c->n_ext > (r->cap - r->pos) / EXT_MIN_LEN)
        r->err = -EPROTO;
    if (r->err || !c->n_ext)
        return;
    uint8_t *raw = malloc((size_t)c->n_ext * CMD_EXTENT_LEN);
    if (!raw) {
        r->err = -ENOMEM;
        return;
    }
    c->owned = raw;
    c->extents = raw;
    uint64_t expect = first_expect(c);
    for (uint32_t i = 0; i < c->n_ext && !r->err; i++) {
        struct meta_extent e;
        decode_extent(r, &e, expect);
        if (!r->err)
            cmd_extent_put(raw, i, &e);
        expect = next_expect(&e);
    }
}

static void decode_body(struct cur *r, struct cmd *c, uint16_t f, uint8_t version)
{
    if (f & F_INO)
        c->ino = r64(r);
    if (f & F_NAME)
        c->name = (const char *)rstr(r, &c->namelen, 1, CMD_NAME_MAX);
    if (f & F_INO2)
        c->ino2 = r64(r);
    if (f & F_NAME2)
        c->name2 = (const char *)rstr(r, &c->name2len, 1, CMD_NAME_MAX);
    if (f & F_MODE)
        c->mode = r32(r);
    if (f & F_RDEV)
        c->rdev = r64(r);
    if (f & F_DATA)
        c->data = rstr(r, &c->datalen, c->op == CMD_SYMLINK ? 1 : 0, data_max(c->op));
    if (f & F_FLAGS)
        c->flags = r32(r);
    if (f & F_SETATTR) {
        c->mode = r32(r);
        c->uid = r32(r);
        c->gid = r32(r);
        c->size = r64(r);
        rtime(r, &c->atime);
        rtime(r, &c->mtime);
    }
    if (f & F_ATIME)
        rtime(r, &c->atime);
    if (f & F_CONTENT) {
        c->min_size = r64(r);
        if (version >= 2)
            decode_conflict_fields(r, c);
        c->ranges = rarray(r, &c->n_ranges, CMD_MAX_RANGES, CMD_RANGE_LEN);
        if (version >= 3)
            decode_extents_v3(r, c);
        else
            c->extents = rarray(r, &c->n_ext, CMD_MAX_EXTENTS, CMD_EXTENT_LEN);
    }
}

int cmd_decode(const uint8_t *buf, size_t len, struct cmd *c)
{
    struct cur r = {.r = buf, .cap = len};
    memset(c, 0, sizeof(*c));
    uint8_t version = decode_header(&r, c);
    if (!r.err)
        decode_body(&r, c, op_fields[c->op], version);
    if (!r.err && r.pos != len)
        r.err = -EPROTO;
    if (r.err)
        cmd_release(c);
    return r.err;
}

void cmd_release(struct cmd *c)
{
    if (c->owned && c->extents == c->owned) {
        c->extents = NULL;
        c->n_ext = 0;
    }
    free(c->owned);
    c->owned = NULL;
}

void cmd_range_put(uint8_t *raw, uint32_t i, uint64_t start, uint64_t end)
{
    put_u64(raw + (size_t)i * CMD_RANGE_LEN, start);
    put_u64(raw + (size_t)i * CMD_RANGE_LEN + 8, end);
}

void cmd_range_get(const struct cmd *c, uint32_t i, uint64_t *start, uint64_t *end)
{
    *start = get_u64(c->ranges + (size_t)i * CMD_RANGE_LEN);
    *end = get_u64(c->ranges + (size_t)i * CMD_RANGE_LEN + 8);
}

void cmd_extent_put(uint8_t *raw, uint32_t i, const struct meta_extent *e)
{
    uint8_t *p = raw + (size_t)i * CMD_EXTENT_LEN;
    put_u64(p, e->off);
    put_u32(p + 8, e->coff);
    put_u32(p + 12, e->len);
    memcpy(p + 16, e->hash, SHA256_LEN);
}

void cmd_extent_get(const struct cmd *c, uint32_t i, struct meta_extent *e)
{
    const uint8_t *p = c->extents + (size_t)i * CMD_EXTENT_LEN;
    e->off = get_u64(p);
    e->coff = get_u32(p + 8);
    e->len = get_u32(p + 12);
    memcpy(e->hash, p + 16, SHA256_LEN);
}

bool cmd_tag_valid(const char *tag, size_t len)
{
    if (len == 0 || len > CMD_TAG_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char ch = tag[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '-' || ch == '_'))
            return false;
    }
    return true;
}

void cmd_set_tag(struct cmd *c, const char *tag)
{
    size_t len = tag ? strnlen(tag, CMD_TAG_MAX) : 0;
    if (!cmd_tag_valid(tag, len)) {
        tag = CMD_TAG_DEFAULT;
        len = strlen(tag);
    }
    memcpy(c->tag, tag, len);
    c->tag[len] = '\0';
}
