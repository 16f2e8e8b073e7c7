/* Command codec: round trips of every op, and malformed input. */
#include "fs/chunk/chunker.h"
#include "fs/core/cmd.h"

#include "common/bytes.h"
#include "tests/check_run.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct cmd sample(uint8_t op)
{
    static uint8_t ranges[2 * CMD_RANGE_LEN], exts[3 * CMD_EXTENT_LEN];
    struct cmd c;
    memset(&c, 0, sizeof(c));
    c.op = op;
    c.origin = 7;
    c.req_id = 123456789012ull;
    c.time.sec = 1700000000;
    c.time.nsec = 999999999;
    c.cred.uid = 1000;
    c.cred.gid = 100;
    c.cred.ngroups = 3;
    c.cred.groups[0] = 4;
    c.cred.groups[1] = 24;
    c.cred.groups[2] = 27;
    c.ino = 42;
    c.ino2 = 43;
    c.name = "name";
    c.namelen = 4;
    c.name2 = "other-name";
    c.name2len = 10;
    c.mode = 0100644;
    c.rdev = 0x0801;
    c.data = (const uint8_t *)"target/path";
    c.datalen = 11;
    c.flags = 3;
    c.uid = 5;
    c.gid = 6;
    c.size = 1ull << 40;
    c.atime = (struct meta_time){-5, 1};
    c.mtime = (struct meta_time){77, 2};
    c.min_size = 999;
    cmd_range_put(ranges, 0, 0, 100);
    cmd_range_put(ranges, 1, 200, 300);
    for (uint32_t i = 0; i < 3; i++) {
        struct meta_extent e = {.off = i * 10, .coff = i, .len = 5 + i};
        memset(e.hash, (int)i + 1, SHA256_LEN);
        cmd_extent_put(exts, i, &e);
    }
    c.n_ranges = 2;
    c.ranges = ranges;
    c.n_ext = 3;
    c.extents = exts;
    return c;
}

static void check_common(const struct cmd *a, const struct cmd *b)
{
    ck_assert_uint_eq(a->op, b->op);
    ck_assert_uint_eq(a->origin, b->origin);
    ck_assert_uint_eq(a->req_id, b->req_id);
    ck_assert_int_eq(a->time.sec, b->time.sec);
    ck_assert_uint_eq(a->time.nsec, b->time.nsec);
    ck_assert_uint_eq(a->cred.uid, b->cred.uid);
    ck_assert_uint_eq(a->cred.ngroups, b->cred.ngroups);
    for (uint32_t i = 0; i < a->cred.ngroups; i++)
        ck_assert_uint_eq(a->cred.groups[i], b->cred.groups[i]);
}

START_TEST(round_trip_every_op)
{
    for (uint8_t op = 1; op < CMD_OP_END; op++) {
        struct cmd a = sample(op), b;
        uint8_t *buf = malloc(cmd_encoded_size(&a));
        int n = cmd_encode(&a, buf, cmd_encoded_size(&a));
        ck_assert_int_gt(n, 0);
        ck_assert_int_eq(cmd_decode(buf, (size_t)n, &b), 0);
        check_common(&a, &b);
        if (op == CMD_RENAME) {
            ck_assert_uint_eq(b.ino, 42);
            ck_assert_uint_eq(b.ino2, 43);
            ck_assert_mem_eq(b.name, "name", 4);
            ck_assert_mem_eq(b.name2, "other-name", 10);
            ck_assert_uint_eq(b.flags, 3);
        }
        if (op == CMD_SETATTR) {
            ck_assert_uint_eq(b.size, 1ull << 40);
            ck_assert_int_eq(b.atime.sec, -5);
            ck_assert_uint_eq(b.mtime.nsec, 2);
            ck_assert_uint_eq(b.uid, 5);
        }
        if (op == CMD_SYMLINK)
            ck_assert_mem_eq(b.data, "target/path", 11);
        if (op == CMD_CONTENT) {
            uint64_t s, e;
            struct meta_extent x;
            ck_assert_uint_eq(b.n_ranges, 2);
            cmd_range_get(&b, 1, &s, &e);
            ck_assert_uint_eq(s, 200);
            ck_assert_uint_eq(e, 300);
            ck_assert_uint_eq(b.n_ext, 3);
            cmd_extent_get(&b, 2, &x);
            ck_assert_uint_eq(x.off, 20);
            ck_assert_uint_eq(x.len, 7);
            ck_assert_uint_eq(x.hash[31], 3);
            ck_assert_uint_eq(b.min_size, 999);
        }
        cmd_release(&b);
        /* every strict prefix is rejected, never read past */
        for (int cut = 0; cut < n; cut++) {
            uint8_t *p = malloc((size_t)cut + 1);
            memcpy(p, buf, (size_t)cut);
            ck_assert_int_lt(cmd_decode(p, (size_t)cut, &b), 0);
            free(p);
        }
        free(buf);
    }
}
END_TEST

