/* Unit tests of the snapshot transfer payloads (fs/cluster/snapshot_msg.h):
 * round trips, then every kind of malformed input, which must be -EPROTO. */
#include "fs/cluster/snapshot_msg.h"
#include "net/frame.h"

#include "common/bytes.h"

#include "tests/check_run.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

START_TEST(test_req_roundtrip_and_rejects)
{
    uint8_t b[SNAP_REQ_LEN + 1];
    struct snap_req in = {0x1122334455667788ull, 42}, out;
    ck_assert_uint_eq(snap_req_encode(&in, b), SNAP_REQ_LEN);
    ck_assert_uint_le(SNAP_REQ_LEN, frame_max_payload(FT_SNAP_REQ));
    ck_assert_int_eq(snap_req_decode(b, SNAP_REQ_LEN, &out), 0);
    ck_assert_uint_eq(out.xfer, in.xfer);
    ck_assert_uint_eq(out.applied, 42);
    ck_assert_int_eq(snap_req_decode(b, SNAP_REQ_LEN - 1, &out), -EPROTO); /* short */
    ck_assert_int_eq(snap_req_decode(b, SNAP_REQ_LEN + 1, &out), -EPROTO); /* trailing */
    b[0] = SNAP_MSG_VERSION + 1;
    ck_assert_int_eq(snap_req_decode(b, SNAP_REQ_LEN, &out), -EPROTO); /* version */
}
END_TEST

/* A piece of n bytes at off of a total-byte file, encoded in buf. */
static size_t piece(uint8_t *buf, uint64_t off, uint64_t total, uint32_t n)
{
    struct snap_data m = {SNAP_OK, 7, off, total, n, NULL};
    snap_data_hdr_encode(&m, buf);
    memset(buf + SNAP_DATA_HDR_LEN, 0xab, n);
    return SNAP_DATA_HDR_LEN + n;
}

START_TEST(test_data_roundtrip)
{
    uint8_t *b = malloc(SNAP_DATA_HDR_LEN + SNAP_PIECE_MAX);
    ck_assert_uint_le(SNAP_DATA_HDR_LEN + SNAP_PIECE_MAX, frame_max_payload(FT_SNAP_DATA));
    struct snap_data m;
    size_t len = piece(b, 4096, 1 << 30, SNAP_PIECE_MAX);
    ck_assert_int_eq(snap_data_decode(b, len, &m), 0);
    ck_assert_uint_eq(m.status, SNAP_OK);
    ck_assert_uint_eq(m.xfer, 7);
    ck_assert_uint_eq(m.offset, 4096);
    ck_assert_uint_eq(m.total, 1 << 30);
    ck_assert_uint_eq(m.len, SNAP_PIECE_MAX);
    ck_assert_ptr_eq(m.piece, b + SNAP_DATA_HDR_LEN);
    len = piece(b, 100, 101, 1); /* the last byte */
    ck_assert_int_eq(snap_data_decode(b, len, &m), 0);
    struct snap_data busy = {.status = SNAP_BUSY, .xfer = 9};
    snap_data_hdr_encode(&busy, b);
    ck_assert_int_eq(snap_data_decode(b, SNAP_DATA_HDR_LEN, &m), 0);
    ck_assert_uint_eq(m.status, SNAP_BUSY);
    ck_assert_uint_eq(m.xfer, 9);
    free(b);
}
END_TEST

START_TEST(test_data_rejects)
{
    uint8_t b[SNAP_DATA_HDR_LEN + 64];
    struct snap_data m;
    size_t len = piece(b, 0, 1000, 10);
    ck_assert_int_eq(snap_data_decode(b, SNAP_DATA_HDR_LEN - 1, &m), -EPROTO); /* no header */
    ck_assert_int_eq(snap_data_decode(b, len - 1, &m), -EPROTO);               /* short piece */
    ck_assert_int_eq(snap_data_decode(b, len + 1, &m), -EPROTO);               /* trailing */
    b[0] = 2;
    ck_assert_int_eq(snap_data_decode(b, len, &m), -EPROTO); /* version */
    len = piece(b, 0, 1000, 10);
    b[1] = SNAP_STATUS_MAX_ + 1;
    ck_assert_int_eq(snap_data_decode(b, len, &m), -EPROTO); /* status */
    len = piece(b, 995, 1000, 10);
    ck_assert_int_eq(snap_data_decode(b, len, &m), -EPROTO); /* past the end */
    len = piece(b, UINT64_MAX - 4, 1000, 10);
    ck_assert_int_eq(snap_data_decode(b, len, &m), -EPROTO); /* offset overflows */
    len = piece(b, 0, 0, 0);
    ck_assert_int_eq(snap_data_decode(b, len, &m), -EPROTO); /* empty piece */
    len = piece(b, 0, SNAP_TOTAL_MAX + 1, 10);
    ck_assert_int_eq(snap_data_decode(b, len, &m), -EPROTO); /* absurd size */
    put_u32(b + 26, SNAP_PIECE_MAX + 1);
    ck_assert_int_eq(snap_data_decode(b, len, &m), -EPROTO); /* length field too big */
    struct snap_data busy = {.status = SNAP_BUSY, .xfer = 9, .total = 5};
    snap_data_hdr_encode(&busy, b);
    ck_assert_int_eq(snap_data_decode(b, SNAP_DATA_HDR_LEN, &m), -EPROTO); /* refusal + size */
}
END_TEST

START_TEST(test_frame_types)
{
    ck_assert_str_eq(frame_type_name(FT_SNAP_REQ), "snap-req");
    ck_assert_str_eq(frame_type_name(FT_SNAP_DATA), "snap-data");
    uint8_t h[FRAME_HDR_LEN];
    struct frame_hdr hdr;
    frame_encode_header(h, FT_SNAP_DATA, 0, NET_SNAP_DATA_MAX + 1);
    ck_assert_int_eq(frame_decode_header(h, sizeof(h), &hdr), -EMSGSIZE);
    frame_encode_header(h, FT_SNAP_REQ, 0, NET_SNAP_REQ_MAX + 1);
    ck_assert_int_eq(frame_decode_header(h, sizeof(h), &hdr), -EMSGSIZE);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("snapshot_msg");
    TCase *tc = tcase_create("codec");
    tcase_add_test(tc, test_req_roundtrip_and_rejects);
    tcase_add_test(tc, test_data_roundtrip);
    tcase_add_test(tc, test_data_rejects);
    tcase_add_test(tc, test_frame_types);
    suite_add_tcase(s, tc);
    return check_run(s);
}
