#include "fs/fuse/invalidate.h"

#include "common/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define INVAL_QUEUE 16384

struct inval_rec {
    uint64_t ino;     /* the inode, or the directory for an entry */
    uint16_t namelen; /* 0: an inode record */
    char name[256];
};

struct inval {
    struct fuse_session *se;
    pthread_t thread;
    pthread_mutex_t lock; /* guards q*, recorded, told, stop, dropped */
    pthread_cond_t work;  /* records queued, or stop */
    pthread_cond_t told_cond;
    struct inval_rec *q;
    uint32_t head, n;
    uint64_t recorded; /* every record up to this slot is queued */
    uint64_t told;     /* every record up to this slot reached the kernel */
    uint64_t dropped;
    bool stop;
};

static void push(struct inval *iv, uint64_t ino, const char *name, size_t len)
{
    pthread_mutex_lock(&iv->lock);
    if (iv->n == INVAL_QUEUE || len > 255) {
        iv->dropped++;
    } else {
        struct inval_rec *r = &iv->q[(iv->head + iv->n++) % INVAL_QUEUE];
        r->ino = ino;
        r->namelen = (uint16_t)len;
        if (len)
            memcpy(r->name, name, len);
        pthread_cond_signal(&iv->work);
    }
    pthread_mutex_unlock(&iv->lock);
}

void inval_inode(struct inval *iv, uint64_t slot, uint64_t ino)
{
    (void)slot;
    push(iv, ino, NULL, 0);
}

void inval_entry(struct inval *iv, uint64_t slot, uint64_t parent, const char *name, size_t len)
{
    (void)slot;
    push(iv, parent, name, len);
    push(iv, parent, NULL, 0); /* its size, times and listing changed too */
}

void inval_applied(struct inval *iv, uint64_t slot)
{
    pthread_mutex_lock(&iv->lock);
    iv->recorded = slot;
    pthread_cond_signal(&iv->work);
    pthread_mutex_unlock(&iv->lock);
}

/* -ENOENT: the kernel had nothing cached for it, which is fine. */
static void tell_kernel(struct inval *iv, const struct inval_rec *r)
{
    int rc = r->namelen ? fuse_lowlevel_notify_inval_entry(iv->se, r->ino, r->name, r->namelen)
                        : fuse_lowlevel_notify_inval_inode(iv->se, r->ino, 0, 0);
    if (rc && rc != -ENOENT && rc != -ENOTCONN)
        log_debug("invalidate ino %llu: %s", (unsigned long long)r->ino, strerror(-rc));
}

static void *inval_main(void *arg)
{
    struct inval *iv = arg;
    struct inval_rec r;
    pthread_mutex_lock(&iv->lock);
    while (!iv->stop) {
        if (!iv->n) {
            iv->told = iv->recorded; /* queue empty: all recorded ones are told */
            pthread_cond_broadcast(&iv->told_cond);
            pthread_cond_wait(&iv->work, &iv->lock);
            continue;
        }
        r = iv->q[iv->head];
        iv->head = (iv->head + 1) % INVAL_QUEUE;
        iv->n--;
        pthread_mutex_unlock(&iv->lock);
        tell_kernel(iv, &r);
        pthread_mutex_lock(&iv->lock);
    }
    pthread_mutex_unlock(&iv->lock);
    return NULL;
}

int inval_wait(struct inval *iv, uint64_t slot, int timeout_ms)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += timeout_ms / 1000;
    dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    dl.tv_sec += dl.tv_nsec / 1000000000L;
    dl.tv_nsec %= 1000000000L;
    int rc = 0;
    pthread_mutex_lock(&iv->lock);
    while (iv->told < slot && rc == 0)
        rc = pthread_cond_timedwait(&iv->told_cond, &iv->lock, &dl);
    pthread_mutex_unlock(&iv->lock);
    return rc ? -ETIMEDOUT : 0;
}

uint64_t inval_dropped(struct inval *iv)
{
    pthread_mutex_lock(&iv->lock);
    uint64_t d = iv->dropped;
    pthread_mutex_unlock(&iv->lock);
    return d;
}

int inval_start(struct fuse_session *se, struct inval **out)
{
    struct inval *iv = calloc(1, sizeof(*iv));
    if (!iv || !(iv->q = malloc(sizeof(*iv->q) * INVAL_QUEUE))) {
        free(iv);
        return -ENOMEM;
    }
    iv->se = se;
    pthread_mutex_init(&iv->lock, NULL);
    pthread_cond_init(&iv->work, NULL);
    pthread_cond_init(&iv->told_cond, NULL);
    int rc = -pthread_create(&iv->thread, NULL, inval_main, iv);
    if (rc) {
        free(iv->q);
        free(iv);
        return rc;
    }
    *out = iv;
    return 0;
}

void inval_stop(struct inval *iv)
{
    if (!iv)
        return;
    pthread_mutex_lock(&iv->lock);
    iv->stop = true;
    pthread_cond_signal(&iv->work);
    pthread_mutex_unlock(&iv->lock);
    pthread_join(iv->thread, NULL);
    pthread_mutex_destroy(&iv->lock);
    pthread_cond_destroy(&iv->work);
    pthread_cond_destroy(&iv->told_cond);
    free(iv->q);
    free(iv);
}
