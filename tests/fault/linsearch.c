/*
 * linsearch.c - just-in-time linearization search (Wing & Gong, with Lowe's
 * memoization of (linearized set, model state) pairs).
 *
 * Events (calls and returns) sit in a doubly linked list in time order.
 * Walking from the head, a call is a candidate linearization point: if the
 * model accepts it and the resulting configuration was never seen, the op is
 * lifted out of the list and the walk restarts. Reaching a return means an
 * op that had to be linearized by then was not: backtrack. Unknown ops have
 * no return event, so they never force a backtrack.
 */
#include "tests/fault/linsearch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct event {
    int64_t time;
    uint32_t op;
    uint32_t is_call;
    uint32_t prev, next; /* list links; index n_ev is the sentinel */
};

/* Open-addressed set of seen configurations; arena holds, per entry, the
 * state followed by the bitset words. */
struct seen {
    uint32_t *slots; /* entry number + 1, 0 = empty */
    size_t cap, count, words, max_bytes;
    uint64_t *arena;
    uint64_t *hashes;
};

struct frame {
    uint32_t ev;
    dm_state state;
};

struct search {
    const struct ls_op *ops;
    size_t n, n_ev, n_done, done_linearized;
    struct event *ev;
    uint32_t *ret_of; /* op -> its return event, or UINT32_MAX */
    uint64_t *zob, *bits, hash;
    struct frame *stack;
    size_t depth;
    struct seen seen;
};

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static int cmp_event(const void *pa, const void *pb)
{
    const struct event *a = pa, *b = pb;

    if (a->time != b->time)
        return a->time < b->time ? -1 : 1;
    /* Calls before returns at equal times: treat touching ops as concurrent. */
    if (a->is_call != b->is_call)
        return a->is_call ? -1 : 1;
    return a->op < b->op ? -1 : a->op > b->op;
}

static size_t seen_bytes(const struct seen *s, size_t cap, size_t entries)
{
    return cap * sizeof(uint32_t) + entries * (s->words + 1 + 1) * sizeof(uint64_t);
}

static int seen_grow(struct seen *s)
{
    size_t ncap = s->cap ? s->cap * 2 : 1024;
    size_t nent = ncap / 2;
    uint32_t *slots;
    uint64_t *arena, *hashes;

    if (seen_bytes(s, ncap, nent) > s->max_bytes)
        return -ENOMEM;
    slots = calloc(ncap, sizeof(*slots));
    arena = realloc(s->arena, nent * (s->words + 1) * sizeof(uint64_t));
    if (arena)
        s->arena = arena;
    hashes = realloc(s->hashes, nent * sizeof(uint64_t));
    if (hashes)
        s->hashes = hashes;
    if (!slots || !arena || !hashes) {
        free(slots);
        return -ENOMEM;
    }
    for (size_t e = 0; e < s->count; e++) {
        size_t i = s->hashes[e] & (ncap - 1);
        while (slots[i])
            i = (i + 1) & (ncap - 1);
        slots[i] = (uint32_t)(e + 1);
    }
    free(s->slots);
    s->slots = slots;
    s->cap = ncap;
    return 0;
}

/* Returns 1 if (bits, state) was new and is now recorded, 0 if seen before. */
static int seen_insert(struct seen *s, const uint64_t *bits, uint64_t hash, dm_state state)
{
    size_t i;
    uint64_t *rec;

    hash ^= splitmix(&(uint64_t){state});
    if ((s->count + 1) * 2 > s->cap) {
        int rc = seen_grow(s);
        if (rc < 0)
            return rc;
    }
    for (i = hash & (s->cap - 1); s->slots[i]; i = (i + 1) & (s->cap - 1)) {
        size_t e = s->slots[i] - 1;
        rec = s->arena + e * (s->words + 1);
        if (s->hashes[e] == hash && rec[0] == state &&
            memcmp(rec + 1, bits, s->words * sizeof(uint64_t)) == 0)
            return 0;
    }
    rec = s->arena + s->count * (s->words + 1);
    rec[0] = state;
    memcpy(rec + 1, bits, s->words * sizeof(uint64_t));
    s->hashes[s->count] = hash;
    s->slots[i] = (uint32_t)++s->count;
    return 1;
}

static void unlink_event(struct event *ev, uint32_t i)
{
    ev[ev[i].prev].next = ev[i].next;
    ev[ev[i].next].prev = ev[i].prev;
}

static void relink_event(struct event *ev, uint32_t i)
{
    ev[ev[i].prev].next = i;
    ev[ev[i].next].prev = i;
}

static void lift(struct search *s, uint32_t call_ev)
{
    uint32_t op = s->ev[call_ev].op;

    unlink_event(s->ev, call_ev);
    if (s->ret_of[op] != UINT32_MAX) {
        unlink_event(s->ev, s->ret_of[op]);
        s->done_linearized++;
    }
    s->bits[op / 64] |= 1ull << (op % 64);
    s->hash ^= s->zob[op];
}

static void unlift(struct search *s, uint32_t call_ev)
{
    uint32_t op = s->ev[call_ev].op;

    if (s->ret_of[op] != UINT32_MAX) {
        relink_event(s->ev, s->ret_of[op]);
        s->done_linearized--;
    }
    relink_event(s->ev, call_ev);
    s->bits[op / 64] &= ~(1ull << (op % 64));
    s->hash ^= s->zob[op];
}

