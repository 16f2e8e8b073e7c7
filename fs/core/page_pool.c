/* Staging pages from anonymous mappings, given back when quiet (page_pool.h). */
#include "fs/core/page_pool.h"

#include "common/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
/* A page in the stack is not the caller's: ASan reports a use after put. */
#define POISON(a, n)   ASAN_POISON_MEMORY_REGION(a, n)
#define UNPOISON(a, n) ASAN_UNPOISON_MEMORY_REGION(a, n)
#else
#define POISON(a, n)   ((void)(a), (void)(n))
#define UNPOISON(a, n) ((void)(a), (void)(n))
#endif

/* Pages given back per hold of the lock, so that a writer waits for one
 * batch at most (sorting and advising 4,096 pages: well under 1 ms). */
#define RELEASE_BATCH 4096

static void *pool_thread(void *arg);

/* The coarse clock (a few ms behind) is read on every get and put: it
 * costs about a load, and the idle delay is seconds. */
static uint64_t now_ms(clockid_t clock)
{
    struct timespec t;
    clock_gettime(clock, &t);
    return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

int page_pool_init(struct page_pool *p, size_t page_size, size_t floor, unsigned idle_ms)
{
    memset(p, 0, sizeof(*p));
    p->page_size = page_size;
    p->floor = floor;
    p->idle_ms = idle_ms;
    pthread_mutex_init(&p->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->wake, &ca);
    pthread_condattr_destroy(&ca);
    int rc = -pthread_create(&p->thread, NULL, pool_thread, p);
    if (rc) {
        pthread_cond_destroy(&p->wake);
        pthread_mutex_destroy(&p->lock);
    }
    return rc;
}

void page_pool_destroy(struct page_pool *p)
{
    pthread_mutex_lock(&p->lock);
    p->stop = true;
    pthread_cond_signal(&p->wake);
    pthread_mutex_unlock(&p->lock);
    pthread_join(p->thread, NULL);
    for (size_t i = 0; i < p->n_slabs; i++) {
        UNPOISON(p->slabs[i], PAGE_POOL_SLAB);
        munmap(p->slabs[i], PAGE_POOL_SLAB);
    }
    free(p->slabs);
    free(p->stack);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->lock);
}

/* Maps one more slab and pushes its pages (lock held). Populated at once:
 * its pages are about to be written, and one call costs less than a fault
 * per page. */
static int add_slab(struct page_pool *p)
{
    size_t per = PAGE_POOL_SLAB / p->page_size;
    if (p->n_slabs == p->slabs_cap) {
        size_t cap = p->slabs_cap ? p->slabs_cap * 2 : 16;
        void **ns = realloc(p->slabs, cap * sizeof(*ns));
        if (!ns)
            return -ENOMEM;
        p->slabs = ns;
        p->slabs_cap = cap;
    }
    void **st = realloc(p->stack, (p->cap + per) * sizeof(*st));
    if (!st)
        return -ENOMEM;
    p->stack = st;
    uint8_t *m = mmap(NULL, PAGE_POOL_SLAB, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (m == MAP_FAILED)
        return -errno;
    POISON(m, PAGE_POOL_SLAB);
    p->slabs[p->n_slabs++] = m;
    p->cap += per;
    for (size_t i = per; i-- > 0;) /* the slab's first page on top */
        p->stack[p->n_free++] = m + i * p->page_size;
    return 0;
}

/* Wakes the thread if it sleeps for want of free pages to give back and
 * now has some (lock held). Pages arrive one by one from put, or 511 at once
 * from a get that mapped a slab. */
static void wake_trimmer(struct page_pool *p)
{
    if (p->trim_waiting && p->n_free - p->n_released > p->floor) {
        p->trim_waiting = false;
        pthread_cond_signal(&p->wake);
    }
}

void *page_pool_get(struct page_pool *p)
{
    void *page = NULL;
    pthread_mutex_lock(&p->lock);
    if (p->n_free || add_slab(p) == 0) {
        page = p->stack[--p->n_free];
        if (p->n_released > p->n_free)
            p->n_released = p->n_free;
        p->last_use_ms = now_ms(CLOCK_MONOTONIC_COARSE);
        wake_trimmer(p);
    }
    pthread_mutex_unlock(&p->lock);
    if (page)
        UNPOISON(page, p->page_size);
    return page;
}

void page_pool_put(struct page_pool *p, void *page)
{
    if (!page)
        return;
    POISON(page, p->page_size);
    pthread_mutex_lock(&p->lock);
    p->stack[p->n_free++] = page;
    p->last_use_ms = now_ms(CLOCK_MONOTONIC_COARSE);
    wake_trimmer(p);
    pthread_mutex_unlock(&p->lock);
}

static int by_address(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t) * (void *const *)a, y = (uintptr_t) * (void *const *)b;
    return (x > y) - (x < y);
}

