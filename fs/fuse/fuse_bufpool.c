/* fuse_bufpool.c - see fuse_bufpool.h. */
#include "fs/fuse/fuse_bufpool.h"

#include <stdlib.h>

void fuse_bufpool_init(struct fuse_bufpool *p, size_t bufsize)
{
    pthread_mutex_init(&p->lock, NULL);
    p->bufsize = bufsize;
    p->nfree = 0;
}

void fuse_bufpool_destroy(struct fuse_bufpool *p)
{
    while (p->nfree > 0)
        free(p->free[--p->nfree]);
    pthread_mutex_destroy(&p->lock);
}

void *fuse_bufpool_get(struct fuse_bufpool *p, size_t size)
{
    void *buf = NULL;

    if (size > p->bufsize)
        return malloc(size);
    pthread_mutex_lock(&p->lock);
    if (p->nfree > 0)
        buf = p->free[--p->nfree];
    pthread_mutex_unlock(&p->lock);
    return buf ? buf : malloc(p->bufsize);
}

void fuse_bufpool_put(struct fuse_bufpool *p, void *buf, size_t size)
{
    if (!buf)
        return;
    if (size <= p->bufsize) {
        pthread_mutex_lock(&p->lock);
        if (p->nfree < FUSE_BUFPOOL_SLOTS) {
            p->free[p->nfree++] = buf;
            buf = NULL;
        }
        pthread_mutex_unlock(&p->lock);
    }
    free(buf);
}