START_TEST(malformed_rejected)
{
    struct cmd a = sample(CMD_MKDIR), b;
    uint8_t buf[1024];
    int n = cmd_encode(&a, buf, sizeof(buf));
    ck_assert_int_gt(n, 0);
    uint8_t bad[1100];
    memcpy(bad, buf, (size_t)n);
    bad[0] = CMD_VERSION + 1; /* unknown version */
    ck_assert_int_eq(cmd_decode(bad, (size_t)n, &b), -EPROTO);
    memcpy(bad, buf, (size_t)n);
    bad[1] = CMD_OP_END; /* unknown op */
    ck_assert_int_eq(cmd_decode(bad, (size_t)n, &b), -EPROTO);
    memcpy(bad, buf, (size_t)n);
    bad[n] = 0; /* trailing byte */
    ck_assert_int_eq(cmd_decode(bad, (size_t)n + 1, &b), -EPROTO);
    memcpy(bad, buf, (size_t)n);
    bad[1 + 1 + 8 + 8 + 8 + 4 + 8] = 200; /* ngroups > CMD_MAX_GROUPS */
    ck_assert_int_eq(cmd_decode(bad, (size_t)n, &b), -EINVAL);
    ck_assert_int_eq(cmd_encode(&a, buf, 10), -ENOBUFS);
    a.namelen = 300;
    ck_assert_int_eq(cmd_encode(&a, buf, sizeof(buf)), -EINVAL);
}
END_TEST

static uint64_t xorshift(uint64_t *x)
{
    *x ^= *x << 13, *x ^= *x >> 7, *x ^= *x << 17;
    return *x;
}

START_TEST(random_bytes_never_crash)
{
    uint8_t buf[512];
    struct cmd b;
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < 20000; i++) {
        size_t len = (size_t)(x % sizeof(buf));
        for (size_t j = 0; j < len; j++)
            buf[j] = (uint8_t)xorshift(&x);
        if (len > 2)
            buf[0] = CMD_VERSION, buf[1] = (uint8_t)(1 + x % (CMD_OP_END - 1));
        int rc = cmd_decode(buf, len, &b);
        ck_assert(rc == 0 || rc == -EPROTO || rc == -EINVAL);
        cmd_release(&b);
    }
}
END_TEST

/* Version 3 extents --------------------------------------------------- */

#define HDR_LEN   42   /* the header without groups */
#define N_REWRITE 1700 /* the extents of a 100 MiB rewrite */
#define F_NEXT    1    /* the flag bits of docs/commands.md */
#define F_GAP     2
#define F_COFF0   4