static int build_events(struct search *s)
{
    uint64_t seed = 0x51f0f0f0ull;
    size_t k = 0;

    for (size_t i = 0; i < s->n; i++) {
        const struct ls_op *o = &s->ops[i];
        if (o->ret != LS_NEVER && o->ret < o->call)
            return -EINVAL;
        s->zob[i] = splitmix(&seed);
        s->ev[k++] = (struct event){.time = o->call, .op = (uint32_t)i, .is_call = 1};
        if (o->ret != LS_NEVER) {
            s->ev[k++] = (struct event){.time = o->ret, .op = (uint32_t)i, .is_call = 0};
            s->n_done++;
        }
    }
    s->n_ev = k;
    qsort(s->ev, k, sizeof(*s->ev), cmp_event);
    for (size_t i = 0; i <= k; i++) {
        s->ev[i].prev = (uint32_t)(i == 0 ? k : i - 1);
        s->ev[i].next = (uint32_t)(i == k ? 0 : i + 1);
        if (i < k && !s->ev[i].is_call)
            s->ret_of[s->ev[i].op] = (uint32_t)i;
    }
    return 0;
}

static int search_alloc(struct search *s, const struct ls_op *ops, size_t n, size_t max_bytes)
{
    memset(s, 0, sizeof(*s));
    s->ops = ops;
    s->n = n;
    s->seen.words = (n + 63) / 64 ? (n + 63) / 64 : 1;
    s->seen.max_bytes = max_bytes;
    s->ev = calloc(2 * n + 1, sizeof(*s->ev));
    s->ret_of = malloc((n ? n : 1) * sizeof(*s->ret_of));
    s->zob = calloc(n ? n : 1, sizeof(*s->zob));
    s->bits = calloc(s->seen.words, sizeof(*s->bits));
    s->stack = calloc(n ? n : 1, sizeof(*s->stack));
    if (!s->ev || !s->ret_of || !s->zob || !s->bits || !s->stack)
        return -ENOMEM;
    memset(s->ret_of, 0xff, (n ? n : 1) * sizeof(*s->ret_of));
    return 0;
}

static void search_free(struct search *s)
{
    free(s->ev);
    free(s->ret_of);
    free(s->zob);
    free(s->bits);
    free(s->stack);
    free(s->seen.slots);
    free(s->seen.arena);
    free(s->seen.hashes);
}

/* Tries the call event e in state *state; returns 1 if it was linearized. */
static int try_call(struct search *s, uint32_t e, dm_state *state)
{
    uint32_t op = s->ev[e].op;
    dm_state next;
    enum dm_res got = dm_step(*state, &s->ops[op].args, &next);
    int fresh;

    if (s->ops[op].res != DM_ANY && s->ops[op].res != got)
        return 0;
    s->bits[op / 64] ^= 1ull << (op % 64);
    fresh = seen_insert(&s->seen, s->bits, s->hash ^ s->zob[op], next);
    s->bits[op / 64] ^= 1ull << (op % 64);
    if (fresh <= 0)
        return fresh;
    s->stack[s->depth++] = (struct frame){.ev = e, .state = *state};
    lift(s, e);
    *state = next;
    return 1;
}

static void note_stuck(struct search *s, uint32_t e, dm_state state, struct ls_report *rep)
{
    if (s->depth >= rep->best_depth && e != s->n_ev) {
        rep->best_depth = s->depth;
        rep->stuck_op = s->ev[e].op;
        rep->best_state = state;
    }
}

static enum ls_verdict run(struct search *s, dm_state state, const struct ls_limits *lim,
                           struct ls_report *rep)
{
    const uint32_t head = (uint32_t)s->n_ev;
    uint32_t e = s->ev[head].next;

    while (s->done_linearized < s->n_done) {
        if (e == head || !s->ev[e].is_call) {
            struct frame f;
            note_stuck(s, e, state, rep);
            if (s->depth == 0)
                return LS_NOT_LINEARIZABLE;
            f = s->stack[--s->depth];
            unlift(s, f.ev);
            state = f.state;
            e = s->ev[f.ev].next;
            continue;
        }
        if (++rep->steps > lim->max_steps)
            return LS_INCONCLUSIVE;
        int rc = try_call(s, e, &state);
        if (rc < 0)
            return LS_INCONCLUSIVE;
        e = rc ? s->ev[head].next : s->ev[e].next;
    }
    rep->best_depth = s->depth;
    rep->best_state = state;
    return LS_LINEARIZABLE;
}

int ls_check(const struct ls_op *ops, size_t n, dm_state init, const struct ls_limits *lim,
             struct ls_report *rep)
{
    struct search s;
    int rc;

    memset(rep, 0, sizeof(*rep));
    if (n >= UINT32_MAX / 2)
        return -EINVAL;
    rc = search_alloc(&s, ops, n, lim->max_cache_bytes);
    if (rc == 0)
        rc = build_events(&s);
    if (rc == 0)
        rep->verdict = run(&s, init, lim, rep);
    search_free(&s);
    return rc;
}
