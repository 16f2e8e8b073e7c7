/* Command log: append, reopen and replay; torn, stale, voided and forged
 * frames; growth; refused files. The frame layout the tests poke at is the
 * one docs/on-disk-meta.md documents. */
#include "fs/core/cmd_log.h"

#include "common/bytes.h"
#include "common/crc32c.h"
#include "helpers.h"
#include "tests/unit/scratch.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define FILE_HDR  24
#define FRAME_HDR 24
#define MAX_IDX   256

static char *dir;
static char *path;

static void setup(void)
{
    dir = tmpdir_make("cmdlog");
    ck_assert_ptr_nonnull(dir);
    ck_assert_int_ge(asprintf(&path, "%s/cmd.log", dir), 0);
}

static void teardown(void)
{
    free(path);
    path = NULL;
    tmpdir_remove(dir);
    dir = NULL;
}

/* ---- commands and what they encode to ---- */

/* A command with its own memory (value, ranges, extents). */
struct tcmd {
    struct cmd c;
    char name[32];
    uint8_t *val;
    uint8_t ranges[2 * CMD_RANGE_LEN];
    uint8_t exts[3 * CMD_EXTENT_LEN];
};

/* The encoding of every index logged: what a replay must give back. */
static uint8_t *expect[MAX_IDX];
static size_t expect_len[MAX_IDX];

static void base(struct tcmd *t, uint8_t op, uint64_t idx)
{
    memset(t, 0, sizeof(*t));
    t->c.op = op;
    t->c.origin = 1;
    t->c.req_id = idx;
    t->c.time = (struct meta_time){1700000000 + (int64_t)idx, (uint32_t)idx};
    t->c.cred.uid = 1000;
    t->c.cred.gid = 100;
    t->c.cred.ngroups = 1;
    t->c.cred.groups[0] = 27;
    t->c.ino = 1 + idx;
    snprintf(t->name, sizeof(t->name), "n%llu", (unsigned long long)idx);
    t->c.name = t->name;
    t->c.namelen = (uint32_t)strlen(t->name);
}

/* An xattr of vlen deterministic bytes: what makes a command large. */
static void make_xattr(struct tcmd *t, uint64_t idx, uint32_t vlen, uint64_t seed)
{
    base(t, CMD_SETXATTR, idx);
    t->val = malloc(vlen ? vlen : 1);
    fill_random(t->val, vlen, seed);
    t->c.data = t->val;
    t->c.datalen = vlen;
}

static void make_content(struct tcmd *t, uint64_t idx)
{
    base(t, CMD_CONTENT, idx);
    t->c.flags = CMD_CONTENT_MTIME;
    t->c.min_size = 300;
    cmd_range_put(t->ranges, 0, 0, 100);
    cmd_range_put(t->ranges, 1, 200, 300);
    for (uint32_t i = 0; i < 3; i++) {
        struct meta_extent e = {.off = i * 10, .coff = i, .len = 5 + i};
        memset(e.hash, (int)(idx + i), SHA256_LEN);
        cmd_extent_put(t->exts, i, &e);
    }
    t->c.n_ranges = 2;
    t->c.ranges = t->ranges;
    t->c.n_ext = 3;
    t->c.extents = t->exts;
    cmd_set_tag(&t->c, "node-a");
}

/* Index idx as one of three kinds: a mkdir, an xattr, a content write. */
static void make_mixed(struct tcmd *t, uint64_t idx, uint32_t vlen)
{
    if (idx % 3 == 0) {
        base(t, CMD_MKDIR, idx);
        t->c.mode = 040755;
    } else if (idx % 3 == 1) {
        make_xattr(t, idx, vlen, idx);
    } else {
        make_content(t, idx);
    }
}

static size_t encode(const struct cmd *c, uint8_t **out)
{
    size_t cap = cmd_encoded_size(c);
    *out = malloc(cap);
    int n = cmd_encode(c, *out, cap);
    ck_assert_int_gt(n, 0);
    return (size_t)n;
}

