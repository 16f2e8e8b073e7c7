#include "fs/core/bufpool.h"

#include <errno.h>
#include <stdlib.h>

int bufpool_init(struct bufpool *p, size_t size, size_t keep)
{
    p->size = size;
    p->keep = keep ? keep : 1;
    p->n_free = 0;
    p->free_list = calloc(p->keep, sizeof(void *));
    if (!p->free_list)
        return -ENOMEM;
    pthread_mutex_init(&p->lock, NULL);
    return 0;
}

void bufpool_destroy(struct bufpool *p)
{
    for (size_t i = 0; i < p->n_free; i++)
        free(p->free_list[i]);
    free(p->free_list);
    pthread_mutex_destroy(&p->lock);
}

void *bufpool_get(struct bufpool *p)
{
    void *b = NULL;
    pthread_mutex_lock(&p->lock);
    if (p->n_free)
        b = p->free_list[--p->n_free];
    pthread_mutex_unlock(&p->lock);
    return b ? b : malloc(p->size);
}

void bufpool_put(struct bufpool *p, void *buf)
{
    if (!buf)
        return;
    pthread_mutex_lock(&p->lock);
    if (p->n_free < p->keep) {
        p->free_list[p->n_free++] = buf;
        buf = NULL;
    }
    pthread_mutex_unlock(&p->lock);
    free(buf);
}
