/* gc_grace.c - touch filter and dead-since table of the GC (gc_grace.h). */
#include "fs/core/gc_grace.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TOUCH_BITS ((uint32_t)1 << 20) /* per generation: 128 KiB */
#define DEAD_SLOTS ((uint32_t)1 << 15) /* per table; filled at most half */

struct gc_dead_ent {
    uint8_t hash[SHA256_LEN];
    uint64_t since_ms;
    uint64_t pass; /* valid in the pass it was kept in */
};

uint64_t gc_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* SHA-256 names are uniform: their bytes are the filter's hash functions. */
static uint32_t word_at(const uint8_t *hash, int i)
{
    uint32_t w;
    memcpy(&w, hash + 4 * i, sizeof(w));
    return w;
}

int gc_touches_init(struct gc_touches *t)
{
    memset(t, 0, sizeof(*t));
    t->bits[0] = calloc(TOUCH_BITS / 64, sizeof(uint64_t));
    t->bits[1] = calloc(TOUCH_BITS / 64, sizeof(uint64_t));
    t->gen_start_ms = gc_now_ms();
    if (!t->bits[0] || !t->bits[1]) {
        gc_touches_free(t);
        return -ENOMEM;
    }
    return 0;
}

void gc_touches_free(struct gc_touches *t)
{
    free(t->bits[0]);
    free(t->bits[1]);
    t->bits[0] = t->bits[1] = NULL;
}

/* A generation lasts at least grace: a touch stays in the newer one for the
 * rest of it and in the older one for a whole generation after. */
static void rotate(struct gc_touches *t, uint64_t now_ms, uint64_t grace_ms)
{
    if (now_ms - t->gen_start_ms < grace_ms)
        return;
    t->cur ^= 1;
    memset(t->bits[t->cur], 0, TOUCH_BITS / 8);
    t->gen_start_ms = now_ms;
}

void gc_touches_add(struct gc_touches *t, const uint8_t hash[SHA256_LEN], uint64_t now_ms,
                    uint64_t grace_ms)
{
    rotate(t, now_ms, grace_ms);
    for (int i = 2; i < 4; i++) {
        uint32_t b = word_at(hash, i) % TOUCH_BITS;
        t->bits[t->cur][b / 64] |= (uint64_t)1 << (b % 64);
    }
}

static bool in_gen(const uint64_t *bits, const uint8_t *hash)
{
    for (int i = 2; i < 4; i++) {
        uint32_t b = word_at(hash, i) % TOUCH_BITS;
        if (!(bits[b / 64] & ((uint64_t)1 << (b % 64))))
            return false;
    }
    return true;
}

bool gc_touches_recent(struct gc_touches *t, const uint8_t hash[SHA256_LEN], uint64_t now_ms,
                       uint64_t grace_ms)
{
    rotate(t, now_ms, grace_ms);
    return in_gen(t->bits[0], hash) || in_gen(t->bits[1], hash);
}

int gc_dead_init(struct gc_dead *d)
{
    d->tab[0] = calloc(DEAD_SLOTS, sizeof(struct gc_dead_ent));
    d->tab[1] = calloc(DEAD_SLOTS, sizeof(struct gc_dead_ent));
    d->pass = 2; /* zeroed slots carry pass 0: never valid */
    d->n_kept = 0;
    if (!d->tab[0] || !d->tab[1]) {
        gc_dead_free(d);
        return -ENOMEM;
    }
    return 0;
}

void gc_dead_free(struct gc_dead *d)
{
    free(d->tab[0]);
    free(d->tab[1]);
    d->tab[0] = d->tab[1] = NULL;
}

/* Linear probing; a slot of another pass is empty for this one. */
uint64_t gc_dead_since(const struct gc_dead *d, const uint8_t hash[SHA256_LEN], uint64_t now_ms)
{
    const struct gc_dead_ent *tab = d->tab[(d->pass - 1) & 1];
    for (uint32_t i = word_at(hash, 4) % DEAD_SLOTS;; i = (i + 1) % DEAD_SLOTS) {
        if (tab[i].pass != d->pass - 1)
            return now_ms;
        if (memcmp(tab[i].hash, hash, SHA256_LEN) == 0)
            return tab[i].since_ms;
    }
}

void gc_dead_keep(struct gc_dead *d, const uint8_t hash[SHA256_LEN], uint64_t since_ms)
{
    if (d->n_kept >= DEAD_SLOTS / 2)
        return;
    struct gc_dead_ent *tab = d->tab[d->pass & 1];
    uint32_t i = word_at(hash, 4) % DEAD_SLOTS;
    while (tab[i].pass == d->pass) {
        if (memcmp(tab[i].hash, hash, SHA256_LEN) == 0)
            return;
        i = (i + 1) % DEAD_SLOTS;
    }
    memcpy(tab[i].hash, hash, SHA256_LEN);
    tab[i].since_ms = since_ms;
    tab[i].pass = d->pass;
    d->n_kept++;
}

void gc_dead_next_pass(struct gc_dead *d)
{
    d->pass++;
    d->n_kept = 0;
}
