/* leader_place.c - when to hand the leadership over (leader_place.h). */
#include "fs/cluster/leader_place.h"

#include <string.h>

void leader_place_init(struct leader_place *p)
{
    memset(p, 0, sizeof(*p));
    p->last_top = p->due = -1;
}

void leader_place_note(struct leader_place *p, uint32_t origin)
{
    if (p->leading && origin < CONS_MAX_NODES)
        p->count[origin]++;
}

static void new_window(struct leader_place *p, uint64_t now_us)
{
    memset(p->count, 0, sizeof(p->count));
    p->window_start_us = now_us;
}

/* The node that proposed PLACE_SHARE_PCT of the window's commands, if any. */
static int32_t window_top(const struct leader_place *p)
{
    uint64_t total = 0;
    int32_t top = 0;
    for (int32_t i = 0; i < CONS_MAX_NODES; i++) {
        total += p->count[i];
        if (p->count[i] > p->count[top])
            top = i;
    }
    if (total < PLACE_MIN_CMDS || (uint64_t)p->count[top] * 100 < total * PLACE_SHARE_PCT)
        return -1;
    return top;
}

int32_t leader_place_due(struct leader_place *p, uint32_t self, bool leader, uint64_t now_us)
{
    if (!leader || !p->leading) { /* counts start with the leadership */
        p->leading = leader;
        p->last_top = p->due = -1;
        new_window(p, now_us);
        return -1;
    }
    if (p->due >= 0 && now_us >= p->due_until_us)
        p->due = -1;
    if (now_us < p->window_start_us + PLACE_WINDOW_MS * 1000ull)
        return p->due;
    int32_t top = window_top(p);
    if (top >= 0 && (uint32_t)top != self && top == p->last_top && now_us >= p->quiet_until_us) {
        p->due = top;
        p->due_until_us = now_us + PLACE_WINDOW_MS * 1000ull;
    }
    p->last_top = top;
    new_window(p, now_us);
    return p->due;
}

void leader_place_done(struct leader_place *p, uint64_t now_us)
{
    p->due = p->last_top = -1;
    p->quiet_until_us = now_us + PLACE_QUIET_MS * 1000ull;
}