/* A CONTENT command without groups, base, hint or tag. */
static struct cmd content(const uint8_t *ranges, uint32_t n_ranges, const uint8_t *exts,
                          uint32_t n_ext)
{
    struct cmd c;
    memset(&c, 0, sizeof(c));
    c.op = CMD_CONTENT;
    c.origin = 3;
    c.req_id = 77;
    c.ino = 12;
    c.flags = CMD_CONTENT_MTIME;
    c.min_size = 5;
    c.ranges = ranges;
    c.n_ranges = n_ranges;
    c.extents = exts;
    c.n_ext = n_ext;
    return c;
}

static void ext_set(uint8_t *raw, uint32_t i, uint64_t off, uint32_t coff, uint32_t len)
{
    struct meta_extent e = {.off = off, .coff = coff, .len = len};
    for (int j = 0; j < SHA256_LEN; j++)
        e.hash[j] = (uint8_t)(i * 31 + (uint32_t)j);
    cmd_extent_put(raw, i, &e);
}

static void check_same_content(const struct cmd *a, const struct cmd *b)
{
    ck_assert_uint_eq(a->ino, b->ino);
    ck_assert_uint_eq(a->flags, b->flags);
    ck_assert_uint_eq(a->min_size, b->min_size);
    ck_assert_uint_eq(a->base_ver, b->base_ver);
    ck_assert_str_eq(a->tag, b->tag);
    ck_assert_uint_eq(a->n_ranges, b->n_ranges);
    for (uint32_t i = 0; i < a->n_ranges; i++) {
        uint64_t s1, e1, s2, e2;
        cmd_range_get(a, i, &s1, &e1);
        cmd_range_get(b, i, &s2, &e2);
        ck_assert_uint_eq(s1, s2);
        ck_assert_uint_eq(e1, e2);
    }
    ck_assert_uint_eq(a->n_ext, b->n_ext);
    for (uint32_t i = 0; i < a->n_ext; i++) {
        struct meta_extent x, y;
        cmd_extent_get(a, i, &x);
        cmd_extent_get(b, i, &y);
        ck_assert_uint_eq(x.off, y.off);
        ck_assert_uint_eq(x.coff, y.coff);
        ck_assert_uint_eq(x.len, y.len);
        ck_assert_mem_eq(x.hash, y.hash, SHA256_LEN);
    }
}

/* Encodes a into cmd_encoded_size bytes, decodes and compares; returns the
 * encoded length. The size's extent part is exact: the same difference as
 * the encoded lengths with and without the extents. */
static size_t round_trip(const struct cmd *a)
{
    size_t cap = cmd_encoded_size(a);
    uint8_t *buf = malloc(cap);
    int n = cmd_encode(a, buf, cap);
    ck_assert_int_gt(n, 0);
    ck_assert_uint_eq(buf[0], 3);
    struct cmd b, none = *a;
    ck_assert_int_eq(cmd_decode(buf, (size_t)n, &b), 0);
    check_same_content(a, &b);
    ck_assert(b.n_ext == 0 || b.extents == b.owned);
    cmd_release(&b);
    cmd_release(&b); /* twice is harmless */
    ck_assert_ptr_null(b.owned);
    none.n_ext = 0;
    int n0 = cmd_encode(&none, buf, cap);
    ck_assert_uint_eq(cap - cmd_encoded_size(&none), (size_t)(n - n0));
    /* A builder's running sum (recut) is never short, and at most the
     * first extent's unknown offset (8 bytes) over. */
    size_t sum = 0;
    struct meta_extent e, prev;
    for (uint32_t i = 0; i < a->n_ext; i++, prev = e) {
        cmd_extent_get(a, i, &e);
        sum += cmd_extent_wire_len(&e, i ? &prev : NULL);
    }
    ck_assert_uint_ge(sum, (size_t)(n - n0));
    ck_assert_uint_le(sum, (size_t)(n - n0) + 8);
    free(buf);
    return (size_t)n;
}

/* A version 2 encoding of a: the same bytes up to the extent count, then
 * fixed 48-byte extents. */
