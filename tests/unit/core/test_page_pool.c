/* test_page_pool.c - the staging's page pool on its own: pages are distinct
 * and aligned, a trim gives back exactly the free pages above the floor
 * (checked with mincore), never a lent one, even while other threads lend
 * and return pages; given-back pages are lent again; a quiet pool is trimmed
 * by its own thread, woken by puts and by a get that maps a slab. */
#include <check.h>
#include <dirent.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "fs/core/page_pool.h"
#include "tests/check_run.h"

#define PG 4096u

static struct page_pool pool;

static void setup(void)
{
    ck_assert_int_eq(page_pool_init(&pool, PG, 100, 60000), 0);
}

static void teardown(void)
{
    page_pool_destroy(&pool);
}

/* Polled: until the pool's thread sleeps (it then waits for free pages to
 * give back, or for a quiet pool). */
static void wait_thread_sleeping(void)
{
    for (;;) {
        DIR *d = opendir("/proc/self/task");
        ck_assert_ptr_nonnull(d);
        struct dirent *e;
        bool sleeping = false;
        while ((e = readdir(d))) {
            char path[300], comm[32] = "", state = 0;
            snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
            FILE *f = fopen(path, "r");
            if (!f)
                continue;
            int got = fscanf(f, "%31s", comm);
            fclose(f);
            if (got != 1 || strcmp(comm, "qfs-pages"))
                continue;
            snprintf(path, sizeof(path), "/proc/self/task/%s/stat", e->d_name);
            if ((f = fopen(path, "r"))) {
                got = fscanf(f, "%*d (%*[^)]) %c", &state);
                fclose(f);
                sleeping = got == 1 && state == 'S';
            }
        }
        closedir(d);
        if (sleeping)
            return;
        sched_yield();
    }
}

static void fresh_pool(size_t floor, unsigned idle_ms)
{
    page_pool_destroy(&pool);
    ck_assert_int_eq(page_pool_init(&pool, PG, floor, idle_ms), 0);
    wait_thread_sleeping();
}

/* Polled, for up to 20 s: until the pool's thread gave back all but floor. */
static void wait_trimmed(size_t floor)
{
    struct page_pool_stats st;
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        page_pool_stats(&pool, &st);
        if (st.free > floor && st.released == st.free - floor)
            return;
        clock_gettime(CLOCK_MONOTONIC, &t);
        ck_assert_int_lt(t.tv_sec - t0.tv_sec, 20);
        usleep(10000);
    }
}

static void fill(uint8_t *page, uint32_t tag)
{
    for (unsigned i = 0; i < PG; i += 4)
        memcpy(page + i, &tag, 4);
}

static bool holds(const uint8_t *page, uint32_t tag)
{
    for (unsigned i = 0; i < PG; i += 4)
        if (memcmp(page + i, &tag, 4))
            return false;
    return true;
}

static bool resident(const void *page)
{
    unsigned char v = 0;
    ck_assert_int_eq(mincore((void *)page, PG, &v), 0);
    return v & 1;
}

static int cmp_ptr(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t) * (void *const *)a, y = (uintptr_t) * (void *const *)b;
    return (x > y) - (x < y);
}

START_TEST(pages_are_distinct_and_aligned)
{
    enum { N = 1500 };
    static uint8_t *p[N];
    for (int i = 0; i < N; i++) {
        p[i] = page_pool_get(&pool);
        ck_assert_ptr_nonnull(p[i]);
        ck_assert_uint_eq((uintptr_t)p[i] % PG, 0);
        fill(p[i], (uint32_t)i + 1);
    }
    for (int i = 0; i < N; i++)
        ck_assert(holds(p[i], (uint32_t)i + 1));
    qsort(p, N, sizeof(p[0]), cmp_ptr);
    for (int i = 1; i < N; i++)
        ck_assert_uint_ge((uintptr_t)p[i] - (uintptr_t)p[i - 1], PG);
    struct page_pool_stats st;
    page_pool_stats(&pool, &st);
    ck_assert_uint_eq(st.mapped % (PAGE_POOL_SLAB / PG), 0);
    ck_assert_uint_ge(st.mapped, N);
    ck_assert_uint_eq(st.free, st.mapped - N);
    for (int i = 0; i < N; i++)
        page_pool_put(&pool, p[i]);
    page_pool_stats(&pool, &st);
    ck_assert_uint_eq(st.free, st.mapped);
    ck_assert_uint_eq(st.released, 0);
}
END_TEST

