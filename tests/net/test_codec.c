/* Unit tests of the frame header and message codecs, mostly with malformed input. */
#include "net/frame.h"
#include "net/msg.h"

#include "common/bytes.h"

#include "tests/check_run.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

START_TEST(test_header_roundtrip)
{
    uint8_t b[FRAME_HDR_LEN];
    struct frame_hdr h;
    frame_encode_header(b, FT_PUSH_BATCH, FRAME_F_URGENT, 1234);
    ck_assert_int_eq(frame_decode_header(b, sizeof(b), &h), 0);
    ck_assert_uint_eq(h.type, FT_PUSH_BATCH);
    ck_assert_uint_eq(h.flags, FRAME_F_URGENT);
    ck_assert_uint_eq(h.len, 1234);
    ck_assert_uint_eq(h.version, FRAME_VERSION);
    ck_assert_int_eq(frame_decode_header(b, FRAME_HDR_LEN - 1, &h), -EAGAIN);
}
END_TEST

START_TEST(test_header_rejects)
{
    uint8_t b[FRAME_HDR_LEN];
    struct frame_hdr h;
    frame_encode_header(b, FT_PING, 0, MSG_PING_LEN);
    b[0] ^= 1; /* magic */
    ck_assert_int_eq(frame_decode_header(b, sizeof(b), &h), -EPROTO);
    frame_encode_header(b, FT_PING, 0, MSG_PING_LEN);
    b[4] = FRAME_VERSION - 1; /* the previous release: told apart from garbage */
    ck_assert_int_eq(frame_decode_header(b, sizeof(b), &h), -EPROTONOSUPPORT);
    b[4] = FRAME_VERSION + 1;
    ck_assert_int_eq(frame_decode_header(b, sizeof(b), &h), -EPROTONOSUPPORT);
    for (unsigned t = 0; t < 256; t++) {
        frame_encode_header(b, t, 0, 0);
        int want = (t >= 1 && t <= FT_MAX_) ? 0 : -EPROTO;
        ck_assert_int_eq(frame_decode_header(b, sizeof(b), &h), want);
    }
    frame_encode_header(b, FT_PING, 0x0100, MSG_PING_LEN); /* unknown flag */
    ck_assert_int_eq(frame_decode_header(b, sizeof(b), &h), -EPROTO);
}
END_TEST

START_TEST(test_header_bounds)
{
    uint8_t b[FRAME_HDR_LEN];
    struct frame_hdr h;
    for (unsigned t = 1; t <= FT_MAX_; t++) {
        uint32_t max = frame_max_payload(t);
        ck_assert_uint_gt(max, 0);
        ck_assert_uint_le(max, FRAME_PAYLOAD_MAX);
        frame_encode_header(b, t, 0, max);
        ck_assert_int_eq(frame_decode_header(b, sizeof(b), &h), 0);
        frame_encode_header(b, t, 0, max + 1);
        ck_assert_int_eq(frame_decode_header(b, sizeof(b), &h), -EMSGSIZE);
    }
    frame_encode_header(b, FT_CONSENSUS, 0, UINT32_MAX);
    ck_assert_int_eq(frame_decode_header(b, sizeof(b), &h), -EMSGSIZE);
    ck_assert_str_eq(frame_type_name(FT_FETCH_RESP), "fetch-resp");
    ck_assert_str_eq(frame_type_name(FT_PUSH_DROPPED), "push-dropped");
    ck_assert_uint_eq(frame_max_payload(FT_PUSH_DROPPED),
                      MSG_LIST_HDR_LEN + MSG_BATCH_MAX_CHUNKS * 32);
    ck_assert_str_eq(frame_type_name(77), "unknown");
}
END_TEST

START_TEST(test_hello_ping)
{
    uint8_t id[32], b[64];
    struct msg_hello h;
    struct msg_ping p;
    memset(id, 7, sizeof(id));
    size_t n = msg_hello_encode(b, id, CHAN_BULK);
    ck_assert_int_eq(msg_hello_decode(b, n, &h), 0);
    ck_assert_uint_eq(h.channel, CHAN_BULK);
    ck_assert_mem_eq(h.node_id, id, 32);
    ck_assert_int_eq(msg_hello_decode(b, n - 1, &h), -EPROTO);
    ck_assert_int_eq(msg_hello_decode(b, n + 1, &h), -EPROTO);
    b[32] = CHAN_COUNT_;
    ck_assert_int_eq(msg_hello_decode(b, n, &h), -EPROTO);
    n = msg_ping_encode(b, 5, 99);
    ck_assert_int_eq(msg_ping_decode(b, n, &p), 0);
    ck_assert_uint_eq(p.seq, 5);
    ck_assert_uint_eq(p.sent_ns, 99);
    ck_assert_int_eq(msg_ping_decode(b, n - 1, &p), -EPROTO);
}
END_TEST

