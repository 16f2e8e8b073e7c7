/* Unit tests for fs/chunk/chunk_cache: hits and misses, the byte bound and
 * LRU order, pins, failed loads, concurrent readers. */
#include "fs/chunk/chunk_cache.h"
#include "fs/chunk/chunker.h"
#include "tests/unit/chunk/chunk_testutil.h"
#include "tests/unit/chunk/corrupt.h"

#include "tests/check_run.h"
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NCH    8
#define CH_LEN (64u * 1024)

static char root[64];
static char dir[96];
static uint8_t *data;
static struct chunk_ref refs[NCH];
static struct chunk_store *cs;

static void setup_root(void)
{
    tu_tempdir(root, sizeof(root));
}

static void teardown_root(void)
{
    tu_rmrf(root);
}

static void setup(void)
{
    snprintf(dir, sizeof(dir), "%s/t-XXXXXX", root);
    ck_assert_ptr_nonnull(mkdtemp(dir));
    data = malloc((size_t)NCH * CH_LEN);
    for (int i = 0; i < NCH; i++)
        tu_make_chunk(&refs[i], data + (size_t)i * CH_LEN, CH_LEN - 7 * i, 300 + i);
    ck_assert_int_eq(chunk_store_open(dir, &cs), 0);
    ck_assert_int_eq(chunk_store_put_batch(cs, refs, NCH), 0);
}

static void teardown(void)
{
    chunk_store_close(cs);
    free(data);
}

static void assert_view(const struct chunk_view *v, int i)
{
    ck_assert_uint_eq(v->len, refs[i].len);
    ck_assert(memcmp(v->data, refs[i].data, v->len) == 0);
}

START_TEST(test_hits_after_one_miss)
{
    struct chunk_cache *cc;
    struct chunk_cache_stats st;
    uint8_t buf[100];
    ck_assert_int_eq(chunk_cache_new(cs, 1u << 20, &cc), 0);
    for (uint32_t k = 0; k < 100; k++) {
        ck_assert_int_eq(chunk_cache_read(cc, refs[3].hash, k * 600, buf, 100), 100);
        ck_assert(memcmp(buf, refs[3].data + k * 600, 100) == 0);
    }
    /* a range cut at the end, and one past it */
    ck_assert_int_eq(chunk_cache_read(cc, refs[3].hash, refs[3].len - 10, buf, 100), 10);
    ck_assert_int_eq(chunk_cache_read(cc, refs[3].hash, refs[3].len + 5, buf, 100), 0);
    chunk_cache_stats(cc, &st);
    ck_assert_uint_eq(st.misses, 1);
    ck_assert_uint_eq(st.hits, 101);
    ck_assert_uint_eq(st.entries, 1);
    ck_assert_uint_eq(st.bytes, refs[3].len);
    chunk_cache_free(cc);
}
END_TEST

START_TEST(test_bound_and_lru)
{
    struct chunk_cache *cc;
    struct chunk_cache_stats st;
    struct chunk_view v;
    ck_assert_int_eq(chunk_cache_new(cs, 3 * CH_LEN, &cc), 0);
    for (int i = 0; i < NCH; i++) {
        ck_assert_int_eq(chunk_cache_get(cc, refs[i].hash, &v), 0);
        assert_view(&v, i);
        chunk_cache_release(cc, &v);
        chunk_cache_stats(cc, &st);
        ck_assert_uint_le(st.bytes, 3 * CH_LEN);
    }
    ck_assert_uint_eq(st.entries, 3);                           /* 5, 6, 7 */
    ck_assert_int_eq(chunk_cache_get(cc, refs[5].hash, &v), 0); /* hit: 5 becomes newest */
    chunk_cache_release(cc, &v);
    ck_assert_int_eq(chunk_cache_get(cc, refs[0].hash, &v), 0); /* miss: evicts 6 */
    chunk_cache_release(cc, &v);
    chunk_cache_stats(cc, &st);
    ck_assert_uint_eq(st.misses, NCH + 1);
    ck_assert_int_eq(chunk_cache_get(cc, refs[5].hash, &v), 0);
    chunk_cache_release(cc, &v);
    ck_assert_int_eq(chunk_cache_get(cc, refs[7].hash, &v), 0);
    chunk_cache_release(cc, &v);
    chunk_cache_stats(cc, &st);
    ck_assert_uint_eq(st.misses, NCH + 1); /* 5 and 7 were still cached */
    ck_assert_int_eq(chunk_cache_get(cc, refs[6].hash, &v), 0);
    chunk_cache_release(cc, &v);
    chunk_cache_stats(cc, &st);
    ck_assert_uint_eq(st.misses, NCH + 2); /* 6 was evicted */
    chunk_cache_free(cc);
}
END_TEST