static void remember(uint64_t idx, const struct cmd *c)
{
    ck_assert_uint_lt(idx, MAX_IDX);
    free(expect[idx]);
    expect_len[idx] = encode(c, &expect[idx]);
}

static void forget(uint64_t idx)
{
    free(expect[idx]);
    expect[idx] = NULL;
}

/* Appends one frame of n commands first.. (vlen: xattr value size; 0 =
 * mixed kinds with small values) and remembers their encodings. */
static int append(struct cmd_log *l, uint64_t first, int n, uint32_t vlen)
{
    struct tcmd *t = calloc((size_t)n, sizeof(*t));
    const struct cmd **cs = calloc((size_t)n, sizeof(*cs));
    for (int i = 0; i < n; i++) {
        uint64_t idx = first + (uint64_t)i;
        if (vlen)
            make_xattr(&t[i], idx, vlen, idx);
        else
            make_mixed(&t[i], idx, 40);
        cs[i] = &t[i].c;
    }
    int rc = cmd_log_append(l, first, cs, n);
    for (int i = 0; i < n; i++) {
        if (rc == 0)
            remember(first + (uint64_t)i, &t[i].c);
        free(t[i].val);
    }
    free(cs);
    free(t);
    return rc;
}

/* ---- replay, checked ---- */

struct seen {
    uint64_t after;
    uint64_t next; /* the index the next command past `after` must have */
    int frames;    /* calls of fn */
    uint64_t firsts[MAX_IDX];
    int stop_at; /* fn returns stop_ret at this call (1-based); 0: never */
    int stop_ret;
};

static int check_fn(void *ctx, uint64_t first, struct cmd *cmds, int n)
{
    struct seen *s = ctx;
    ck_assert_int_ge(n, 1);
    s->firsts[s->frames++] = first;
    for (int i = 0; i < n; i++) {
        uint64_t idx = first + (uint64_t)i;
        if (idx <= s->after)
            continue;
        ck_assert_uint_eq(idx, s->next);
        ck_assert_msg(idx < MAX_IDX && expect[idx], "command %llu was never logged",
                      (unsigned long long)idx);
        uint8_t *got;
        size_t len = encode(&cmds[i], &got);
        ck_assert_uint_eq(len, expect_len[idx]);
        ck_assert_int_eq(memcmp(got, expect[idx], len), 0);
        free(got);
        s->next++;
    }
    return s->frames == s->stop_at ? s->stop_ret : 0;
}

/* Replays past `after`; returns the replay's value, *s what fn saw. */
static int replay(struct cmd_log *l, uint64_t after, struct seen *s)
{
    memset(s, 0, sizeof(*s));
    s->after = after;
    s->next = after + 1;
    return cmd_log_replay(l, after, check_fn, s);
}

static struct cmd_log *reopen(struct cmd_log *l)
{
    cmd_log_close(l);
    ck_assert_int_eq(cmd_log_open(path, &l), 0);
    return l;
}

static uint64_t file_size(void)
{
    struct stat sb;
    ck_assert_int_eq(stat(path, &sb), 0);
    return (uint64_t)sb.st_size;
}

static void read_at(uint8_t *buf, size_t n, uint64_t off)
{
    int fd = open(path, O_RDONLY);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pread(fd, buf, n, (off_t)off), (ssize_t)n);
    close(fd);
}

/* The frame header at off names commands first..first+count-1. */
static void assert_frame_at(uint64_t off, uint64_t first, uint32_t count)
{
    uint8_t h[FRAME_HDR];
    read_at(h, sizeof(h), off);
    ck_assert_uint_eq(get_u64(h + 12), first);
    ck_assert_uint_eq(get_u32(h + 20), count);
}

static void write_at(const void *buf, size_t n, uint64_t off)
{
    int fd = open(path, O_WRONLY);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pwrite(fd, buf, n, (off_t)off), (ssize_t)n);
    close(fd);
}

static void reset_expect(void)
{
    for (int i = 0; i < MAX_IDX; i++)
        forget((uint64_t)i);
}

/* ---- tests ---- */