/* A batch of three chunks of sizes 0, 10 and 300. */
static size_t make_batch(uint8_t *b, size_t cap)
{
    static uint8_t data[300];
    uint8_t h[32];
    size_t pos = msg_push_begin(b, 42);
    const uint32_t lens[] = {0, 10, 300};
    for (int i = 0; i < 3; i++) {
        memset(h, i, sizeof(h));
        ck_assert_int_eq(msg_push_add(b, cap, &pos, h, data, lens[i]), 0);
    }
    msg_push_finish(b, 3);
    return pos;
}

START_TEST(test_push_roundtrip)
{
    uint8_t b[1024];
    size_t n = make_batch(b, sizeof(b));
    struct msg_push m;
    struct msg_push_iter it;
    struct msg_chunk c;
    ck_assert_int_eq(msg_push_decode(b, n, &m), 0);
    ck_assert_uint_eq(m.batch_id, 42);
    ck_assert_uint_eq(m.count, 3);
    msg_push_iter_init(&m, &it);
    const uint32_t lens[] = {0, 10, 300};
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(msg_push_next(&it, &c), 1);
        ck_assert_uint_eq(c.len, lens[i]);
        ck_assert_uint_eq(c.hash[0], i);
    }
    ck_assert_int_eq(msg_push_next(&it, &c), 0);
    /* No room: the builder refuses rather than overflowing. */
    size_t pos = MSG_LIST_HDR_LEN;
    ck_assert_int_eq(msg_push_add(b, 40, &pos, b, b, 10), -ENOSPC);
    ck_assert_int_eq(msg_push_add(b, sizeof(b), &pos, b, b, NET_CHUNK_MAX + 1), -ENOSPC);
}
END_TEST

START_TEST(test_push_malformed)
{
    uint8_t b[1024];
    size_t n = make_batch(b, sizeof(b));
    struct msg_push m;
    for (size_t len = 0; len < n; len++) /* every truncation */
        ck_assert_int_eq(msg_push_decode(b, len, &m), -EPROTO);
    ck_assert_int_eq(msg_push_decode(b, n + 1, &m), -EPROTO); /* trailing byte */
    put_u32(b + 8, 4);                                        /* count too high */
    ck_assert_int_eq(msg_push_decode(b, n, &m), -EPROTO);
    put_u32(b + 8, 2); /* count too low: trailing chunk */
    ck_assert_int_eq(msg_push_decode(b, n, &m), -EPROTO);
    put_u32(b + 8, MSG_BATCH_MAX_CHUNKS + 1);
    ck_assert_int_eq(msg_push_decode(b, n, &m), -EPROTO);
    n = make_batch(b, sizeof(b));
    put_u32(b + MSG_LIST_HDR_LEN + 32, 0xffffffffu); /* a chunk length past the end */
    ck_assert_int_eq(msg_push_decode(b, n, &m), -EPROTO);
}
END_TEST

START_TEST(test_lists)
{
    uint8_t b[MSG_LIST_HDR_LEN + 4 * 33], hash[32] = {3};
    struct msg_list l;
    msg_list_hdr_encode(b, 9, 2);
    size_t pos = msg_ack_entry_put(b, MSG_LIST_HDR_LEN, hash, ST_OK);
    pos = msg_ack_entry_put(b, pos, hash, ST_BAD_HASH);
    ck_assert_int_eq(msg_ack_decode(b, pos, &l), 0);
    const uint8_t *h;
    uint8_t st;
    msg_ack_entry(&l, 1, &h, &st);
    ck_assert_uint_eq(st, ST_BAD_HASH);
    ck_assert_int_eq(msg_ack_decode(b, pos - 1, &l), -EPROTO);
    b[pos - 1] = ST_MAX_ + 1;
    ck_assert_int_eq(msg_ack_decode(b, pos, &l), -EPROTO);
    /* hash lists: length must be exactly count * 32, count within the bound */
    msg_list_hdr_encode(b, 1, 2);
    ck_assert_int_eq(msg_hashes_decode(b, MSG_LIST_HDR_LEN + 64, MSG_FETCH_MAX, &l), 0);
    ck_assert_int_eq(msg_hashes_decode(b, MSG_LIST_HDR_LEN + 63, MSG_FETCH_MAX, &l), -EPROTO);
    ck_assert_int_eq(msg_hashes_decode(b, MSG_LIST_HDR_LEN + 64, 1, &l), -EPROTO);
    ck_assert_int_eq(msg_hashes_decode(b, 11, MSG_FETCH_MAX, &l), -EPROTO);
    /* have queries: exactly count hash prefixes of 16 bytes, count within the bound */
    ck_assert_int_eq(msg_have_query_decode(b, MSG_LIST_HDR_LEN + 2 * MSG_HAVE_PREFIX_LEN, &l), 0);
    ck_assert_int_eq(msg_have_query_decode(b, MSG_LIST_HDR_LEN + 64, &l), -EPROTO);
    ck_assert_int_eq(msg_have_query_decode(b, MSG_LIST_HDR_LEN + 31, &l), -EPROTO);
    msg_list_hdr_encode(b, 1, MSG_HAVE_MAX + 1);
    ck_assert_int_eq(msg_have_query_decode(b, MSG_LIST_HDR_LEN, &l), -EPROTO);
    /* have answers: a bitmap of ceil(count / 8) bytes */
    msg_list_hdr_encode(b, 1, 9);
    b[MSG_LIST_HDR_LEN] = 0x01;
    b[MSG_LIST_HDR_LEN + 1] = 0x01;
    ck_assert_int_eq(msg_have_answer_decode(b, MSG_LIST_HDR_LEN + 2, &l), 0);
    ck_assert_int_eq(msg_have_answer_bit(&l, 0), 1);
    ck_assert_int_eq(msg_have_answer_bit(&l, 1), 0);
    ck_assert_int_eq(msg_have_answer_bit(&l, 8), 1);
    ck_assert_int_eq(msg_have_answer_decode(b, MSG_LIST_HDR_LEN + 1, &l), -EPROTO);
    msg_list_hdr_encode(b, 1, MSG_HAVE_MAX + 8);
    ck_assert_int_eq(msg_have_answer_decode(b, MSG_LIST_HDR_LEN + 2, &l), -EPROTO);
}
END_TEST

