/* De-dup window per origin node (see dedup.h). */
#include "consensus/dedup.h"

#include "common/bytes.h"

#include <string.h>

static void flip(uint64_t *bits, uint64_t id, int set)
{
    uint64_t i = id % DEDUP_WINDOW;
    if (set)
        bits[i / 64] |= 1ull << (i % 64);
    else
        bits[i / 64] &= ~(1ull << (i % 64));
}

static int test(const uint64_t *bits, uint64_t id)
{
    uint64_t i = id % DEDUP_WINDOW;
    return (bits[i / 64] >> (i % 64)) & 1;
}

int dedup_admit(struct dedup_table *t, uint32_t origin, uint64_t req_id)
{
    if (origin >= CONS_MAX_NODES || req_id == 0)
        return 0;
    uint64_t *high = &t->o[origin].high, *bits = t->o[origin].bits;
    if (req_id > *high) {
        if (req_id - *high >= DEDUP_WINDOW)
            memset(t->o[origin].bits, 0, sizeof(t->o[origin].bits));
        else
            for (uint64_t id = *high + 1; id < req_id; id++)
                flip(bits, id, 0); /* ids skipped so far: not applied yet */
        flip(bits, req_id, 1);
        *high = req_id;
        return 1;
    }
    if (*high - req_id >= DEDUP_WINDOW || test(bits, req_id))
        return 0;
    flip(bits, req_id, 1);
    return 1;
}

int dedup_too_old(const struct dedup_table *t, uint32_t origin, uint64_t req_id)
{
    if (origin >= CONS_MAX_NODES)
        return 1;
    uint64_t high = t->o[origin].high;
    return req_id <= high && high - req_id >= DEDUP_WINDOW;
}

void dedup_encode(const struct dedup_table *t, uint8_t out[DEDUP_ENC_LEN])
{
    for (int i = 0; i < CONS_MAX_NODES; i++) {
        uint8_t *p = out + i * 8 * (1 + DEDUP_WORDS);
        put_u64(p, t->o[i].high);
        for (int w = 0; w < DEDUP_WORDS; w++)
            put_u64(p + 8 * (1 + w), t->o[i].bits[w]);
    }
}

void dedup_decode(struct dedup_table *t, const uint8_t in[DEDUP_ENC_LEN])
{
    for (int i = 0; i < CONS_MAX_NODES; i++) {
        const uint8_t *p = in + i * 8 * (1 + DEDUP_WORDS);
        t->o[i].high = get_u64(p);
        for (int w = 0; w < DEDUP_WORDS; w++)
            t->o[i].bits[w] = get_u64(p + 8 * (1 + w));
    }
}
