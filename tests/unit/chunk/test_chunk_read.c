/* Unit tests for chunk_store_read: byte ranges across block and piece
 * boundaries, checks of only the blocks read, and the records of older
 * formats (2: one CRC for the whole chunk; 1: the hash). */
#include "common/crc32c.h"
#include "fs/chunk/chunk_format.h"
#include "fs/chunk/chunk_store.h"
#include "fs/chunk/chunker.h"
#include "tests/unit/chunk/chunk_testutil.h"
#include "tests/unit/chunk/corrupt.h"

#include "tests/unit/scratch.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Around blocks (4096) and the pieces of 1- and 16-page pieces (4080, 65520). */
static const uint32_t sizes[] = {1, 4096, 4097, 65521, 131041, CHUNK_MAX};
#define NSIZES (sizeof(sizes) / sizeof(sizes[0])) /* at most TU_NBUFS */

/* A store in d with pieces of `pages` pages holding the chunk set c. */
static void store_set(const char *d, struct chunk_ref *c, uint64_t seed, uint32_t pages)
{
    struct chunk_store *cs;
    struct chunk_store_opts o = {.piece_pages = pages};
    for (size_t i = 0; i < NSIZES; i++)
        tu_make_chunk(&c[i], tu.bufs + i * CHUNK_MAX, sizes[i], seed + i);
    ck_assert_int_eq(chunk_store_open_opts(d, &o, &cs), 0);
    ck_assert_int_eq(chunk_store_put_batch(cs, c, NSIZES), 0);
    chunk_store_close(cs);
}

/* Reads [off, off + len) of c and compares with what was put. */
static void expect_range(struct chunk_store *cs, const struct chunk_ref *c, uint32_t off,
                         uint32_t len)
{
    uint32_t want = off >= c->len ? 0 : (c->len - off < len ? c->len - off : len);
    memset(tu.out, 0xa5, CHUNK_MAX);
    ck_assert_int_eq(chunk_store_read(cs, c->hash, off, tu.out, len), (int)want);
    ck_assert_msg(memcmp(tu.out, c->data + (want ? off : 0), want) == 0, "chunk of %u: [%u, +%u)",
                  c->len, off, len);
}

static void expect_ranges(struct chunk_store *cs, const struct chunk_ref *c)
{
    static const uint32_t offs[] = {0, 1, 4079, 4080, 4095, 4096, 4097, 65519, 65520, 131040};
    static const uint32_t lens[] = {1, 2, 4096, 5000, 70000, CHUNK_MAX};
    for (size_t o = 0; o < sizeof(offs) / sizeof(offs[0]); o++)
        for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++)
            expect_range(cs, c, offs[o], lens[l]);
    expect_range(cs, c, c->len - 1, 4096);
    expect_range(cs, c, c->len, 4096);
    expect_range(cs, c, c->len + 7, 4096);
}

/* With 16-page pieces and with 1-page pieces (blocks then straddle pieces). */
START_TEST(test_ranges_read_back)
{
    static const uint32_t pages[] = {16, 1};
    for (size_t p = 0; p < 2; p++) {
        struct chunk_store *cs;
        struct chunk_ref c[NSIZES];
        char sub[128];
        snprintf(sub, sizeof(sub), "%s/p%u", tu.dir, pages[p]);
        store_set(sub, c, 10 * p + 1, pages[p]);
        ck_assert_int_eq(chunk_store_open(sub, &cs), 0);
        for (size_t i = 0; i < NSIZES; i++)
            expect_ranges(cs, &c[i]);
        uint8_t absent[SHA256_LEN] = {0xee};
        ck_assert_int_eq(chunk_store_read(cs, absent, 0, tu.out, 4096), -ENOENT);
        chunk_store_close(cs);
    }
}
END_TEST

/* One damaged byte fails the reads of its block only: a read elsewhere in
 * the chunk checks (and needs) only its own blocks. corrupt_chunk damages
 * the middle byte of a piece: of piece 1 of a 256 KiB chunk, byte 98280,
 * in block 23. */
START_TEST(test_damage_fails_its_block_only)
{
    struct chunk_store *cs;
    struct chunk_ref c[NSIZES];
    uint8_t named[SHA256_LEN];
    uint32_t len;
    store_set(tu.dir, c, 20, 16);
    ck_assert_int_eq(corrupt_chunk(tu.dir, c[5].hash, 1, named), 0);
    ck_assert_int_eq(chunk_store_open(tu.dir, &cs), 0);
    const uint32_t bad = 65520 + 65520 / 2, block = bad / CHUNK_CRC_BLOCK;
    ck_assert_int_eq(chunk_store_read(cs, c[5].hash, bad, tu.out, 1), -EIO);
    ck_assert_int_eq(chunk_store_read(cs, c[5].hash, block * CHUNK_CRC_BLOCK, tu.out, 1), -EIO);
    ck_assert_int_eq(chunk_store_read(cs, c[5].hash, bad - 5000, tu.out, 5001), -EIO);
    ck_assert_int_eq(chunk_store_read(cs, c[5].hash, 0, tu.out, CHUNK_MAX), -EIO);
    ck_assert_int_eq(chunk_store_get(cs, c[5].hash, tu.out, CHUNK_MAX, &len), -EIO);
    expect_range(cs, &c[5], 0, 4096);
    expect_range(cs, &c[5], block * CHUNK_CRC_BLOCK - 4096, 4096);
    expect_range(cs, &c[5], (block + 1) * CHUNK_CRC_BLOCK, 65536);
    chunk_store_close(cs);
}
END_TEST