static size_t encode_v2(const struct cmd *a, uint8_t *buf, size_t cap)
{
    struct cmd none = *a;
    none.n_ext = 0;
    int n = cmd_encode(&none, buf, cap);
    size_t raw = (size_t)a->n_ext * CMD_EXTENT_LEN;
    ck_assert_int_gt(n, 0);
    ck_assert_uint_le((size_t)n + raw, cap);
    buf[0] = 2;
    put_u32(buf + n - 4, a->n_ext);
    if (raw)
        memcpy(buf + n, a->extents, raw);
    return (size_t)n + raw;
}

/* Bytes per extent in both versions for these extents, printed. */
static double per_extent(const struct cmd *a, const char *what)
{
    static uint8_t v2[N_REWRITE * CMD_EXTENT_LEN + 4096];
    struct cmd none = *a;
    none.n_ext = 0;
    size_t n0 = round_trip(&none), n3 = round_trip(a), n2 = encode_v2(a, v2, sizeof(v2));
    double p3 = (double)(n3 - n0) / a->n_ext, p2 = (double)(n2 - n0) / a->n_ext;
    printf("%u %s extents: %.2f bytes each in version 3, %.2f in version 2 "
           "(command %zu bytes, %zu in version 2)\n",
           a->n_ext, what, p3, p2, n3, n2);
    struct cmd b;
    ck_assert_int_eq(cmd_decode(v2, n2, &b), 0);
    check_same_content(a, &b);
    cmd_release(&b);
    return p3;
}

START_TEST(v3_contiguous_is_compact)
{
    static uint8_t range[CMD_RANGE_LEN], exts[N_REWRITE * CMD_EXTENT_LEN];
    uint64_t start = 5ull << 30, off = start, x = 42;
    cmd_range_put(range, 0, start, start + (uint64_t)N_REWRITE * CHUNK_MAX);
    for (uint32_t i = 0; i < N_REWRITE; i++)
        ext_set(exts, i, start + (uint64_t)i * CHUNK_MAX, 0, CHUNK_MAX);
    struct cmd a = content(range, 1, exts, N_REWRITE);
    ck_assert_double_le(per_extent(&a, "contiguous full-chunk"), 37.0);
    /* content-defined chunks of any size from CHUNK_MIN: the same */
    for (uint32_t i = 0; i < N_REWRITE; i++) {
        uint32_t len = CHUNK_MIN + (uint32_t)(xorshift(&x) % (CHUNK_MAX - CHUNK_MIN + 1));
        ext_set(exts, i, off, 0, len);
        off += len;
    }
    cmd_range_put(range, 0, start, off);
    ck_assert_double_le(per_extent(&a, "contiguous CDC-sized"), 37.0);
}
END_TEST

START_TEST(v3_gaps_ranges_coff)
{
    uint8_t ranges[3 * CMD_RANGE_LEN], exts[9 * CMD_EXTENT_LEN];
    cmd_range_put(ranges, 0, 1000, 5000);
    cmd_range_put(ranges, 1, 10000, 20000);
    cmd_range_put(ranges, 2, 1ull << 40, (1ull << 40) + CHUNK_MAX);
    ext_set(exts, 0, 1000, 0, 1500);     /* at the first range's start */
    ext_set(exts, 1, 2500, 0, 500);      /* right after */
    ext_set(exts, 2, 3100, 77, 900);     /* a gap, a chunk offset */
    ext_set(exts, 3, 4000, 65535, 1000); /* right after, a chunk offset */
    ext_set(exts, 4, 12000, 0, 3000);    /* the next range, not at its start */
    ext_set(exts, 5, 15000, 0, 5000);
    ext_set(exts, 6, 1ull << 40, 0, CHUNK_MAX); /* a far range */
    ext_set(exts, 7, 0, 0, 10);                 /* backwards: unsorted input too */
    ext_set(exts, 8, 10, 1, 10);
    for (uint32_t n = 0; n <= 9; n++) {
        struct cmd a = content(ranges, 3, exts, n);
        round_trip(&a);
    }
    struct cmd a = content(NULL, 0, exts, 9); /* no ranges: expected at 0 */
    round_trip(&a);
    a = content(ranges + CMD_RANGE_LEN, 2, exts, 9); /* the first extent before the range */
    round_trip(&a);
}
END_TEST

