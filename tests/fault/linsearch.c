/*
 * linsearch.c - just-in-time linearization search (Wing & Gong, with Lowe's
 * memoization of (linearized set, model state) pairs).
 *
 * Events (calls and returns) sit in a doubly linked list in time order.
 * Walking from the head, a call is a candidate linearization point: if the
 * model accepts it and the resulting configuration was never seen, the op is
 * lifted out of the list and the walk restarts. Reaching a return means an
 * op that had to be linearized by then was not: backtrack. Unknown ops have
 * no return event, so they never force a backtrack. Each pending unknown
 * op (one the search chose not to place) costs every later
 * step a list hop, so histories should keep them to hundreds, not
 * thousands (hist2lin.py drops the ones that certainly had no effect).
 *
 * The linearized set is kept as its 128-bit Zobrist signature, updated by
 * one XOR per lift (linmemo.h).
 */
#include "tests/fault/linsearch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fault/linmemo.h"

struct event {
    int64_t time;
    uint32_t op;
    uint32_t is_call;
    uint32_t prev, next; /* list links; index n_ev is the sentinel */
};

struct frame {
    uint32_t ev;
    uint32_t lazy; /* the lazy walk (over unknown ops) placed ev */
    dm_state state;
};

struct search {
    const struct ls_op *ops;
    size_t n, n_ev, n_done, done_linearized;
    struct event *ev;
    uint32_t *ret_of;   /* op -> its return event, or UINT32_MAX */
    uint64_t (*zob)[2]; /* op -> its two Zobrist keys */
    uint64_t sig[2];    /* signature of the linearized set */
    struct frame *stack;
    size_t depth;
    struct lm_set *seen;
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

/* Lifting and unlifting toggle the same keys: XOR is its own inverse. */
static void toggle(struct search *s, uint32_t op)
{
    s->sig[0] ^= s->zob[op][0];
    s->sig[1] ^= s->zob[op][1];
}

static void lift(struct search *s, uint32_t call_ev)
{
    uint32_t op = s->ev[call_ev].op;

    unlink_event(s->ev, call_ev);
    if (s->ret_of[op] != UINT32_MAX) {
        unlink_event(s->ev, s->ret_of[op]);
        s->done_linearized++;
    }
    toggle(s, op);
}

static void unlift(struct search *s, uint32_t call_ev)
{
    uint32_t op = s->ev[call_ev].op;

    if (s->ret_of[op] != UINT32_MAX) {
        relink_event(s->ev, s->ret_of[op]);
        s->done_linearized--;
    }
    relink_event(s->ev, call_ev);
    toggle(s, op);
}

static int remember(struct search *s, dm_state state)
{
    struct lm_key k = {.sig = {s->sig[0], s->sig[1]}, .state = state};

    return lm_insert(s->seen, &k);
}

static int build_events(struct search *s)
{
    uint64_t seed = 0x51f0f0f0ull;
    uint32_t k = 0;

    for (size_t i = 0; i < s->n; i++) {
        const struct ls_op *o = &s->ops[i];
        if (o->ret != LS_NEVER && o->ret < o->call)
            return -EINVAL;
        s->zob[i][0] = splitmix(&seed);
        s->zob[i][1] = splitmix(&seed);
        s->ev[k++] = (struct event){.time = o->call, .op = (uint32_t)i, .is_call = 1};
        if (o->ret != LS_NEVER) {
            s->ev[k++] = (struct event){.time = o->ret, .op = (uint32_t)i, .is_call = 0};
            s->n_done++;
        }
    }
    s->n_ev = k;
    qsort(s->ev, k, sizeof(*s->ev), cmp_event);
    for (uint32_t i = 0; i <= k; i++) {
        s->ev[i].prev = i == 0 ? k : i - 1;
        s->ev[i].next = i == k ? 0 : i + 1;
        if (i < k && !s->ev[i].is_call)
            s->ret_of[s->ev[i].op] = i;
    }
    return 0;
}

static int search_alloc(struct search *s, const struct ls_op *ops, size_t n, size_t max_bytes)
{
    size_t m = n ? n : 1;

    memset(s, 0, sizeof(*s));
    s->ops = ops;
    s->n = n;
    s->ev = calloc(2 * n + 1, sizeof(*s->ev));
    s->ret_of = malloc(m * sizeof(*s->ret_of));
    s->zob = calloc(m, sizeof(*s->zob));
    s->stack = calloc(m, sizeof(*s->stack));
    s->seen = lm_create(max_bytes);
    if (!s->ev || !s->ret_of || !s->zob || !s->stack || !s->seen)
        return -ENOMEM;
    memset(s->ret_of, 0xff, m * sizeof(*s->ret_of));
    return 0;
}

static void search_free(struct search *s)
{
    free(s->ev);
    free(s->ret_of);
    free(s->zob);
    free(s->stack);
    lm_destroy(s->seen);
}

/* Tries the call event e in state *state; returns 1 if it was linearized,
 * 0 if not, -ENOMEM when the memo is full. */
static int try_call(struct search *s, uint32_t e, uint32_t lazy, dm_state *state)
{
    uint32_t op = s->ev[e].op;
    dm_state next;
    enum dm_res got = dm_step(*state, &s->ops[op].args, &next);
    int fresh;

    if (s->ops[op].res != DM_ANY && s->ops[op].res != got)
        return 0;
    /* An unknown op that changes nothing here (a create of a name that
     * exists) may as well never take effect, which the search covers by
     * leaving it in the list: placing it would only add a linearized set
     * that differs from an explored one by an op without effect. */
    if (lazy && next == *state)
        return 0;
    lift(s, e);
    fresh = remember(s, next);
    if (fresh <= 0) {
        unlift(s, e);
        return fresh;
    }
    s->stack[s->depth++] = (struct frame){.ev = e, .lazy = lazy, .state = *state};
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

static bool unknown_call(const struct search *s, uint32_t e)
{
    return s->ops[s->ev[e].op].ret == LS_NEVER;
}

/* Candidates at a configuration are the calls before the first pending
 * return, tried in time order (eager: an unknown op is placed at the first
 * point it fits, right for ops that took effect when called). With
 * lim->lazy_unknown the walk tries the completed candidates first and the
 * unknown ones only once it is stuck at that return (the lazy walk): an
 * unknown op is placed where something needs it, right for ops that never
 * took effect or did much later. Same candidates, other order: both
 * searches are complete, and differ only in how fast they decide. */
static enum ls_verdict run(struct search *s, dm_state state, const struct ls_limits *lim,
                           struct ls_report *rep)
{
    const uint32_t head = (uint32_t)s->n_ev;
    uint32_t e = s->ev[head].next, lazy = 0;

    while (s->done_linearized < s->n_done) {
        if (e == head || !s->ev[e].is_call) {
            if (lim->lazy_unknown && !lazy && e != head) {
                lazy = 1;
                e = s->ev[head].next;
                continue;
            }
            struct frame f;
            note_stuck(s, e, state, rep);
            if (s->depth == 0)
                return LS_NOT_LINEARIZABLE;
            f = s->stack[--s->depth];
            unlift(s, f.ev);
            state = f.state;
            e = s->ev[f.ev].next;
            lazy = f.lazy;
            continue;
        }
        if (lim->lazy_unknown && unknown_call(s, e) != (lazy != 0)) {
            e = s->ev[e].next;
            continue;
        }
        if (++rep->steps > lim->max_steps)
            return LS_INCONCLUSIVE;
        int rc = try_call(s, e, lazy, &state);
        if (rc < 0)
            return LS_INCONCLUSIVE;
        if (rc) {
            e = s->ev[head].next;
            lazy = 0;
        } else {
            e = s->ev[e].next;
        }
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