START_TEST(trim_gives_back_free_pages_above_the_floor)
{
    enum { N = 2000, KEEP = 500 };
    static uint8_t *p[N];
    for (int i = 0; i < N; i++)
        fill(p[i] = page_pool_get(&pool), (uint32_t)i + 7);
    for (int i = KEEP; i < N; i++)
        page_pool_put(&pool, p[i]);
    struct page_pool_stats st;
    page_pool_stats(&pool, &st);
    size_t n = page_pool_trim(&pool);
    ck_assert_uint_eq(n, st.free - 100);
    ck_assert_uint_eq(page_pool_trim(&pool), 0); /* nothing left above the floor */

    for (int i = 0; i < KEEP; i++) { /* lent pages: untouched */
        ck_assert(resident(p[i]));
        ck_assert(holds(p[i], (uint32_t)i + 7));
    }
    size_t res = 0; /* of the free ones, the floor stays resident */
    for (int i = KEEP; i < N; i++)
        res += resident(p[i]);
    ck_assert_uint_eq(res, 100); /* the last ones put, on top of the never-lent */

    page_pool_stats(&pool, &st);
    ck_assert_uint_eq(st.released, st.free - 100);
    /* Everything free is lent again, given back or not, and writable. */
    size_t nfree = st.free;
    uint8_t **q = calloc(nfree, sizeof(*q));
    for (size_t i = 0; i < nfree; i++) {
        ck_assert_ptr_nonnull(q[i] = page_pool_get(&pool));
        fill(q[i], 0xabcd0000u + (uint32_t)i);
    }
    page_pool_stats(&pool, &st);
    ck_assert_uint_eq(st.free, 0);
    ck_assert_uint_eq(st.released, 0);
    for (size_t i = 0; i < nfree; i++) {
        ck_assert(holds(q[i], 0xabcd0000u + (uint32_t)i));
        page_pool_put(&pool, q[i]);
    }
    for (int i = 0; i < KEEP; i++)
        page_pool_put(&pool, p[i]);
    free(q);
}
END_TEST

START_TEST(resident_pages_are_lent_first)
{
    enum { N = 1024 };
    static uint8_t *p[N];
    for (int i = 0; i < N; i++)
        p[i] = page_pool_get(&pool);
    for (int i = 0; i < N; i++)
        page_pool_put(&pool, p[i]);
    page_pool_trim(&pool);
    uint8_t *a = page_pool_get(&pool); /* from the floor */
    fill(a, 1);
    page_pool_put(&pool, a);
    uint8_t *b = page_pool_get(&pool);
    ck_assert_ptr_eq(a, b);
    ck_assert(resident(b));
    page_pool_put(&pool, b);
}
END_TEST

static pthread_barrier_t start;
static int running;

struct worker {
    unsigned seed;
    uint32_t tag;
    bool ok;
};

static void *lend_and_check(void *arg)
{
    struct worker *w = arg;
    uint8_t *held[8] = {0};
    uint32_t tags[8];
    w->ok = true;
    pthread_barrier_wait(&start);
    for (int it = 0; it < 20000; it++) {
        int k = rand_r(&w->seed) % 8;
        if (held[k]) {
            w->ok &= holds(held[k], tags[k]);
            page_pool_put(&pool, held[k]);
            held[k] = NULL;
        } else if ((held[k] = page_pool_get(&pool))) {
            tags[k] = w->tag + (uint32_t)it;
            fill(held[k], tags[k]);
        }
    }
    for (int k = 0; k < 8; k++) {
        if (held[k]) {
            w->ok &= holds(held[k], tags[k]);
            page_pool_put(&pool, held[k]);
        }
    }
    __atomic_sub_fetch(&running, 1, __ATOMIC_RELEASE);
    return NULL;
}

/* A page given back while lent would read as zeros: every worker checks its
 * pages' tags before returning them, while the main thread trims. */
START_TEST(trim_never_takes_a_lent_page)
{
    fresh_pool(0, 60000);
    enum { W = 4 };
    struct worker w[W];
    pthread_t th[W];
    pthread_barrier_init(&start, NULL, W + 1);
    running = W;
    for (int i = 0; i < W; i++) {
        w[i] = (struct worker){.seed = (unsigned)i + 1, .tag = (uint32_t)(i + 1) << 24};
        ck_assert_int_eq(pthread_create(&th[i], NULL, lend_and_check, &w[i]), 0);
    }
    pthread_barrier_wait(&start);
    size_t trimmed = 0;
    while (__atomic_load_n(&running, __ATOMIC_ACQUIRE))
        trimmed += page_pool_trim(&pool);
    for (int i = 0; i < W; i++) {
        pthread_join(th[i], NULL);
        ck_assert(w[i].ok);
    }
    ck_assert_uint_gt(trimmed, 0);
    pthread_barrier_destroy(&start);
}
END_TEST

START_TEST(a_quiet_pool_trims_itself)
{
    fresh_pool(10, 50);
    enum { N = 1000 };
    static uint8_t *p[N];
    for (int i = 0; i < N; i++)
        fill(p[i] = page_pool_get(&pool), 3);
    for (int i = 0; i < N; i++)
        page_pool_put(&pool, p[i]);
    wait_trimmed(10);
    size_t res = 0;
    for (int i = 0; i < N; i++)
        res += resident(p[i]);
    ck_assert_uint_le(res, 10);
}
END_TEST

/* The thread sleeps until free pages pass the floor: a get that maps a slab
 * brings 511 at once, with no put, and must wake it too. */
START_TEST(a_new_slab_wakes_the_trimmer)
{
    fresh_pool(10, 50);
    uint8_t *a = page_pool_get(&pool);
    fill(a, 5);
    wait_trimmed(10);
    ck_assert(holds(a, 5));
    page_pool_put(&pool, a);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("page_pool");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, pages_are_distinct_and_aligned);
    tcase_add_test(tc, trim_gives_back_free_pages_above_the_floor);
    tcase_add_test(tc, resident_pages_are_lent_first);
    tcase_add_test(tc, trim_never_takes_a_lent_page);
    tcase_add_test(tc, a_quiet_pool_trims_itself);
    tcase_add_test(tc, a_new_slab_wakes_the_trimmer);
    suite_add_tcase(s, tc);
    return check_run(s);
}