START_TEST(v3_extreme_values)
{
    uint8_t range[CMD_RANGE_LEN], exts[10 * CMD_EXTENT_LEN];
    const uint64_t half = 1ull << 63, gap_max = (1ull << 49) - 1;
    uint64_t at = half - 1;
    cmd_range_put(range, 0, 0, UINT64_MAX);
    ext_set(exts, 0, at, 0, UINT32_MAX); /* a gap of 2^63 - 1: a u64 */
    at += UINT32_MAX;
    ext_set(exts, 1, at, UINT32_MAX, 0); /* right after, empty, the largest chunk offset */
    at += gap_max;
    ext_set(exts, 2, at, 0, 1); /* the largest gap written as a varint */
    at += 1 + gap_max + 1;
    ext_set(exts, 3, at, 0, 1);                           /* one more: a u64 */
    ext_set(exts, 4, UINT64_MAX - 5, 1, UINT32_MAX);      /* ends past 2^64 */
    ext_set(exts, 5, UINT32_MAX - 6, 0, 7);               /* where the wrapped end points */
    ext_set(exts, 6, UINT64_MAX, UINT32_MAX, UINT32_MAX); /* every field at its widest */
    ext_set(exts, 7, 0, 0, 0);
    ext_set(exts, 8, 0, 0, 0); /* empty and repeated */
    ext_set(exts, 9, half, 0, 0);
    for (uint32_t n = 0; n <= 10; n++) {
        struct cmd a = content(range, 1, exts, n);
        round_trip(&a);
    }
    /* the widest extent: flags, u64 offset, two 5-byte varints, the hash */
    struct cmd a = content(range, 1, exts + 6 * CMD_EXTENT_LEN, 1), none = a;
    none.n_ext = 0;
    ck_assert_uint_eq(round_trip(&a) - round_trip(&none), 1 + 8 + 5 + 5 + SHA256_LEN);
}
END_TEST

START_TEST(v2_and_v1_still_decode)
{
    uint8_t ranges[2 * CMD_RANGE_LEN], exts[4 * CMD_EXTENT_LEN], buf[1024];
    cmd_range_put(ranges, 0, 0, 100);
    cmd_range_put(ranges, 1, 200, 300);
    ext_set(exts, 0, 0, 0, 50);
    ext_set(exts, 1, 50, 3, 40);
    ext_set(exts, 2, 210, 0, 20);
    ext_set(exts, 3, 230, 0, 70);
    struct cmd a = content(ranges, 2, exts, 4), b;
    size_t n = encode_v2(&a, buf, sizeof(buf));
    ck_assert_int_eq(cmd_decode(buf, n, &b), 0);
    check_same_content(&a, &b);
    ck_assert_ptr_null(b.owned); /* still zero-copy */
    ck_assert_ptr_eq(b.extents, buf + n - 4 * CMD_EXTENT_LEN);
    cmd_release(&b);
    ck_assert_uint_eq(b.n_ext, 4); /* nothing to release, nothing changed */
    /* version 1: no base, hint or tag (24 bytes after min_size) */
    size_t at = HDR_LEN + 8 + 4 + 8;
    memmove(buf + at, buf + at + 24, n - at - 24);
    buf[0] = 1;
    ck_assert_int_eq(cmd_decode(buf, n - 24, &b), 0);
    check_same_content(&a, &b);
    cmd_release(&b);
}
END_TEST

/* Version 3 bytes of a CONTENT command over [0, 1 MiB), with n_ext and
 * then the extent bytes given. */
