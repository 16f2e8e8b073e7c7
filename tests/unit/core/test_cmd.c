/* Command codec: round trips of every op, and malformed input. */
#include "fs/core/cmd.h"

#include "tests/check_run.h"
#include <errno.h>
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

START_TEST(random_bytes_never_crash)
{
    uint8_t buf[512];
    struct cmd b;
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < 20000; i++) {
        size_t len = (size_t)(x % sizeof(buf));
        for (size_t j = 0; j < len; j++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            buf[j] = (uint8_t)x;
        }
        if (len > 2)
            buf[0] = CMD_VERSION, buf[1] = (uint8_t)(1 + x % (CMD_OP_END - 1));
        int rc = cmd_decode(buf, len, &b);
        ck_assert(rc == 0 || rc == -EPROTO || rc == -EINVAL);
    }
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
    suite_add_tcase(s, tc);
    return check_run(s);
}
