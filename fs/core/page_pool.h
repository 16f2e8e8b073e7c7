/*
 * page_pool.h - the staging's pages: equal-size, page-aligned buffers carved
 * from anonymous mappings, kept warm while writes go on and given back to
 * the kernel once the pool has been quiet for a while.
 *
 * Why not malloc: a burst of writes lends out up to the staging bound (1 GiB
 * by default) in 4 KiB pages. Freed through malloc they stayed in glibc's
 * arenas, fragmented (an idle daemon kept 500-600 MiB resident after
 * 1 GiB writes), and the pages beyond what a pool kept were faulted in again
 * on the next burst. Here a page, once mapped, stays mapped; a pool with no
 * get or put for idle_ms tells the kernel (MADV_DONTNEED) to drop all but
 * `floor` of its free pages, which read as zeros when lent again.
 *
 * Invariants:
 *  - Free pages form a stack; its bottom n_released were given back (not
 *    resident), the rest were lent and written since. get pops the top, so
 *    resident pages are lent first.
 *  - A page is given back only while it lies in the stack, under the lock:
 *    no lent page is ever dropped.
 *  - Mappings are unmapped only by destroy: the pool's address space grows
 *    to the peak of pages lent at once (rounded up to PAGE_POOL_SLAB), which
 *    the staging bound limits, and the stack has room for every page mapped.
 * Locking: lock guards every field but thread (set once by init).
 */
#ifndef QFS_FS_CORE_PAGE_POOL_H
#define QFS_FS_CORE_PAGE_POOL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PAGE_POOL_SLAB (2u << 20) /* bytes mapped at a time */

struct page_pool {
    size_t page_size, floor;
    unsigned idle_ms;
    pthread_mutex_t lock;
    pthread_cond_t wake; /* resident free pages passed floor, or stop */
    bool trim_waiting;   /* the thread waits on wake for free pages to give back */
    void **stack;        /* free pages; room for every page mapped */
    size_t n_free, n_released, cap;
    void **slabs; /* mappings, for destroy */
    size_t n_slabs, slabs_cap;
    uint64_t last_use_ms; /* CLOCK_MONOTONIC ms of the last get or put */
    bool stop;
    pthread_t thread; /* gives back the free pages of a quiet pool */
};

/* page_size: a multiple of the system page size dividing PAGE_POOL_SLAB.
 * -errno if the thread cannot start. */
int page_pool_init(struct page_pool *p, size_t page_size, size_t floor, unsigned idle_ms);
void page_pool_destroy(struct page_pool *p);

/* A page, NULL when no memory can be mapped. Its bytes are unspecified. */
void *page_pool_get(struct page_pool *p);
void page_pool_put(struct page_pool *p, void *page);

/* Gives back now every free page above the floor; returns how many. */
size_t page_pool_trim(struct page_pool *p);

struct page_pool_stats {
    size_t mapped, free, released; /* pages */
};
void page_pool_stats(struct page_pool *p, struct page_pool_stats *st);

#endif