START_TEST(append_reopen_replay)
{
    struct cmd_log *l;
    ck_assert_int_eq(cmd_log_open(path, &l), 0);
    ck_assert_uint_eq(file_size(), 1u << 20);
    ck_assert_uint_eq(cmd_log_bytes(l), 0);
    ck_assert_int_eq(append(l, 1, 2, 0), 0);
    ck_assert_int_eq(append(l, 3, 3, 0), 0);
    ck_assert_int_eq(append(l, 6, 1, 0), 0);
    uint64_t bytes = cmd_log_bytes(l);
    ck_assert_uint_gt(bytes, 0);

    l = reopen(l);
    ck_assert_uint_eq(cmd_log_bytes(l), bytes);
    struct seen s;
    ck_assert_int_eq(replay(l, 0, &s), 0);
    ck_assert_int_eq(s.frames, 3);
    ck_assert_uint_eq(s.next, 7);
    ck_assert_uint_eq(s.firsts[0], 1);
    ck_assert_uint_eq(s.firsts[1], 3);
    ck_assert_uint_eq(s.firsts[2], 6);

    /* after = 3: the frame 3..5 is passed whole (fn skips 3), then 6. */
    ck_assert_int_eq(replay(l, 3, &s), 0);
    ck_assert_int_eq(s.frames, 2);
    ck_assert_uint_eq(s.firsts[0], 3);
    ck_assert_uint_eq(s.firsts[1], 6);
    ck_assert_uint_eq(s.next, 7);

    /* Everything replayed already: nothing to call. */
    ck_assert_int_eq(replay(l, 6, &s), 0);
    ck_assert_int_eq(s.frames, 0);

    /* The next append continues the log. */
    ck_assert_int_eq(append(l, 7, 1, 0), 0);
    ck_assert_int_eq(replay(l, 0, &s), 0);
    ck_assert_int_eq(s.frames, 4);
    ck_assert_uint_eq(s.next, 8);
    cmd_log_close(l);
    reset_expect();
}
END_TEST

START_TEST(append_refuses_bad_indexes)
{
    struct cmd_log *l;
    ck_assert_int_eq(cmd_log_open(path, &l), 0);
    ck_assert_int_eq(append(l, 0, 1, 0), -EINVAL);
    ck_assert_int_eq(append(l, 5, 2, 0), 0);
    uint64_t bytes = cmd_log_bytes(l);
    /* A gap, or a step back, would end the log: never replayed. */
    ck_assert_int_eq(append(l, 8, 1, 0), -EINVAL);
    ck_assert_int_eq(append(l, 6, 1, 0), -EINVAL);
    ck_assert_int_eq(cmd_log_append(l, 7, NULL, 0), -EINVAL);
    ck_assert_uint_eq(cmd_log_bytes(l), bytes);
    l = reopen(l); /* the rule holds against the frames found at open */
    ck_assert_int_eq(append(l, 9, 1, 0), -EINVAL);
    ck_assert_int_eq(append(l, 7, 1, 0), 0);
    struct seen s;
    ck_assert_int_eq(replay(l, 4, &s), 0);
    ck_assert_uint_eq(s.next, 8);
    cmd_log_close(l);
    reset_expect();
}
END_TEST

/* Three frames, then the last one damaged on disk by `tear`. */
static void torn_last(void (*tear)(uint64_t start, uint64_t end))
{
    struct cmd_log *l;
    ck_assert_int_eq(cmd_log_open(path, &l), 0);
    ck_assert_int_eq(append(l, 1, 2, 0), 0);
    ck_assert_int_eq(append(l, 3, 2, 0), 0);
    uint64_t start = cmd_log_bytes(l);
    ck_assert_int_eq(append(l, 5, 3, 0), 0);
    uint64_t end = cmd_log_bytes(l);
    cmd_log_close(l);
    tear(FILE_HDR + start, FILE_HDR + end);
    forget(5), forget(6), forget(7);

    ck_assert_int_eq(cmd_log_open(path, &l), 0);
    ck_assert_uint_eq(cmd_log_bytes(l), start);
    struct seen s;
    ck_assert_int_eq(replay(l, 0, &s), 0);
    ck_assert_int_eq(s.frames, 2);
    ck_assert_uint_eq(s.next, 5);

    /* The new frame goes where the torn one was (one command, shorter). */
    ck_assert_int_eq(append(l, 5, 1, 0), 0);
    assert_frame_at(FILE_HDR + start, 5, 1);
    l = reopen(l);
    ck_assert_int_eq(replay(l, 0, &s), 0);
    ck_assert_int_eq(s.frames, 3);
    ck_assert_uint_eq(s.next, 6);
    cmd_log_close(l);
    reset_expect();
}