/* Gives back up to RELEASE_BATCH free pages above the floor, from the bottom
 * of the stack's resident part, in as few madvise calls as their addresses
 * allow (lock held). Returns how many, or -errno. */
static long release_batch(struct page_pool *p)
{
    if (p->n_free - p->n_released <= p->floor)
        return 0;
    size_t n = p->n_free - p->n_released - p->floor;
    if (n > RELEASE_BATCH)
        n = RELEASE_BATCH;
    void **v = p->stack + p->n_released;
    qsort(v, n, sizeof(*v), by_address);
    for (size_t i = 0, j; i < n; i = j) {
        uint8_t *start = v[i];
        for (j = i + 1; j < n && (uint8_t *)v[j] == start + (j - i) * p->page_size; j++)
            ;
        if (madvise(start, (j - i) * p->page_size, MADV_DONTNEED))
            return -errno; /* the pages stay resident, and counted so */
    }
    p->n_released += n;
    return (long)n;
}

size_t page_pool_trim(struct page_pool *p)
{
    size_t total = 0;
    for (;;) {
        pthread_mutex_lock(&p->lock);
        long n = release_batch(p);
        pthread_mutex_unlock(&p->lock);
        if (n < 0)
            log_warn("page pool: madvise: %s; free pages stay resident", strerror((int)-n));
        if (n <= 0)
            return total;
        total += (size_t)n;
    }
}

void page_pool_stats(struct page_pool *p, struct page_pool_stats *st)
{
    pthread_mutex_lock(&p->lock);
    st->mapped = p->cap;
    st->free = p->n_free;
    st->released = p->n_released;
    pthread_mutex_unlock(&p->lock);
}

/* True once no get or put came for idle_ms (lock held; false on stop). */
static bool quiet(struct page_pool *p)
{
    while (!p->stop) {
        uint64_t due = p->last_use_ms + p->idle_ms;
        if (now_ms(CLOCK_MONOTONIC) >= due)
            return true;
        struct timespec until = {.tv_sec = (time_t)(due / 1000),
                                 .tv_nsec = (long)(due % 1000) * 1000000L};
        pthread_cond_timedwait(&p->wake, &p->lock, &until);
    }
    return false;
}

static void *pool_thread(void *arg)
{
    struct page_pool *p = arg;
    pthread_setname_np(pthread_self(), "qfs-pages"); /* for top -H, perf, gdb */
    bool failed = false; /* the last trim gave nothing back: wait for a get or put */
    uint64_t failed_at = 0;
    pthread_mutex_lock(&p->lock);
    while (!p->stop) {
        if (p->n_free - p->n_released <= p->floor || (failed && p->last_use_ms == failed_at)) {
            p->trim_waiting = true;
            pthread_cond_wait(&p->wake, &p->lock);
            continue;
        }
        if (!quiet(p))
            continue;
        failed_at = p->last_use_ms;
        pthread_mutex_unlock(&p->lock);
        size_t n = page_pool_trim(p);
        log_debug("page pool: %zu free pages given back", n);
        pthread_mutex_lock(&p->lock);
        failed = n == 0;
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}
