/* Unit tests of the consensus message codec, malformed input above all. */
#include "consensus/msg_codec.h"

#include "consensus/rng.h"

#include "tests/check_run.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static struct cons_msg m, d;
static uint8_t buf[CONS_MSG_MAX + 64];
static const uint8_t payload[] = "mkdir /a/b";

static void fill(uint8_t type, uint32_t count)
{
    memset(&m, 0, sizeof(m));
    m.type = type;
    m.from = 3;
    m.ballot = 0x1234500;
    m.slot = 77;
    m.commit = 70;
    m.log_start = 5;
    m.next = 0;
    m.trunc = 60;
    m.applied = 69;
    m.promised = 0x9999901;
    m.stamp = 0x123456789abcull;
    m.to = 2;
    m.count = count;
    for (uint32_t i = 0; i < count && type != MSG_ACCEPTED; i++) {
        m.ent[i].slot = 100 + i;
        m.ent[i].ballot = 0x500 + i;
        m.ent[i].flags = i & 1;
        m.ent[i].e = (struct cons_entry){2, 1000 + i, CONS_KIND_CMD, sizeof(payload), payload};
    }
}

static long encode_ok(void)
{
    long n = msg_encode(&m, buf, sizeof(buf));
    ck_assert_int_gt(n, 0);
    ck_assert_uint_eq((size_t)n, msg_encoded_size(&m));
    return n;
}

START_TEST(test_roundtrip_every_type)
{
    for (uint8_t t = 1; t <= MSG_TYPE_MAX; t++) {
        fill(t, 3);
        long n = encode_ok();
        ck_assert_int_eq(msg_decode(buf, (size_t)n, &d), 0);
        ck_assert_uint_eq(d.type, t);
        ck_assert_uint_eq(d.from, 3);
        if (t == MSG_PREPARE || t == MSG_ACCEPT || t == MSG_PROMISE || t == MSG_ACCEPTED ||
            t == MSG_NACK || t == MSG_PREVOTE || t == MSG_PREVOTE_OK || t == MSG_TIMEOUT_NOW)
            ck_assert_uint_eq(d.ballot, m.ballot);
        if (t == MSG_TIMEOUT_NOW)
            ck_assert_uint_eq(d.to, 2);
        if (t == MSG_NACK || t == MSG_PREVOTE_OK)
            ck_assert_uint_eq(d.promised, m.promised);
        if (t == MSG_PREVOTE)
            ck_assert_uint_eq(d.commit, m.commit);
        if (t == MSG_STATE_REQ || t == MSG_STATE_REP)
            ck_assert_uint_eq(d.stamp, m.stamp); /* the rebuild's nonce */
        if (t == MSG_STATE_REQ)
            ck_assert_uint_eq(d.slot, m.slot);
        if (t == MSG_STATE_REP) {
            ck_assert_uint_eq(d.promised, m.promised);
            ck_assert_uint_eq(d.ent[1].slot, 101); /* PROMISE entries */
            ck_assert_uint_eq(d.ent[1].ballot, 0x501);
            ck_assert_uint_eq(d.ent[1].flags, CONS_REC_CHOSEN);
        }
        if (t == MSG_PREPARE || t == MSG_FORWARD || t == MSG_CATCHUP_REQ || t == MSG_NACK ||
            t == MSG_PREVOTE || t == MSG_PREVOTE_OK || t == MSG_TIMEOUT_NOW || t == MSG_STATE_REQ)
            continue;
        ck_assert_uint_eq(d.commit, m.commit);
        ck_assert_uint_eq(d.count, 3);
        if (t == MSG_ACCEPT || t == MSG_ACCEPTED)
            ck_assert_uint_eq(d.stamp, m.stamp); /* the read lease counts from it */
        if (t == MSG_ACCEPTED) {
            ck_assert_uint_eq(d.applied, 69);
            continue;
        }
        ck_assert_uint_eq(d.ent[2].e.req_id, 1002);
        ck_assert_uint_eq(d.ent[2].e.len, sizeof(payload));
        ck_assert_mem_eq(d.ent[2].e.data, payload, sizeof(payload));
    }
    fill(MSG_PROMISE, 2);
    long n = encode_ok();
    ck_assert_int_eq(msg_decode(buf, (size_t)n, &d), 0);
    ck_assert_uint_eq(d.ent[1].slot, 101);
    ck_assert_uint_eq(d.ent[1].ballot, 0x501);
    ck_assert_uint_eq(d.ent[1].flags, CONS_REC_CHOSEN);
    ck_assert_uint_eq(d.log_start, 5);
}
END_TEST