static void flip_payload_byte(uint64_t start, uint64_t end)
{
    uint8_t b;
    uint64_t at = start + FRAME_HDR + (end - start - FRAME_HDR) / 2;
    read_at(&b, 1, at);
    b ^= 0x40;
    write_at(&b, 1, at);
}

static void cut_in_payload(uint64_t start, uint64_t end)
{
    (void)end;
    ck_assert_int_eq(truncate(path, (off_t)(start + FRAME_HDR + 7)), 0);
}

START_TEST(torn_last_frame_flipped)
{
    torn_last(flip_payload_byte);
}
END_TEST

START_TEST(torn_last_frame_truncated)
{
    torn_last(cut_in_payload);
}
END_TEST

START_TEST(reset_leaves_stale_frames)
{
    struct cmd_log *l;
    ck_assert_int_eq(cmd_log_open(path, &l), 0);
    ck_assert_int_eq(append(l, 1, 4, 30000), 0);
    ck_assert_int_eq(append(l, 5, 4, 30000), 0);
    ck_assert_int_eq(append(l, 9, 4, 30000), 0);
    cmd_log_reset(l);
    ck_assert_uint_eq(cmd_log_bytes(l), 0);
    reset_expect();
    ck_assert_int_eq(append(l, 13, 1, 0), 0);
    uint64_t small = cmd_log_bytes(l);
    ck_assert_uint_lt(small, 30000);

    for (int round = 0; round < 2; round++) {
        struct seen s;
        ck_assert_int_eq(replay(l, 12, &s), 0);
        ck_assert_int_eq(s.frames, 1);
        ck_assert_uint_eq(s.firsts[0], 13);
        ck_assert_uint_eq(s.next, 14);
        /* The store must hold 1..12: from an older checkpoint, a gap. */
        ck_assert_int_eq(replay(l, 11, &s), -EIO);
        ck_assert_int_eq(replay(l, 0, &s), -EIO);
        ck_assert_int_eq(s.frames, 0);
        l = reopen(l); /* the old frames past the new one end the log on disk too */
        ck_assert_uint_eq(cmd_log_bytes(l), small);
    }
    ck_assert_int_eq(append(l, 14, 2, 0), 0);
    struct seen s;
    ck_assert_int_eq(replay(l, 12, &s), 0);
    ck_assert_uint_eq(s.next, 16);
    cmd_log_close(l);
    reset_expect();
}
END_TEST

/* A new frame that ends exactly where an old one starts: its index, not
 * its CRC, tells the old frame apart. */
START_TEST(stale_frame_at_a_boundary)
{
    struct cmd_log *l;
    ck_assert_int_eq(cmd_log_open(path, &l), 0);
    ck_assert_int_eq(append(l, 1, 1, 3000), 0);
    uint64_t first_frame = cmd_log_bytes(l);
    ck_assert_int_eq(append(l, 2, 4, 3000), 0);
    ck_assert_int_eq(append(l, 6, 3, 3000), 0);
    cmd_log_reset(l);
    reset_expect();
    ck_assert_int_eq(append(l, 9, 1, 3000), 0); /* "n9" is as long as "n1" */
    ck_assert_uint_eq(cmd_log_bytes(l), first_frame);
    uint8_t h[FRAME_HDR];
    read_at(h, sizeof(h), FILE_HDR + first_frame);
    ck_assert_uint_eq(get_u64(h + 12), 2); /* the old second frame, whole */

    l = reopen(l);
    ck_assert_uint_eq(cmd_log_bytes(l), first_frame);
    struct seen s;
    ck_assert_int_eq(replay(l, 8, &s), 0);
    ck_assert_int_eq(s.frames, 1);
    ck_assert_uint_eq(s.next, 10);
    cmd_log_close(l);
    reset_expect();
}
END_TEST