static size_t craft(uint8_t *buf, uint32_t n_ext, const uint8_t *ext, size_t len)
{
    uint8_t range[CMD_RANGE_LEN];
    cmd_range_put(range, 0, 0, 1u << 20);
    struct cmd a = content(range, 1, NULL, 0);
    int n = cmd_encode(&a, buf, 1024);
    ck_assert_int_gt(n, 0);
    put_u32(buf + n - 4, n_ext);
    memcpy(buf + n, ext, len);
    return (size_t)n + len;
}

/* Decodes n_ext and the extent bytes: ext[0..head) then, for each of the
 * extents, a hash wherever ext has 0xee. Returns the result; a failed
 * decode owns nothing. */
static int decode_ext(uint32_t n_ext, const uint8_t *head, size_t hlen, struct meta_extent *first)
{
    static uint8_t ext[4096], buf[8192];
    size_t len = 0;
    for (size_t i = 0; i < hlen; i++) {
        if (head[i] == 0xee) {
            memset(ext + len, 0xab, SHA256_LEN);
            len += SHA256_LEN;
        } else {
            ext[len++] = head[i];
        }
    }
    struct cmd b;
    int rc = cmd_decode(buf, craft(buf, n_ext, ext, len), &b);
    if (rc)
        ck_assert_ptr_null(b.owned);
    else if (first && b.n_ext)
        cmd_extent_get(&b, 0, first);
    cmd_release(&b);
    return rc;
}

#define H 0xee /* a hash, in decode_ext's input */
#define DEC(n, first, ...)                                                                         \
    decode_ext(n, (const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__}), first)

START_TEST(v3_malformed_rejected)
{
    struct meta_extent e;
    /* well formed: 256 KiB at the range start; UINT32_MAX; a gap of 2^63 */
    ck_assert_int_eq(DEC(1, &e, F_NEXT | F_COFF0, 0x80, 0x80, 0x10, H), 0);
    ck_assert_uint_eq(e.off, 0);
    ck_assert_uint_eq(e.len, CHUNK_MAX);
    ck_assert_int_eq(DEC(1, &e, F_NEXT | F_COFF0, 0xff, 0xff, 0xff, 0xff, 0x0f, H), 0);
    ck_assert_uint_eq(e.len, UINT32_MAX);
    ck_assert_int_eq(DEC(1, &e, F_GAP, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01,
                         0x05, 0x01, H),
                     0);
    ck_assert_uint_eq(e.off, 1ull << 63);
    ck_assert_uint_eq(e.coff, 5);
    /* truncated in the middle of an extent (v3_every_cut_refused cuts everywhere) */
    ck_assert_int_eq(DEC(2, NULL, F_NEXT | F_COFF0, 0x01, H, F_NEXT | F_COFF0, 0x01, 1, 2, 3),
                     -EPROTO);
    ck_assert_int_eq(DEC(1, NULL, F_NEXT | F_COFF0, 0x01, H, 0x05), -EPROTO); /* a trailing byte */
    ck_assert_int_eq(DEC(2, NULL, F_NEXT | F_COFF0, 0x01, H, F_NEXT | F_COFF0, 0x81, H), -EPROTO);
    /* overlong varints: length, chunk offset, gap */
    ck_assert_int_eq(DEC(1, NULL, F_NEXT | F_COFF0, 0x85, 0x00, H), -EPROTO);
    ck_assert_int_eq(DEC(1, NULL, F_NEXT | F_COFF0, 0x80, 0x00, H), -EPROTO);
    ck_assert_int_eq(DEC(1, NULL, F_NEXT, 0x81, 0x80, 0x00, 0x01, H), -EPROTO);
    ck_assert_int_eq(DEC(1, NULL, F_GAP | F_COFF0, 0x80, 0x00, 0x01, H), -EPROTO);
    /* lengths past u32: 2^32, 2^35 - 1, six bytes */
    ck_assert_int_eq(DEC(1, NULL, F_NEXT | F_COFF0, 0x80, 0x80, 0x80, 0x80, 0x10, H), -EPROTO);
    ck_assert_int_eq(DEC(1, NULL, F_NEXT | F_COFF0, 0xff, 0xff, 0xff, 0xff, 0x7f, H), -EPROTO);
    ck_assert_int_eq(DEC(1, NULL, F_NEXT | F_COFF0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, H),
                     -EPROTO);
    /* gaps past u64: 2^64 in ten bytes, eleven bytes, and an offset past 2^64 - 1 */
    ck_assert_int_eq(DEC(1, NULL, F_GAP | F_COFF0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
                         0x80, 0x02, 0x01, H),
                     -EPROTO);
    ck_assert_int_eq(DEC(1, NULL, F_GAP | F_COFF0, 0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
                         0x80, 0x80, 0x00, 0x01, H),
                     -EPROTO);
    ck_assert_int_eq(DEC(2, NULL, F_COFF0, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, H,
                         F_GAP | F_COFF0, 0x01, 0x01, H),
                     0); /* 2^64 - 2, then 2^64 - 1 */
    ck_assert_int_eq(DEC(2, NULL, F_COFF0, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, H,
                         F_GAP | F_COFF0, 0x02, 0x01, H),
                     -EPROTO);
    /* unknown flag bits, and both offset forms at once */
    for (unsigned bit = 3; bit < 8; bit++)
        ck_assert_int_eq(DEC(1, NULL, (uint8_t)(F_NEXT | F_COFF0 | 1u << bit), 0x01, H), -EPROTO);
    ck_assert_int_eq(DEC(1, NULL, F_NEXT | F_GAP | F_COFF0, 0x01, 0x01, H), -EPROTO);
    /* more extents than bytes, before any allocation; more than allowed */
    ck_assert_int_eq(DEC(2, NULL, F_NEXT | F_COFF0, 0x01, H), -EPROTO);
    ck_assert_int_eq(DEC(CMD_MAX_EXTENTS, NULL, F_NEXT | F_COFF0, 0x01, H), -EPROTO);
    ck_assert_int_eq(DEC(CMD_MAX_EXTENTS + 1, NULL, F_NEXT | F_COFF0, 0x01, H), -EINVAL);
    ck_assert_int_eq(DEC(UINT32_MAX, NULL, F_NEXT | F_COFF0, 0x01, H), -EINVAL);
}
END_TEST

