/*
 * The simulator's clock and plumbing: the seeded random source, the event
 * heap ordered by (time, sequence), and the pool of reused message buffers.
 */
#include "tests/consensus/sim.h"

#include "consensus/rng.h"

#include <stdlib.h>
#include <string.h>

uint64_t sim_rand(struct world *w, uint64_t lo, uint64_t hi)
{
    return rng_range(&w->rng, lo, hi);
}

int sim_chance(struct world *w, uint32_t pm)
{
    return pm && rng_next(&w->rng) % 1000 < pm;
}

static int ev_less(const struct ev *a, const struct ev *b)
{
    return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

void ev_push(struct world *w, struct ev ev)
{
    if (w->hn == w->hcap) {
        size_t n = w->hcap ? w->hcap * 2 : 1024;
        struct ev *h = realloc(w->heap, n * sizeof(*h));
        if (!h) {
            sim_fail(w, "out of memory");
            return;
        }
        w->heap = h;
        w->hcap = n;
    }
    ev.seq = w->seq++;
    size_t i = w->hn++;
    while (i > 0 && ev_less(&ev, &w->heap[(i - 1) / 2])) {
        w->heap[i] = w->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    w->heap[i] = ev;
}

struct ev ev_pop(struct world *w)
{
    struct ev top = w->heap[0], last = w->heap[--w->hn];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= w->hn)
            break;
        if (c + 1 < w->hn && ev_less(&w->heap[c + 1], &w->heap[c]))
            c++;
        if (!ev_less(&w->heap[c], &last))
            break;
        w->heap[i] = w->heap[c];
        i = c;
    }
    if (w->hn)
        w->heap[i] = last;
    return top;
}

void ev_schedule(struct world *w, uint64_t at, uint8_t type, uint32_t node, int32_t arg)
{
    ev_push(w, (struct ev){.t = at, .type = type, .node = (uint8_t)node, .buf = arg});
}

int32_t buf_get(struct world *w, const uint8_t *data, size_t len)
{
    if (!w->nfree)
        return -1;
    int32_t i = w->free_bufs[--w->nfree];
    struct msgbuf *b = &w->bufs[i];
    if (b->cap < len) {
        uint8_t *d = realloc(b->data, len);
        if (!d) {
            w->free_bufs[w->nfree++] = i;
            return -1;
        }
        b->data = d;
        b->cap = (uint32_t)len;
    }
    memcpy(b->data, data, len);
    b->len = (uint32_t)len;
    return i;
}

void buf_put(struct world *w, int32_t i)
{
    w->free_bufs[w->nfree++] = i;
}
