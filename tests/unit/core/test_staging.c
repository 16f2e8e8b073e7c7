/* test_staging.c - staging on its own: pages, gap fills, the bound's
 * accounting, reads of staged bytes and the regions a commit re-cuts,
 * checked against a plain byte-array model of the file. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "fs/core/staging.h"
#include "tests/check_run.h"

#define FILE_LEN (1u << 20) /* the model's file: 1 MiB */

struct model {
    uint8_t bytes[FILE_LEN];  /* committed content overlaid with staged writes */
    uint8_t staged[FILE_LEN]; /* 1 where the staging holds the byte */
    unsigned fills;           /* calls of the fill function */
    size_t filled;            /* bytes it filled */
};

static struct staging stg;
static struct model *m;

/* Committed content: a pattern of the offset. */
static uint8_t committed(uint64_t off)
{
    return (uint8_t)(off * 7 + 3);
}

static int fill(void *ctx, uint64_t off, uint8_t *dst, size_t len)
{
    struct model *mm = ctx;
    for (size_t i = 0; i < len; i++)
        dst[i] = committed(off + i);
    mm->fills++;
    mm->filled += len;
    return 0;
}

static void setup(void)
{
    ck_assert_int_eq(staging_init(&stg, 64u << 20), 0);
    m = malloc(sizeof(*m));
    ck_assert_ptr_nonnull(m);
    for (uint64_t i = 0; i < FILE_LEN; i++)
        m->bytes[i] = committed(i);
    memset(m->staged, 0, sizeof(m->staged));
    m->fills = 0;
    m->filled = 0;
}

static void teardown(void)
{
    free(m);
    staging_destroy(&stg);
}

/* Writes len bytes of a seeded pattern at off, to the staging and the model. */
static void put(struct sfile *sf, uint64_t off, size_t len, unsigned seed)
{
    uint8_t *buf = malloc(len);
    ck_assert_ptr_nonnull(buf);
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(seed * 31 + i);
    ck_assert_int_eq(staging_write(&stg, sf, off, buf, len, fill, m), 0);
    memcpy(m->bytes + off, buf, len);
    memset(m->staged + off, 1, len);
    free(buf);
}

/* Staged bytes that a page's gap fill brought in count as staged. */
static void mark_filled(const struct sfile *sf)
{
    struct stg_cursor cur = {0, 0};
    uint64_t s, e;
    while (staging_next_region(sf, &cur, &s, &e))
        memset(m->staged + s, 1, e - s);
}

/* Reads through staging_overlay and staging_at agree with the model. */
static void check_reads(const struct sfile *sf)
{
    uint8_t *buf = malloc(FILE_LEN);
    ck_assert_ptr_nonnull(buf);
    for (uint64_t i = 0; i < FILE_LEN; i++)
        buf[i] = committed(i);
    staging_overlay(sf, 0, buf, FILE_LEN);
    ck_assert_int_eq(memcmp(buf, m->bytes, FILE_LEN), 0);
    for (uint64_t pos = 0; pos < FILE_LEN;) {
        const uint8_t *p;
        uint64_t next;
        size_t n = staging_at(sf, pos, &p, &next);
        if (n == 0) {
            ck_assert_msg(!m->staged[pos], "offset %llu staged but not found",
                          (unsigned long long)pos);
            uint64_t to = next < FILE_LEN ? next : FILE_LEN;
            for (uint64_t i = pos; i < to; i++)
                ck_assert(!m->staged[i]);
            if (next < FILE_LEN)
                ck_assert(m->staged[next]);
            pos = to;
            continue;
        }
        ck_assert_uint_le(pos + n, FILE_LEN);
        for (size_t i = 0; i < n; i++)
            ck_assert(m->staged[pos + i]);
        ck_assert_int_eq(memcmp(p, m->bytes + pos, n), 0);
        pos += n;
    }
    free(buf);
}

/* The regions are the maximal runs of staged bytes, in order. */
static void check_regions(const struct sfile *sf)
{
    struct stg_cursor cur = {0, 0};
    uint64_t s, e, pos = 0;
    while (staging_next_region(sf, &cur, &s, &e)) {
        ck_assert_uint_lt(s, e);
        ck_assert_uint_ge(s, pos);
        for (uint64_t i = pos; i < s; i++)
            ck_assert(!m->staged[i]);
        for (uint64_t i = s; i < e; i++)
            ck_assert(m->staged[i]);
        ck_assert(e == FILE_LEN || !m->staged[e]);
        pos = e;
    }
    for (uint64_t i = pos; i < FILE_LEN; i++)
        ck_assert(!m->staged[i]);
}