START_TEST(test_pinned_survives_eviction)
{
    struct chunk_cache *cc;
    struct chunk_cache_stats st;
    struct chunk_view pinned, v;
    ck_assert_int_eq(chunk_cache_new(cs, CH_LEN, &cc), 0);
    ck_assert_int_eq(chunk_cache_get(cc, refs[0].hash, &pinned), 0);
    for (int i = 1; i < NCH; i++) {
        ck_assert_int_eq(chunk_cache_get(cc, refs[i].hash, &v), 0);
        assert_view(&v, i);
        chunk_cache_release(cc, &v);
    }
    assert_view(&pinned, 0);
    chunk_cache_stats(cc, &st);
    ck_assert_uint_ge(st.bytes, refs[0].len);
    chunk_cache_release(cc, &pinned);
    chunk_cache_stats(cc, &st);
    ck_assert_uint_le(st.bytes, CH_LEN);
    chunk_cache_free(cc);
}
END_TEST

START_TEST(test_failed_loads_not_cached)
{
    struct chunk_cache *cc;
    struct chunk_cache_stats st;
    struct chunk_view v;
    uint8_t absent[SHA256_LEN], named[SHA256_LEN];
    memset(absent, 0x42, sizeof(absent));
    chunk_store_close(cs);
    ck_assert_int_eq(corrupt_chunk(dir, refs[2].hash, 0, named), 0);
    ck_assert_int_eq(chunk_store_open(dir, &cs), 0);
    ck_assert_int_eq(chunk_cache_new(cs, 1u << 20, &cc), 0);
    ck_assert_int_eq(chunk_cache_get(cc, absent, &v), -ENOENT);
    ck_assert_int_eq(chunk_cache_get(cc, refs[2].hash, &v), -EIO);
    ck_assert_int_eq(chunk_cache_get(cc, refs[2].hash, &v), -EIO);
    chunk_cache_stats(cc, &st);
    ck_assert_uint_eq(st.misses, 3);
    ck_assert_uint_eq(st.entries, 0);
    ck_assert_uint_eq(st.bytes, 0);
    /* chunk_cache_add: served without the store */
    struct chunk_ref fresh;
    uint8_t *buf = malloc(5000);
    tu_make_chunk(&fresh, buf, 5000, 999);
    ck_assert_int_eq(chunk_cache_add(cc, &fresh), 0);
    ck_assert_int_eq(chunk_cache_get(cc, fresh.hash, &v), 0);
    ck_assert(v.len == 5000 && memcmp(v.data, buf, 5000) == 0);
    chunk_cache_release(cc, &v);
    free(buf);
    chunk_cache_free(cc);
}
END_TEST

struct worker {
    struct chunk_cache *cc;
    int first, count, errors;
    uint64_t seed;
};

static void *worker_main(void *p)
{
    struct worker *w = p;
    uint8_t buf[4096];
    uint64_t s = w->seed;
    for (int k = 0; k < 3000; k++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        int i = w->first + (int)((s >> 33) % (uint64_t)w->count);
        uint32_t off = (uint32_t)((s >> 13) % refs[i].len), want = refs[i].len - off;
        want = want < sizeof(buf) ? want : sizeof(buf);
        int n = chunk_cache_read(w->cc, refs[i].hash, off, buf, sizeof(buf));
        if (n != (int)want || memcmp(buf, refs[i].data + off, want))
            w->errors++;
    }
    return NULL;
}

/* Four threads read random ranges of 8 chunks through a 3-chunk cache; then
 * four threads that all start on one cold chunk load it once. */
START_TEST(test_concurrent_readers)
{
    struct chunk_cache *cc;
    struct chunk_cache_stats st;
    pthread_t th[4];
    struct worker w[4];
    ck_assert_int_eq(chunk_cache_new(cs, 3 * CH_LEN, &cc), 0);
    for (int t = 0; t < 4; t++) {
        w[t] = (struct worker){cc, 0, NCH, 0, (uint64_t)t + 1};
        ck_assert_int_eq(pthread_create(&th[t], NULL, worker_main, &w[t]), 0);
    }
    for (int t = 0; t < 4; t++) {
        pthread_join(th[t], NULL);
        ck_assert_int_eq(w[t].errors, 0);
    }
    chunk_cache_stats(cc, &st);
    ck_assert_uint_le(st.bytes, 3 * CH_LEN);
    ck_assert_uint_eq(st.hits + st.misses, 4 * 3000);
    chunk_cache_free(cc);

    ck_assert_int_eq(chunk_cache_new(cs, 16 * CH_LEN, &cc), 0);
    for (int t = 0; t < 4; t++) {
        w[t] = (struct worker){cc, 4, 1, 0, (uint64_t)t + 10};
        ck_assert_int_eq(pthread_create(&th[t], NULL, worker_main, &w[t]), 0);
    }
    for (int t = 0; t < 4; t++) {
        pthread_join(th[t], NULL);
        ck_assert_int_eq(w[t].errors, 0);
    }
    chunk_cache_stats(cc, &st);
    ck_assert_uint_eq(st.misses, 1);
    chunk_cache_free(cc);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("chunk_cache");
    TCase *tc = tcase_create("core");
    tcase_add_unchecked_fixture(tc, setup_root, teardown_root);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_hits_after_one_miss);
    tcase_add_test(tc, test_bound_and_lru);
    tcase_add_test(tc, test_pinned_survives_eviction);
    tcase_add_test(tc, test_failed_loads_not_cached);
    tcase_add_test(tc, test_concurrent_readers);
    suite_add_tcase(s, tc);
    return check_run(s);
}
