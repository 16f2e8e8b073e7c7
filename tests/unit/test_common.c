/* Unit tests for common/: byte order helpers and SHA-256. */
#include "common/bytes.h"
#include "common/crc32c.h"
#include "common/log.h"
#include "common/sha256.h"

#include "tests/check_run.h"
#include <string.h>

START_TEST(test_sha256_known_vector)
{
    uint8_t d[SHA256_LEN];
    char hex[SHA256_HEX_LEN + 1];
    ck_assert_int_eq(sha256("abc", 3, d), 0);
    sha256_hex(d, hex);
    ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    ck_assert_int_eq(sha256("", 0, d), 0);
    sha256_hex(d, hex);
    ck_assert_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}
END_TEST

/* RFC 3720's check value; pieces give the same CRC as the whole. */
START_TEST(test_crc32c_known_vector)
{
    const char *s = "123456789";
    ck_assert_uint_eq(crc32c_update(0, s, 9), 0xe3069283u);
    ck_assert_uint_eq(crc32c_update(crc32c_update(0, s, 4), s + 4, 5), 0xe3069283u);
    ck_assert_uint_eq(crc32c_update(0, s, 0), 0);
    uint8_t zeros[32] = {0};
    ck_assert_uint_eq(crc32c_update(0, zeros, sizeof(zeros)), 0x8a9136aau);
}
END_TEST

/* The instruction path and the table agree at every length and alignment,
 * on one lane and on three (from 12 KiB), continued or not (on a CPU
 * without SSE4.2 this compares the table with itself; CI's machines have
 * it). */
START_TEST(test_crc32c_fast_path_matches_table)
{
    static uint8_t buf[(64 << 10) + 16];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof(buf); i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (uint8_t)(x >> 16);
    }
    for (size_t off = 0; off < 9; off++)
        for (size_t len = 0; len + off <= sizeof(buf); len += len < 64 ? 1 : 4093) {
            uint32_t want = crc32c_update_table(7, buf + off, len);
            ck_assert_uint_eq(crc32c_update(7, buf + off, len), want);
            size_t half = len / 3;
            ck_assert_uint_eq(
                crc32c_update(crc32c_update(7, buf + off, half), buf + off + half, len - half),
                want);
        }
}
END_TEST

START_TEST(test_bytes_roundtrip)
{
    uint8_t b[8];
    put_u64(b, 0x0102030405060708ull);
    ck_assert_uint_eq(b[0], 8);
    ck_assert_uint_eq(get_u64(b), 0x0102030405060708ull);
    put_u64_be(b, 0x0102030405060708ull);
    ck_assert_uint_eq(b[0], 1);
    ck_assert_uint_eq(get_u64_be(b), 0x0102030405060708ull);
    put_u32(b, 0xdeadbeef);
    ck_assert_uint_eq(get_u32(b), 0xdeadbeef);
    put_u16(b, 0xbeef);
    ck_assert_uint_eq(get_u16(b), 0xbeef);
}
END_TEST

START_TEST(test_log_limit_counts_what_it_leaves_out)
{
    struct log_limit l = {0};
    uint64_t n = 99;
    ck_assert(log_limit_pass(&l, &n));
    ck_assert_uint_eq(n, 0);
    for (int i = 0; i < 5; i++)
        ck_assert(!log_limit_pass(&l, &n));
    l.next_ms = 0; /* as if LOG_LIMIT_MS had passed */
    ck_assert(log_limit_pass(&l, &n));
    ck_assert_uint_eq(n, 5);
    ck_assert(!log_limit_pass(&l, &n));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("common");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_sha256_known_vector);
    tcase_add_test(tc, test_crc32c_known_vector);
    tcase_add_test(tc, test_crc32c_fast_path_matches_table);
    tcase_add_test(tc, test_bytes_roundtrip);
    tcase_add_test(tc, test_log_limit_counts_what_it_leaves_out);
    suite_add_tcase(s, tc);
    return check_run(s);
}
