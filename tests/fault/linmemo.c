/* linmemo.c - open-addressed hash set of explored search configurations,
 * keys stored inline; a slot whose sig[1] is 0 is empty (stored keys have
 * bit 0 of sig[1] forced to 1, which costs one bit of the signature). */
#include "tests/fault/linmemo.h"

#include <errno.h>
#include <stdlib.h>

struct lm_set {
    struct lm_key *slots;
    size_t cap, count, max_bytes;
};

struct lm_set *lm_create(size_t max_bytes)
{
    struct lm_set *s = calloc(1, sizeof(*s));

    if (s)
        s->max_bytes = max_bytes;
    return s;
}

void lm_destroy(struct lm_set *s)
{
    if (!s)
        return;
    free(s->slots);
    free(s);
}

static uint64_t slot_hash(const struct lm_key *k)
{
    uint64_t h = k->sig[0] ^ (k->state * 0x9e3779b97f4a7c15ull);

    return h ^ (h >> 29);
}

static void put(struct lm_key *slots, size_t cap, const struct lm_key *k)
{
    size_t i = slot_hash(k) & (cap - 1);

    while (slots[i].sig[1])
        i = (i + 1) & (cap - 1);
    slots[i] = *k;
}

static int grow(struct lm_set *s)
{
    size_t ncap = s->cap ? 2 * s->cap : 4096;
    struct lm_key *slots;

    if (ncap * sizeof(*slots) > s->max_bytes)
        return -ENOMEM;
    slots = calloc(ncap, sizeof(*slots));
    if (!slots)
        return -ENOMEM;
    for (size_t i = 0; i < s->cap; i++)
        if (s->slots[i].sig[1])
            put(slots, ncap, &s->slots[i]);
    free(s->slots);
    s->slots = slots;
    s->cap = ncap;
    return 0;
}

int lm_insert(struct lm_set *s, const struct lm_key *key)
{
    struct lm_key k = *key;
    size_t i;

    k.sig[1] |= 1;
    if ((s->count + 1) * 2 > s->cap) {
        int rc = grow(s);
        if (rc < 0)
            return rc;
    }
    for (i = slot_hash(&k) & (s->cap - 1); s->slots[i].sig[1]; i = (i + 1) & (s->cap - 1)) {
        const struct lm_key *e = &s->slots[i];
        if (e->sig[0] == k.sig[0] && e->sig[1] == k.sig[1] && e->state == k.state)
            return 0;
    }
    s->slots[i] = k;
    s->count++;
    return 1;
}