START_TEST(test_every_truncation_is_an_error)
{
    for (uint8_t t = 1; t <= MSG_TYPE_MAX; t++) {
        fill(t, 2);
        long n = encode_ok();
        for (long cut = 0; cut < n; cut++)
            ck_assert_int_lt(msg_decode(buf, (size_t)cut, &d), 0);
        ck_assert_int_eq(msg_decode(buf, (size_t)n + 1, &d), -EBADMSG); /* trailing byte */
    }
}
END_TEST

START_TEST(test_version_type_and_fields)
{
    fill(MSG_ACCEPT, 1);
    long n = encode_ok();
    buf[0] = CONS_WIRE_VERSION + 1;
    ck_assert_int_eq(msg_decode(buf, (size_t)n, &d), -EPROTONOSUPPORT);
    buf[0] = CONS_WIRE_VERSION;
    buf[1] = 0;
    ck_assert_int_eq(msg_decode(buf, (size_t)n, &d), -EBADMSG);
    buf[1] = MSG_TYPE_MAX + 1;
    ck_assert_int_eq(msg_decode(buf, (size_t)n, &d), -EBADMSG);
    buf[1] = 255;
    ck_assert_int_eq(msg_decode(buf, (size_t)n, &d), -EBADMSG);
    buf[1] = MSG_ACCEPT;
    buf[4 + 40 + 2 + 12] = 7; /* entry kind, after five fields and the count */
    ck_assert_int_eq(msg_decode(buf, (size_t)n, &d), -EBADMSG);
}
END_TEST

START_TEST(test_oversized_is_refused)
{
    fill(MSG_FORWARD, 1);
    long n = encode_ok();
    ck_assert_int_eq(msg_decode(buf, CONS_MSG_MAX + 1, &d), -EMSGSIZE);
    /* entry count above the limit */
    buf[4] = 0xff;
    buf[5] = 0xff;
    ck_assert_int_eq(msg_decode(buf, (size_t)n, &d), -EMSGSIZE);
    /* entry length above CONS_CMD_MAX, and one past the end of the buffer */
    fill(MSG_FORWARD, 1);
    n = encode_ok();
    uint8_t *len = buf + 4 + 2 + 13;
    len[0] = 0xff, len[1] = 0xff, len[2] = 0xff, len[3] = 0x7f;
    ck_assert_int_eq(msg_decode(buf, (size_t)n, &d), -EMSGSIZE);
    len[0] = sizeof(payload) + 1, len[1] = len[2] = len[3] = 0;
    ck_assert_int_eq(msg_decode(buf, (size_t)n, &d), -EBADMSG);
    /* the encoder refuses what the decoder would refuse */
    static uint8_t big[CONS_CMD_MAX + 1];
    fill(MSG_FORWARD, 1);
    m.ent[0].e.data = big;
    m.ent[0].e.len = CONS_CMD_MAX + 1;
    ck_assert_int_eq(msg_encode(&m, buf, sizeof(buf)), -EMSGSIZE);
    fill(MSG_FORWARD, 20);
    for (int i = 0; i < 20; i++) {
        m.ent[i].e.data = big;
        m.ent[i].e.len = CONS_CMD_MAX;
    }
    ck_assert_int_eq(msg_encode(&m, buf, sizeof(buf)), -EMSGSIZE);
    fill(MSG_FORWARD, 2);
    ck_assert_int_eq(msg_encode(&m, buf, 10), -EMSGSIZE);
}
END_TEST

/* Random mutations of valid messages and random bytes: an error or a
 * message, never a crash (run under ASan in CI). */
START_TEST(test_garbage_never_crashes)
{
    uint64_t rng = 42;
    int rejected = 0;
    for (int iter = 0; iter < 20000; iter++) {
        fill((uint8_t)(1 + rng_next(&rng) % MSG_TYPE_MAX), (uint32_t)(rng_next(&rng) % 4));
        long n = encode_ok();
        int flips = 1 + (int)(rng_next(&rng) % 4);
        for (int f = 0; f < flips; f++)
            buf[rng_next(&rng) % (uint64_t)n] = (uint8_t)rng_next(&rng);
        size_t len = (size_t)(rng_next(&rng) % 2 ? n : (long)(rng_next(&rng) % (uint64_t)(n + 8)));
        int rc = msg_decode(buf, len, &d);
        ck_assert(rc == 0 || rc == -EBADMSG || rc == -EMSGSIZE || rc == -EPROTONOSUPPORT);
        rejected += rc < 0;
    }
    ck_assert_int_gt(rejected, 1000);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("consensus-codec");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_roundtrip_every_type);
    tcase_add_test(tc, test_every_truncation_is_an_error);
    tcase_add_test(tc, test_version_type_and_fields);
    tcase_add_test(tc, test_oversized_is_refused);
    tcase_add_test(tc, test_garbage_never_crashes);
    suite_add_tcase(s, tc);
    return check_run(s);
}