START_TEST(void_last_frame)
{
    struct cmd_log *l;
    ck_assert_int_eq(cmd_log_open(path, &l), 0);
    ck_assert_int_eq(cmd_log_void_last(l), -EINVAL); /* nothing appended */
    ck_assert_int_eq(append(l, 1, 2, 0), 0);
    uint64_t before = cmd_log_bytes(l);
    ck_assert_int_eq(append(l, 3, 2, 0), 0);
    ck_assert_int_eq(cmd_log_void_last(l), 0);
    forget(3), forget(4);
    ck_assert_uint_eq(cmd_log_bytes(l), before);
    ck_assert_int_eq(cmd_log_void_last(l), -EINVAL); /* only the last append */

    struct seen s;
    ck_assert_int_eq(replay(l, 0, &s), 0);
    ck_assert_int_eq(s.frames, 1);
    ck_assert_uint_eq(s.next, 3);
    l = reopen(l);
    ck_assert_uint_eq(cmd_log_bytes(l), before);
    ck_assert_int_eq(replay(l, 0, &s), 0);
    ck_assert_int_eq(s.frames, 1);

    /* Index 3 again, other content, in the voided frame's place. */
    ck_assert_int_eq(append(l, 3, 1, 100), 0);
    assert_frame_at(FILE_HDR + before, 3, 1);
    l = reopen(l);
    ck_assert_int_eq(replay(l, 0, &s), 0);
    ck_assert_int_eq(s.frames, 2);
    ck_assert_uint_eq(s.next, 4);

    /* A failed append leaves nothing to void: not the frame before it. */
    ck_assert_int_eq(append(l, 4, 1, 0), 0);
    ck_assert_int_eq(append(l, 9, 1, 0), -EINVAL);
    ck_assert_int_eq(cmd_log_void_last(l), -EINVAL);
    ck_assert_int_eq(replay(l, 0, &s), 0);
    ck_assert_uint_eq(s.next, 5);
    cmd_log_close(l);
    reset_expect();
}
END_TEST

START_TEST(grows_past_4mib)
{
    struct cmd_log *l;
    ck_assert_int_eq(cmd_log_open(path, &l), 0);
    uint64_t idx = 1;
    for (int f = 0; f < 12; f++, idx += 8)
        ck_assert_int_eq(append(l, idx, 8, CMD_VALUE_MAX), 0);
    uint64_t bytes = cmd_log_bytes(l);
    ck_assert_uint_gt(bytes, 6u << 20);
    uint64_t size = file_size();
    ck_assert_uint_ge(size, FILE_HDR + bytes);
    ck_assert_uint_eq(size % (1u << 20), 0);

    l = reopen(l);
    ck_assert_uint_eq(cmd_log_bytes(l), bytes);
    struct seen s;
    ck_assert_int_eq(replay(l, 0, &s), 0);
    ck_assert_int_eq(s.frames, 12);
    ck_assert_uint_eq(s.next, idx);
    cmd_log_close(l);
    reset_expect();
}
END_TEST

/* A growth step that cannot complete (a full disk; here the file size
 * limit) fails before any frame byte is written, gives the space back, and
 * the log goes on once there is room. */
