/* Unit tests for fs/chunk/chunker: format stability, bounds, average size,
 * locality of edits and resynchronization after an insertion. */
#include "fs/chunk/chunker.h"

#include "tests/check_run.h"
#include <stdlib.h>
#include <string.h>

#define MIB (1024u * 1024)

/* xorshift64 with a multiplicative output byte (the same generator as the
 * reference script of docs/on-disk-chunks.md). */
static void fill_random(uint8_t *p, size_t n, uint64_t seed)
{
    uint64_t s = seed;
    for (size_t i = 0; i < n; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        p[i] = (uint8_t)((s * 0x2545F4914F6CDD1Dull) >> 56);
    }
}

/* Cuts all of data; stores chunk end offsets in ends; returns their count. */
static size_t cut_all(const uint8_t *data, size_t len, size_t *ends, size_t max)
{
    size_t n = 0, off = 0;
    while (off < len) {
        size_t c = chunker_next_cut(data + off, len - off, true);
        ck_assert_uint_gt(c, 0);
        ck_assert_uint_lt(n, max);
        off += c;
        ends[n++] = off;
    }
    return n;
}

static int has_end(const size_t *ends, size_t n, size_t v)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (ends[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && ends[lo] == v;
}

/* Chunk lengths of the reference script (Python, written from the spec in
 * docs/on-disk-chunks.md) for 2 MiB of fill_random(seed 0x9E3779B97F4A7C15):
 * a change to the gear table, the masks or the window rule breaks this. */
static const size_t golden[] = {73011, 39256, 67767, 78642, 49209, 83020,  71453, 49962, 42162,
                                68113, 72885, 71913, 66255, 66073, 73203,  72372, 68672, 71894,
                                30725, 37131, 43325, 24866, 76332, 103313, 22459, 71939, 69447,
                                76501, 88797, 69981, 40975, 80075, 66428,  8996};

START_TEST(test_golden_cuts)
{
    size_t len = 2 * MIB, n_golden = sizeof(golden) / sizeof(golden[0]);
    uint8_t *d = malloc(len);
    size_t ends[64];
    fill_random(d, len, 0x9E3779B97F4A7C15ull);
    size_t n = cut_all(d, len, ends, 64);
    ck_assert_uint_eq(n, n_golden);
    for (size_t i = 0, prev = 0; i < n; prev = ends[i], i++)
        ck_assert_uint_eq(ends[i] - prev, golden[i]);
    free(d);
}
END_TEST

/* Feeding the chunker in small steps (as a stream) gives the same cuts as
 * giving it everything at once; 0 means "need more". */
START_TEST(test_deterministic_streaming)
{
    size_t len = 4 * MIB;
    uint8_t *d = malloc(len);
    size_t ends[256], n_ends = 0;
    fill_random(d, len, 42);
    size_t n = cut_all(d, len, ends, 256);
    size_t off = 0, avail = 0;
    while (off < len) {
        avail = avail + 4096 < len ? avail + 4096 : len;
        size_t c = chunker_next_cut(d + off, avail - off, avail == len);
        if (c == 0)
            continue;
        ck_assert_uint_le(off + c, avail);
        off += c;
        ck_assert_uint_eq(off, ends[n_ends++]);
    }
    ck_assert_uint_eq(n_ends, n);
    free(d);
}
END_TEST

START_TEST(test_bounds_and_average)
{
    size_t len = 64 * MIB;
    uint8_t *d = malloc(len);
    size_t *ends = malloc(4096 * sizeof(*ends));
    fill_random(d, len, 7);
    size_t n = cut_all(d, len, ends, 4096);
    for (size_t i = 0, prev = 0; i + 1 < n; prev = ends[i], i++) {
        ck_assert_uint_ge(ends[i] - prev, CHUNK_MIN);
        ck_assert_uint_le(ends[i] - prev, CHUNK_MAX);
    }
    size_t avg = len / n;
    ck_assert_uint_ge(avg, 56 * 1024);
    ck_assert_uint_le(avg, 72 * 1024);
    /* constant data has no content cuts: every chunk is CHUNK_MAX */
    memset(d, 0, 4 * MIB);
    n = cut_all(d, 4 * MIB, ends, 4096);
    ck_assert_uint_eq(n, 4 * MIB / CHUNK_MAX);
    free(ends);
    free(d);
}
END_TEST

START_TEST(test_need_more_and_eof)
{
    uint8_t *d = calloc(1, CHUNK_MAX);
    ck_assert_uint_eq(chunker_next_cut(d, 100, false), 0);
    ck_assert_uint_eq(chunker_next_cut(d, 100, true), 100);
    ck_assert_uint_eq(chunker_next_cut(d, CHUNK_MIN, false), 0);
    ck_assert_uint_eq(chunker_next_cut(d, CHUNK_MIN + 10, false), 0); /* zeros: no cut */
    ck_assert_uint_eq(chunker_next_cut(d, CHUNK_MIN + 10, true), CHUNK_MIN + 10);
    ck_assert_uint_eq(chunker_next_cut(d, CHUNK_MAX, false), CHUNK_MAX);
    free(d);
}
END_TEST

/* Overwriting 100 bytes in the middle of 8 MiB changes only the chunks
 * around the edit. */
START_TEST(test_edit_is_local)
{
    size_t len = 8 * MIB, at = 4 * MIB + 12345;
    uint8_t *a = malloc(len), *b = malloc(len);
    size_t ea[512], eb[512];
    fill_random(a, len, 99);
    memcpy(b, a, len);
    for (size_t i = 0; i < 100; i++)
        b[at + i] ^= 0x5a;
    size_t na = cut_all(a, len, ea, 512), nb = cut_all(b, len, eb, 512);
    size_t changed = 0;
    for (size_t i = 0; i < nb; i++) {
        if (has_end(ea, na, eb[i]))
            continue;
        changed++;
        ck_assert_uint_ge(eb[i], at);
        ck_assert_uint_le(eb[i], at + 100 + 2 * CHUNK_MAX);
    }
    ck_assert_uint_le(changed, 3);
    ck_assert_uint_ge(nb, na - 3);
    free(a);
    free(b);
}
END_TEST

/* One byte inserted at the start: later cuts shift by exactly one. */
START_TEST(test_resync_after_insert)
{
    size_t len = 8 * MIB;
    uint8_t *a = malloc(len + 1);
    size_t ea[512], eb[512];
    fill_random(a + 1, len, 1234);
    size_t na = cut_all(a + 1, len, ea, 512);
    a[0] = 0xa5;
    size_t nb = cut_all(a, len + 1, eb, 512);
    size_t shifted = 0;
    for (size_t i = 0; i < na; i++)
        shifted += has_end(eb, nb, ea[i] + 1);
    ck_assert_uint_ge(shifted * 100, na * 95);
    ck_assert_uint_ge(shifted, na - 2);
    free(a);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("chunker");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_golden_cuts);
    tcase_add_test(tc, test_deterministic_streaming);
    tcase_add_test(tc, test_bounds_and_average);
    tcase_add_test(tc, test_need_more_and_eof);
    tcase_add_test(tc, test_edit_is_local);
    tcase_add_test(tc, test_resync_after_insert);
    suite_add_tcase(s, tc);
    return check_run(s);
}