START_TEST(write_across_pages_and_blocks)
{
    struct sfile *sf = staging_ref(&stg, 1, true);
    put(sf, STG_PAGE - 6, 10, 1);                 /* two pages */
    put(sf, STG_BLOCK - 100, 200, 2);             /* two blocks */
    put(sf, 3 * STG_BLOCK + 5, 2 * STG_BLOCK, 3); /* many pages */
    ck_assert_uint_eq(m->fills, 0);
    check_reads(sf);
    check_regions(sf);
    ck_assert_uint_eq(sf->staged_end, 5 * STG_BLOCK + 5);
    staging_unref(&stg, sf);
}
END_TEST

/* Two writes into one page with a gap between them: the gap is filled with
 * committed bytes, once; writes to different pages never fill. */
START_TEST(gap_fill_stays_in_page)
{
    struct sfile *sf = staging_ref(&stg, 1, true);
    put(sf, 100, 10, 1);
    put(sf, 200, 10, 2);
    ck_assert_uint_eq(m->fills, 1);
    ck_assert_uint_eq(m->filled, 90);
    put(sf, 50, 10, 3);
    ck_assert_uint_eq(m->fills, 2);
    ck_assert_uint_eq(m->filled, 130);
    put(sf, STG_PAGE + 3000, 10, 4);
    put(sf, 2 * STG_PAGE + 10, 10, 5);
    ck_assert_uint_eq(m->fills, 2);
    mark_filled(sf);
    check_reads(sf);
    check_regions(sf);
    staging_unref(&stg, sf);
}
END_TEST

/* Random 4 KiB writes cost a page each against the bound, not a block. */
START_TEST(bound_counts_pages)
{
    struct sfile *sf = staging_ref(&stg, 1, true);
    uint8_t page[STG_PAGE] = {0};
    for (uint64_t i = 0; i < 100; i++) {
        uint64_t off = i * 10 * STG_BLOCK + (i % STG_PAGES) * STG_PAGE;
        ck_assert_int_eq(staging_write(&stg, sf, off, page, sizeof(page), fill, m), 0);
    }
    ck_assert_uint_eq(stg.staged_bytes, 100 * (STG_PAGE + sizeof(struct sblock)));
    ck_assert_uint_eq(sf->pages, 100);
    ck_assert(!staging_dense(sf, 0)); /* one page in each block */
    staging_clear(&stg, sf);
    ck_assert_uint_eq(sf->pages, 0);
    ck_assert_uint_eq(stg.staged_bytes, 0);
    ck_assert_uint_eq(sf->n, 0);
    staging_unref(&stg, sf);
}
END_TEST

/* Density: staged pages over the pages of the blocks they are in. A run
 * written in sequence is dense from its first page on; a write that leaves
 * a block three quarters full or more keeps it so; a frozen set takes the
 * count with it. */
START_TEST(dense_counts_pages_per_block)
{
    struct sfile *sf = staging_ref(&stg, 1, true);
    put(sf, 0, 3 * STG_BLOCK, 1);
    ck_assert_uint_eq(sf->pages, 3 * STG_PAGES);
    ck_assert(staging_dense(sf, 3 * STG_BLOCK));
    ck_assert(!staging_dense(sf, 3 * STG_BLOCK + 1)); /* not that large */
    put(sf, 10, 20, 2);                               /* a page already staged */
    ck_assert_uint_eq(sf->pages, 3 * STG_PAGES);
    put(sf, 3 * STG_BLOCK, STG_BLOCK / 2, 3); /* 56 of 64 pages */
    ck_assert(staging_dense(sf, 0));
    put(sf, 5 * STG_BLOCK, STG_PAGE, 4); /* 57 of 80 */
    ck_assert(!staging_dense(sf, 0));
    struct sfile *fz = staging_detach(sf);
    ck_assert_ptr_nonnull(fz);
    ck_assert_uint_eq(fz->pages, 57);
    ck_assert_uint_eq(sf->pages, 0);
    staging_drop_frozen(&stg, sf);
    staging_unref(&stg, sf);
}
END_TEST

/* Many random writes of random sizes: reads and regions match the model. */
START_TEST(random_writes_match_model)
{
    struct sfile *sf = staging_ref(&stg, 1, true);
    srand(7);
    for (unsigned k = 0; k < 3000; k++) {
        size_t len = 1 + (size_t)rand() % (k % 10 == 0 ? 3 * STG_BLOCK : 700);
        uint64_t off = (uint64_t)rand() % (FILE_LEN - len);
        put(sf, off, len, k);
        if (k % 500 == 0) {
            mark_filled(sf);
            check_reads(sf);
        }
    }
    mark_filled(sf);
    check_reads(sf);
    check_regions(sf);
    staging_unref(&stg, sf);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("staging");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, write_across_pages_and_blocks);
    tcase_add_test(tc, gap_fill_stays_in_page);
    tcase_add_test(tc, bound_counts_pages);
    tcase_add_test(tc, dense_counts_pages_per_block);
    tcase_add_test(tc, random_writes_match_model);
    suite_add_tcase(s, tc);
    return check_run(s);
}