/* A damaged CRC in the record fails its block, not the others. */
START_TEST(test_record_crc_fails_its_block_only)
{
    struct chunk_store *cs;
    struct chunk_ref c[NSIZES];
    store_set(tu.dir, c, 30, 16);
    ck_assert_int_eq(corrupt_record_crc(tu.dir, c[4].hash, 3), 0);
    ck_assert_int_eq(chunk_store_open(tu.dir, &cs), 0);
    ck_assert_int_eq(chunk_store_read(cs, c[4].hash, 3 * CHUNK_CRC_BLOCK + 100, tu.out, 10), -EIO);
    ck_assert_int_eq(chunk_store_read(cs, c[4].hash, 3 * CHUNK_CRC_BLOCK - 10, tu.out, 20), -EIO);
    expect_range(cs, &c[4], 0, 3 * CHUNK_CRC_BLOCK);
    expect_range(cs, &c[4], 4 * CHUNK_CRC_BLOCK, 8192);
    chunk_store_close(cs);
}
END_TEST

/* A chunk stored by format 2 has one CRC for all of it: its ranges read
 * back, and one damaged byte fails every read of it, since the whole chunk
 * is what can be checked. Opening marks the store format 3. */
START_TEST(test_format2_records_checked_whole)
{
    struct chunk_store *cs;
    struct chunk_ref c[NSIZES];
    uint8_t named[SHA256_LEN];
    uint32_t version = 0;
    store_set(tu.dir, c, 40, 16);
    for (size_t i = 0; i < NSIZES; i++)
        ck_assert_int_eq(corrupt_make_v2(tu.dir, c[i].hash, crc32c_update(0, c[i].data, c[i].len)),
                         0);
    ck_assert_int_eq(chunk_store_open(tu.dir, &cs), 0);
    for (size_t i = 0; i < NSIZES; i++)
        expect_ranges(cs, &c[i]);
    chunk_store_close(cs);
    ck_assert_int_eq(corrupt_get_meta_u32(tu.dir, CHUNK_META_FORMAT, &version), 0);
    ck_assert_uint_eq(version, CHUNK_FORMAT_VERSION);

    ck_assert_int_eq(corrupt_chunk(tu.dir, c[5].hash, 1, named), 0);
    ck_assert_int_eq(corrupt_make_v2(tu.dir, c[3].hash, 0x12345678), 0); /* a wrong CRC */
    ck_assert_int_eq(chunk_store_open(tu.dir, &cs), 0);
    ck_assert_int_eq(chunk_store_read(cs, c[5].hash, 0, tu.out, 4096), -EIO);
    ck_assert_int_eq(chunk_store_read(cs, c[3].hash, 0, tu.out, 1), -EIO);
    expect_range(cs, &c[4], 5, 4096);
    chunk_store_close(cs);
}
END_TEST

/* A chunk stored by format 1 (no CRC) is read by range and checked against
 * its hash. */
START_TEST(test_format1_ranges_checked_by_hash)
{
    struct chunk_store *cs;
    struct chunk_ref c[NSIZES];
    uint8_t named[SHA256_LEN];
    store_set(tu.dir, c, 50, 16);
    ck_assert_int_eq(corrupt_make_v1(tu.dir, c[5].hash), 0);
    ck_assert_int_eq(corrupt_make_v1(tu.dir, c[4].hash), 0);
    ck_assert_int_eq(chunk_store_open(tu.dir, &cs), 0);
    expect_ranges(cs, &c[5]);
    chunk_store_close(cs);
    ck_assert_int_eq(corrupt_chunk(tu.dir, c[4].hash, 1, named), 0);
    ck_assert_int_eq(chunk_store_open(tu.dir, &cs), 0);
    ck_assert_int_eq(chunk_store_read(cs, c[4].hash, 0, tu.out, 4096), -EIO);
    expect_range(cs, &c[5], 65520, 4096);
    chunk_store_close(cs);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("chunk_read");
    TCase *tc = tcase_create("read");
    tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_ranges_read_back);
    tcase_add_test(tc, test_damage_fails_its_block_only);
    tcase_add_test(tc, test_record_crc_fails_its_block_only);
    tcase_add_test(tc, test_format2_records_checked_whole);
    tcase_add_test(tc, test_format1_ranges_checked_by_hash);
    suite_add_tcase(s, tc);
    return scratch_run(s);
}