/* A command with extents of every kind, for the mutations below. */
static size_t mixed(uint8_t *buf, size_t cap)
{
    static uint8_t ranges[3 * CMD_RANGE_LEN], exts[24 * CMD_EXTENT_LEN];
    uint64_t x = 7, off = 4096;
    cmd_range_put(ranges, 0, 4096, 1u << 22);
    cmd_range_put(ranges, 1, 1u << 23, 1u << 24);
    cmd_range_put(ranges, 2, 1ull << 62, UINT64_MAX);
    for (uint32_t i = 0; i < 24; i++) {
        uint64_t r = xorshift(&x);
        uint32_t len = (uint32_t)(1 + r % CHUNK_MAX), coff = r % 5 == 0 ? (uint32_t)(r >> 40) : 0;
        if (r % 7 == 0)
            off += r >> 50; /* a gap */
        if (i == 12 || i == 20)
            off = i == 12 ? 1u << 23 : 1ull << 62;
        ext_set(exts, i, off, coff, len);
        off += len;
    }
    struct cmd a = content(ranges, 3, exts, 24);
    a.flags |= CMD_CONTENT_BASE;
    a.base_ver = 99;
    a.hint_parent = 1;
    a.hint_name = "f.txt";
    a.hint_namelen = 5;
    cmd_set_tag(&a, "node1");
    int n = cmd_encode(&a, buf, cap);
    ck_assert_int_gt(n, 0);
    return (size_t)n;
}

