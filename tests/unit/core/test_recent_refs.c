/* recent_refs.h: what counts, for how long, and within which bounds. */
#include "fs/core/recent_refs.h"

#include "tests/check_run.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define WINDOW 1000

static uint8_t (*hashes(size_t n, uint32_t seed))[32]
{
    uint8_t(*h)[32] = calloc(n, 32);
    for (size_t i = 0; i < n; i++) {
        uint32_t v = seed + (uint32_t)i;
        memcpy(h[i], &v, sizeof(v));
        h[i][31] = 0xa5;
    }
    return h;
}

START_TEST(counts_within_the_window_only)
{
    struct recent_refs r;
    recent_refs_init(&r, WINDOW);
    uint8_t(*h)[32] = hashes(300, 1), other[32] = {9};
    ck_assert_int_eq(recent_refs_add(&r, (const uint8_t(*)[32])h, 300, 5000), 0);
    for (size_t i = 0; i < 300; i++)
        ck_assert(recent_refs_has(&r, h[i], 5000 + WINDOW - 1));
    ck_assert(!recent_refs_has(&r, other, 5000));
    ck_assert(!recent_refs_has(&r, h[0], 4999)); /* a time before the batch's: not vouched */
    ck_assert(!recent_refs_has(&r, h[0], 5000 + WINDOW));
    ck_assert_uint_eq(r.n_batches, 0); /* expired batches are freed */
    free(h);
    recent_refs_destroy(&r);
}
END_TEST

START_TEST(duplicates_kept_once)
{
    struct recent_refs r;
    recent_refs_init(&r, WINDOW);
    uint8_t(*h)[32] = hashes(4, 7);
    memcpy(h[1], h[0], 32);
    memcpy(h[3], h[0], 32);
    ck_assert_int_eq(recent_refs_add(&r, (const uint8_t(*)[32])h, 4, 10), 0);
    ck_assert_uint_eq(r.n_hashes, 2);
    ck_assert(recent_refs_has(&r, h[0], 10) && recent_refs_has(&r, h[2], 10));
    ck_assert_int_eq(recent_refs_add(&r, NULL, 0, 10), 0); /* nothing: no batch */
    ck_assert_uint_eq(r.n_batches, 1);
    free(h);
    recent_refs_destroy(&r);
}
END_TEST

/* Full: the oldest batch makes room; a batch larger than the bound is
 * refused whole. */
START_TEST(bounded)
{
    struct recent_refs r;
    recent_refs_init(&r, WINDOW);
    uint8_t(*h)[32] = hashes(RECENT_REFS_BATCHES + 1, 100);
    for (size_t i = 0; i <= RECENT_REFS_BATCHES; i++)
        ck_assert_int_eq(recent_refs_add(&r, (const uint8_t(*)[32])h + i, 1, 10), 0);
    ck_assert_uint_eq(r.n_batches, RECENT_REFS_BATCHES);
    ck_assert(!recent_refs_has(&r, h[0], 10));
    ck_assert(recent_refs_has(&r, h[1], 10));
    ck_assert(recent_refs_has(&r, h[RECENT_REFS_BATCHES], 10));

    uint8_t(*big)[32] = hashes(RECENT_REFS_MAX, 1u << 20);
    ck_assert_int_eq(recent_refs_add(&r, (const uint8_t(*)[32])big, RECENT_REFS_MAX, 20), 0);
    ck_assert_uint_eq(r.n_batches, 1); /* every older batch gave way */
    ck_assert(recent_refs_has(&r, big[RECENT_REFS_MAX - 1], 20));
    ck_assert(!recent_refs_has(&r, h[RECENT_REFS_BATCHES], 20));
    free(big);
    big = hashes(RECENT_REFS_MAX + 1, 1u << 24);
    ck_assert_int_eq(recent_refs_add(&r, (const uint8_t(*)[32])big, RECENT_REFS_MAX + 1, 30),
                     -ENOSPC);
    ck_assert(!recent_refs_has(&r, big[0], 30));
    free(big);
    free(h);
    recent_refs_destroy(&r);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("recent_refs");
    TCase *tc = tcase_create("recent_refs");
    tcase_add_test(tc, counts_within_the_window_only);
    tcase_add_test(tc, duplicates_kept_once);
    tcase_add_test(tc, bounded);
    suite_add_tcase(s, tc);
    return check_run(s);
}