START_TEST(failed_growth_writes_nothing)
{
    struct cmd_log *l;
    ck_assert_int_eq(cmd_log_open(path, &l), 0);
    ck_assert_int_eq(append(l, 1, 10, CMD_VALUE_MAX), 0);
    uint64_t bytes = cmd_log_bytes(l);
    ck_assert_uint_eq(file_size(), 1u << 20);

    struct rlimit old, lim;
    ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = (1u << 20) + 100000; /* part of the step fits */
    signal(SIGXFSZ, SIG_IGN);
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    ck_assert_int_eq(append(l, 11, 20, CMD_VALUE_MAX), -EFBIG);
    ck_assert_uint_eq(file_size(), 1u << 20);
    ck_assert_uint_eq(cmd_log_bytes(l), bytes);
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old), 0);

    ck_assert_int_eq(append(l, 11, 20, CMD_VALUE_MAX), 0);
    l = reopen(l);
    struct seen s;
    ck_assert_int_eq(replay(l, 0, &s), 0);
    ck_assert_int_eq(s.frames, 2);
    ck_assert_uint_eq(s.next, 31);
    cmd_log_close(l);
    reset_expect();
}
END_TEST

static void expect_refused(const void *head, size_t n)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(head, 1, n, f), n);
    fclose(f);
    struct cmd_log *l = NULL;
    ck_assert_int_eq(cmd_log_open(path, &l), -EPROTO);
    ck_assert_ptr_null(l);
}

START_TEST(wrong_magic_or_version)
{
    struct cmd_log *l;
    ck_assert_int_eq(cmd_log_open(path, &l), 0);
    cmd_log_close(l);
    uint8_t h[FILE_HDR + 64] = {0};
    read_at(h, FILE_HDR, 0);

    uint8_t v[sizeof(h)];
    memcpy(v, h, sizeof(h));
    put_u32(v + 8, CMD_LOG_VERSION + 1);
    expect_refused(v, sizeof(v));
    memcpy(v, h, sizeof(h));
    v[0] ^= 1;
    expect_refused(v, sizeof(v));
    expect_refused(h, 10); /* shorter than a header */
    expect_refused("", 0);
    /* The original header is accepted: the refusals above were for cause. */
    write_at(h, sizeof(h), 0);
    ck_assert_int_eq(cmd_log_open(path, &l), 0);
    ck_assert_uint_eq(cmd_log_bytes(l), 0);
    cmd_log_close(l);
}
END_TEST

START_TEST(fn_value_stops_replay)
{
    struct cmd_log *l;
    ck_assert_int_eq(cmd_log_open(path, &l), 0);
    for (uint64_t i = 1; i <= 4; i++)
        ck_assert_int_eq(append(l, i, 1, 0), 0);
    struct seen s;
    memset(&s, 0, sizeof(s));
    s.next = 1;
    s.stop_at = 2;
    s.stop_ret = 42;
    ck_assert_int_eq(cmd_log_replay(l, 0, check_fn, &s), 42);
    ck_assert_int_eq(s.frames, 2);
    s.frames = 0;
    s.next = 1;
    s.stop_ret = -ENOSPC;
    ck_assert_int_eq(cmd_log_replay(l, 0, check_fn, &s), -ENOSPC);
    ck_assert_int_eq(s.frames, 2);
    cmd_log_close(l);
    reset_expect();
}
END_TEST

/* ---- a frame forged inside a command ---- */

/* The image of a frame holding c as command first, its CRC seeded with
 * salt: what anyone who can set an xattr value can put in the log. */
static size_t forge(uint8_t *out, uint64_t first, const struct cmd *c, const uint8_t *salt)
{
    uint8_t *enc;
    size_t n = encode(c, &enc);
    put_u32(out, 0x4c434651u);
    put_u32(out + 4, (uint32_t)(4 + n));
    put_u64(out + 12, first);
    put_u32(out + 20, 1);
    put_u32(out + FRAME_HDR, (uint32_t)n);
    memcpy(out + FRAME_HDR + 4, enc, n);
    free(enc);
    uint32_t crc = crc32c_update(0, salt, 8);
    put_u32(out + 8, crc32c_update(crc, out + 12, FRAME_HDR + 4 + n - 12));
    return FRAME_HDR + 4 + n;
}