START_TEST(test_fetch_resp)
{
    uint8_t b[MSG_FETCH_RESP_HDR_LEN + 8], h[32] = {1};
    struct msg_fetch_resp m;
    size_t n = msg_fetch_resp_hdr_encode(b, 3, h, ST_OK, 8);
    ck_assert_int_eq(msg_fetch_resp_decode(b, n + 8, &m), 0);
    ck_assert_uint_eq(m.len, 8);
    ck_assert_uint_eq(m.req_id, 3);
    ck_assert_int_eq(msg_fetch_resp_decode(b, n + 7, &m), -EPROTO);
    msg_fetch_resp_hdr_encode(b, 3, h, ST_NOT_FOUND, 8); /* data with a failure status */
    ck_assert_int_eq(msg_fetch_resp_decode(b, n + 8, &m), -EPROTO);
    msg_fetch_resp_hdr_encode(b, 3, h, ST_NOT_FOUND, 0);
    ck_assert_int_eq(msg_fetch_resp_decode(b, n, &m), 0);
    msg_fetch_resp_hdr_encode(b, 3, h, 9, 0);
    ck_assert_int_eq(msg_fetch_resp_decode(b, n, &m), -EPROTO);
    msg_fetch_resp_hdr_encode(b, 3, h, ST_OK, NET_CHUNK_MAX + 1);
    ck_assert_int_eq(msg_fetch_resp_decode(b, n, &m), -EPROTO);
    ck_assert_int_eq(msg_fetch_resp_decode(b, n - 1, &m), -EPROTO);
}
END_TEST

/* Random bytes never crash a decoder (the fuzzers go much further). */
START_TEST(test_random_input)
{
    uint8_t b[512];
    srand(1);
    for (int round = 0; round < 20000; round++) {
        size_t n = (size_t)rand() % sizeof(b);
        for (size_t i = 0; i < n; i++)
            b[i] = (uint8_t)rand();
        struct msg_push m;
        struct msg_list l;
        struct msg_fetch_resp f;
        struct frame_hdr h;
        if (msg_push_decode(b, n, &m) == 0) {
            struct msg_push_iter it;
            struct msg_chunk c;
            msg_push_iter_init(&m, &it);
            while (msg_push_next(&it, &c))
                ck_assert_uint_le(c.len, n);
        }
        msg_ack_decode(b, n, &l);
        msg_have_answer_decode(b, n, &l);
        msg_hashes_decode(b, n, MSG_HAVE_MAX, &l);
        msg_have_query_decode(b, n, &l);
        msg_fetch_resp_decode(b, n, &f);
        frame_decode_header(b, n, &h);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("net-codec");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_header_roundtrip);
    tcase_add_test(tc, test_header_rejects);
    tcase_add_test(tc, test_header_bounds);
    tcase_add_test(tc, test_hello_ping);
    tcase_add_test(tc, test_push_roundtrip);
    tcase_add_test(tc, test_push_malformed);
    tcase_add_test(tc, test_lists);
    tcase_add_test(tc, test_fetch_resp);
    tcase_add_test(tc, test_random_input);
    suite_add_tcase(s, tc);
    return check_run(s);
}
