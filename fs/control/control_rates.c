/* control_rates.c - fetch, push and apply rates, sampled once a second. */
#include "fs/control/control_internal.h"

/* Weight of the newest sample: about a 3-second memory at one sample a second. */
#define RATE_ALPHA 0.3

/* From idle (old == 0) the first sample counts fully: a transfer that starts
 * shows its rate at once instead of creeping up to it. */
static double smooth(double old, uint64_t now, uint64_t then, double secs)
{
    double inst = now >= then ? (double)(now - then) / secs : 0.0;
    return old == 0.0 ? inst : RATE_ALPHA * inst + (1.0 - RATE_ALPHA) * old;
}

/* Bytes fetched since the last sample: the counter when the cluster keeps
 * one, else how much the queue of bytes still to fetch shrank. */
static uint64_t fetched_now(const struct control_rates *r, const struct cluster_status *st)
{
    if (st->fetched_bytes_total > r->fetched)
        return st->fetched_bytes_total - r->fetched;
    return r->queue > st->fetch_bytes ? r->queue - st->fetch_bytes : 0;
}

void control_sample(struct control_server *s)
{
    struct control_rates *r = &s->rates;
    int64_t t = control_now_ms();
    if (s->ops.get_status(s->ops.ctx, &s->st) != 0) {
        r->t_ms = t; /* retried at the next tick; the rates keep their last values */
        return;
    }
    if (r->t_ms > 0 && t > r->t_ms) {
        double secs = (double)(t - r->t_ms) / 1000.0;
        r->fetch_bps = smooth(r->fetch_bps, fetched_now(r, &s->st), 0, secs);
        r->push_bps = smooth(r->push_bps, s->st.pushed_bytes_total, r->pushed, secs);
        r->apply_per_s = smooth(r->apply_per_s, s->st.applied, r->applied, secs);
    }
    r->t_ms = t;
    r->fetched = s->st.fetched_bytes_total;
    r->queue = s->st.fetch_bytes;
    r->pushed = s->st.pushed_bytes_total;
    r->applied = s->st.applied;
}