/* The size of the frame holding one xattr command of vlen bytes. */
static uint64_t xattr_frame_size(uint64_t idx, uint32_t vlen)
{
    struct tcmd t;
    make_xattr(&t, idx, vlen, 0);
    uint8_t *enc;
    size_t n = encode(&t.c, &enc);
    free(enc);
    free(t.val);
    return FRAME_HDR + 4 + n;
}

/* Logs 2 as an xattr whose value holds a forged frame for 3, voids it, and
 * logs 2 again exactly up to the forged frame. know_salt: the forger read
 * the file's salt; else they guess. Returns whether replay took 3. */
static bool forgery_taken(bool know_salt)
{
    struct cmd_log *l;
    ck_assert_int_eq(cmd_log_open(path, &l), 0);
    uint8_t salt[8] = {0}, h[FILE_HDR];
    read_at(h, FILE_HDR, 0);
    if (know_salt)
        memcpy(salt, h + 16, 8);
    ck_assert_int_eq(append(l, 1, 1, 0), 0);
    uint64_t at = FILE_HDR + cmd_log_bytes(l);

    struct tcmd evil, carrier;
    base(&evil, CMD_SETATTR, 3);
    evil.c.cred.uid = 0; /* root's chmod u+s */
    evil.c.mode = 04777;
    make_xattr(&carrier, 2, 8192, 99);
    size_t glen = forge(carrier.val + 4000, 3, &evil.c, salt);
    const struct cmd *cs[] = {&carrier.c};
    ck_assert_int_eq(cmd_log_append(l, 2, cs, 1), 0);
    ck_assert_int_eq(cmd_log_void_last(l), 0);

    /* Where the forged frame lies in the file. */
    uint8_t frame[16384];
    read_at(frame, sizeof(frame), at);
    uint8_t *g = memmem(frame, sizeof(frame), carrier.val + 4000, glen);
    ck_assert_ptr_nonnull(g);
    uint64_t want = (uint64_t)(g - frame);

    /* A value as long as makes the new frame end right there. */
    uint32_t vlen = 4000;
    for (int i = 0; i < 4 && xattr_frame_size(2, vlen) != want; i++)
        vlen = (uint32_t)((int64_t)vlen + (int64_t)want - (int64_t)xattr_frame_size(2, vlen));
    ck_assert_uint_eq(xattr_frame_size(2, vlen), want);
    ck_assert_int_eq(append(l, 2, 1, vlen), 0);
    ck_assert_uint_eq(FILE_HDR + cmd_log_bytes(l), at + want);
    remember(3, &evil.c); /* check_fn accepts it, should it come */

    l = reopen(l);
    struct seen s;
    ck_assert_int_eq(replay(l, 0, &s), 0);
    bool taken = s.next == 4;
    ck_assert_uint_eq(cmd_log_bytes(l), at + want - FILE_HDR + (taken ? glen : 0));
    cmd_log_close(l);
    free(carrier.val);
    reset_expect();
    ck_assert_int_eq(unlink(path), 0);
    return taken;
}

START_TEST(forged_frame_in_a_value)
{
    /* Whoever set the value cannot read the log, hence not its salt. */
    ck_assert(!forgery_taken(false));
    /* Control: the forged frame is placed right and well-formed (taken when
     * the salt is known), so it was the salt that kept it out above. */
    ck_assert(forgery_taken(true));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cmd_log");
    TCase *tc = tcase_create("log");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, append_reopen_replay);
    tcase_add_test(tc, append_refuses_bad_indexes);
    tcase_add_test(tc, torn_last_frame_flipped);
    tcase_add_test(tc, torn_last_frame_truncated);
    tcase_add_test(tc, reset_leaves_stale_frames);
    tcase_add_test(tc, stale_frame_at_a_boundary);
    tcase_add_test(tc, void_last_frame);
    tcase_add_test(tc, grows_past_4mib);
    tcase_add_test(tc, failed_growth_writes_nothing);
    tcase_add_test(tc, wrong_magic_or_version);
    tcase_add_test(tc, fn_value_stops_replay);
    tcase_add_test(tc, forged_frame_in_a_value);
    suite_add_tcase(s, tc);
    return scratch_run(s);
}