/* What decoded encodes again, and decodes to the same command. */
static void check_reencodes(const struct cmd *b)
{
    size_t cap = cmd_encoded_size(b);
    uint8_t *again = malloc(cap);
    int n = cmd_encode(b, again, cap);
    ck_assert_int_gt(n, 0);
    struct cmd c;
    ck_assert_int_eq(cmd_decode(again, (size_t)n, &c), 0);
    check_common(b, &c);
    check_same_content(b, &c);
    ck_assert_uint_eq(b->namelen, c.namelen);
    ck_assert_uint_eq(b->hint_namelen, c.hint_namelen);
    ck_assert_uint_eq(b->datalen, c.datalen);
    cmd_release(&c);
    free(again);
}

START_TEST(v3_every_cut_refused)
{
    uint8_t full[2048];
    size_t n = mixed(full, sizeof(full));
    for (size_t cut = 0; cut < n; cut++) {
        uint8_t *p = malloc(cut + 1); /* ASan sees any read past the cut */
        memcpy(p, full, cut);
        struct cmd b;
        int rc = cmd_decode(p, cut, &b);
        ck_assert(rc == -EPROTO || rc == -EINVAL);
        ck_assert_ptr_null(b.owned);
        free(p);
    }
}
END_TEST

START_TEST(v3_mutations_never_crash)
{
    uint8_t orig[2048], m[2048 + 8];
    size_t n = mixed(orig, sizeof(orig));
    uint64_t x = 88172645463325252ull;
    ck_assert_uint_gt(n, 24 * 36);
    int decoded = 0, refused = 0;
    for (int it = 0; it < 5000; it++) {
        size_t len = n, ext_at = n - 24 * 36; /* about where the extents start */
        memcpy(m, orig, n);
        for (int k = 1 + (int)(xorshift(&x) % 4); k > 0; k--) {
            uint64_t r = xorshift(&x);
            size_t pos = r % 2 ? ext_at + (r >> 8) % (n - ext_at) : (r >> 8) % n;
            m[pos] = r % 3 ? (uint8_t)(m[pos] ^ 1u << (r >> 32) % 8) : (uint8_t)(r >> 40);
        }
        uint64_t r = xorshift(&x);
        if (r % 10 == 0)
            len = (r >> 8) % n; /* cut */
        else if (r % 10 == 1)
            len = n + (r >> 8) % 8, memset(m + n, (int)(r >> 16), 8); /* extended */
        struct cmd b;
        int rc = cmd_decode(m, len, &b);
        ck_assert(rc == 0 || rc == -EPROTO || rc == -EINVAL);
        if (rc == 0) {
            check_reencodes(&b);
            decoded++;
        } else {
            ck_assert_ptr_null(b.owned);
            refused++;
        }
        cmd_release(&b);
    }
    printf("mutations of a version 3 command: %d decoded (and re-encoded), %d refused\n", decoded,
           refused);
    ck_assert_int_gt(decoded, 0);
    ck_assert_int_gt(refused, 0);
}
END_TEST

START_TEST(release_is_safe)
{
    struct cmd c;
    memset(&c, 0, sizeof(c));
    cmd_release(&c);
    cmd_release(&c);
    ck_assert_ptr_null(c.owned);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cmd");
    TCase *tc = tcase_create("codec");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, round_trip_every_op);
    tcase_add_test(tc, malformed_rejected);
    tcase_add_test(tc, random_bytes_never_crash);
    tcase_add_test(tc, v3_contiguous_is_compact);
    tcase_add_test(tc, v3_gaps_ranges_coff);
    tcase_add_test(tc, v3_extreme_values);
    tcase_add_test(tc, v2_and_v1_still_decode);
    tcase_add_test(tc, v3_malformed_rejected);
    tcase_add_test(tc, v3_every_cut_refused);
    tcase_add_test(tc, v3_mutations_never_crash);
    tcase_add_test(tc, release_is_safe);
    suite_add_tcase(s, tc);
    return check_run(s);
}
