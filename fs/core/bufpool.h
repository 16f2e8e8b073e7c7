/*
 * bufpool.h - a pool of equal-size buffers, reused instead of malloc/free
 * per chunk (first touches of fresh memory are slow on this VM). At most
 * keep buffers are held while idle; more may be lent out at once.
 */
#ifndef QFS_FS_CORE_BUFPOOL_H
#define QFS_FS_CORE_BUFPOOL_H

#include <pthread.h>
#include <stddef.h>

struct bufpool {
    size_t size, keep;
    pthread_mutex_t lock; /* guards free_list, n_free */
    void **free_list;
    size_t n_free;
};

int bufpool_init(struct bufpool *p, size_t size, size_t keep);
void bufpool_destroy(struct bufpool *p);
/* NULL when out of memory. */
void *bufpool_get(struct bufpool *p);
void bufpool_put(struct bufpool *p, void *buf);

#endif
