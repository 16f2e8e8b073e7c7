/* recent_refs.c - chunks recently removed by this node's commands
 * (recent_refs.h): a list of batches, oldest first, each sorted. */
#include "fs/core/recent_refs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct recent_batch {
    struct recent_batch *next; /* newer */
    uint64_t t_ms;
    size_t n;
    uint8_t h[][32]; /* sorted, no duplicates */
};

void recent_refs_init(struct recent_refs *r, uint64_t window_ms)
{
    *r = (struct recent_refs){.window_ms = window_ms};
    pthread_mutex_init(&r->lock, NULL);
}

/* Lock held. */
static void drop_oldest(struct recent_refs *r)
{
    struct recent_batch *b = r->oldest;
    r->oldest = b->next;
    if (!r->oldest)
        r->newest = NULL;
    r->n_batches--;
    r->n_hashes -= b->n;
    free(b);
}

void recent_refs_destroy(struct recent_refs *r)
{
    while (r->oldest)
        drop_oldest(r);
    pthread_mutex_destroy(&r->lock);
}

/* Lock held. Batches are appended in the order of their times (callers
 * record right after their command), so the expired ones are at the front;
 * one recorded out of order only expires late, never early. */
static void expire(struct recent_refs *r, uint64_t now_ms)
{
    while (r->oldest && now_ms - r->oldest->t_ms >= r->window_ms && now_ms >= r->oldest->t_ms)
        drop_oldest(r);
}

static int cmp_hash(const void *a, const void *b)
{
    return memcmp(a, b, 32);
}

/* Sorts b's hashes and removes duplicates (a run of one chunk: zeros). */
static void sort_unique(struct recent_batch *b)
{
    qsort(b->h, b->n, 32, cmp_hash);
    size_t k = 0;
    for (size_t i = 0; i < b->n; i++)
        if (k == 0 || memcmp(b->h[k - 1], b->h[i], 32) != 0)
            memmove(b->h[k++], b->h[i], 32);
    b->n = k;
}

int recent_refs_add(struct recent_refs *r, const uint8_t (*h)[32], size_t n, uint64_t t_ms)
{
    if (n == 0)
        return 0;
    if (n > RECENT_REFS_MAX)
        return -ENOSPC;
    struct recent_batch *b = malloc(sizeof(*b) + n * 32);
    if (!b)
        return -ENOMEM;
    memcpy(b->h, h, n * 32);
    b->n = n;
    b->t_ms = t_ms;
    b->next = NULL;
    sort_unique(b);
    pthread_mutex_lock(&r->lock);
    expire(r, t_ms);
    while (r->oldest &&
           (r->n_batches == RECENT_REFS_BATCHES || r->n_hashes + b->n > RECENT_REFS_MAX))
        drop_oldest(r);
    if (r->newest)
        r->newest->next = b;
    else
        r->oldest = b;
    r->newest = b;
    r->n_batches++;
    r->n_hashes += b->n;
    pthread_mutex_unlock(&r->lock);
    return 0;
}

bool recent_refs_has(struct recent_refs *r, const uint8_t hash[32], uint64_t now_ms)
{
    bool found = false;
    pthread_mutex_lock(&r->lock);
    expire(r, now_ms);
    for (struct recent_batch *b = r->oldest; b && !found; b = b->next)
        found = now_ms - b->t_ms < r->window_ms && bsearch(hash, b->h, b->n, 32, cmp_hash);
    pthread_mutex_unlock(&r->lock);
    return found;
}
