/*
 * fuse_bufpool.h - reply buffers reused across requests.
 *
 * Reads reply with up to max_read bytes; allocating (and first-touching) a
 * fresh megabyte per request costs more than the copy itself on this kind of
 * VM, so buffers go back to a small pool. Bounded: at most FUSE_BUFPOOL_SLOTS
 * buffers are kept; extra ones are freed on return.
 */
#ifndef QFS_FS_FUSE_FUSE_BUFPOOL_H
#define QFS_FS_FUSE_FUSE_BUFPOOL_H

#include <pthread.h>
#include <stddef.h>

#define FUSE_BUFPOOL_SLOTS 16

struct fuse_bufpool {
    pthread_mutex_t lock; /* guards free[] and nfree */
    size_t bufsize;       /* every buffer's size; immutable */
    void *free[FUSE_BUFPOOL_SLOTS];
    unsigned nfree;
};

void fuse_bufpool_init(struct fuse_bufpool *p, size_t bufsize);
void fuse_bufpool_destroy(struct fuse_bufpool *p);
/* A buffer of at least size bytes, or NULL. Sizes above bufsize are
 * allocated for this one use. */
void *fuse_bufpool_get(struct fuse_bufpool *p, size_t size);
void fuse_bufpool_put(struct fuse_bufpool *p, void *buf, size_t size);

#endif
