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

/* Bytes fetched since the last sample: the largest of what the cluster's
 * counter, its fetch queue and this node's own count of missing bytes say.
 * Each misses some of what arrives: the counter may not be kept and has only
 * what this node's fetches received (a push brings the rest), the queue holds
 * only what is being fetched, the count rises as commands apply. While
 * something is missing, the scan is redone here, at most once a second. */
static uint64_t fetched_now(struct control_server *s, uint64_t *missing)
{
    const struct control_rates *r = &s->rates;
    const struct cluster_status *st = &s->st;
    const struct core_sync_all *all;
    uint64_t n = st->fetched_bytes_total > r->fetched ? st->fetched_bytes_total - r->fetched : 0;
    if (r->queue > st->fetch_bytes && r->queue - st->fetch_bytes > n)
        n = r->queue - st->fetch_bytes;
    uint64_t prev = r->missing;
    *missing = 0;
    if ((prev > 0 || (s->scan.valid && s->scan.all.missing_bytes > 0)) &&
        control_scan(s, &all) == 0)
        *missing = all->missing_bytes;
    return prev > *missing && prev - *missing > n ? prev - *missing : n;
}

void control_sample(struct control_server *s)
{
    struct control_rates *r = &s->rates;
    int64_t t = control_now_ms();
    uint64_t missing = 0;
    if (s->ops.get_status(s->ops.ctx, &s->st) != 0) {
        r->t_ms = t; /* retried at the next tick; the rates keep their last values */
        return;
    }
    if (r->t_ms > 0 && t > r->t_ms) {
        double secs = (double)(t - r->t_ms) / 1000.0;
        r->fetch_bps = smooth(r->fetch_bps, fetched_now(s, &missing), 0, secs);
        r->push_bps = smooth(r->push_bps, s->st.pushed_bytes_total, r->pushed, secs);
        r->apply_per_s = smooth(r->apply_per_s, s->st.applied, r->applied, secs);
    }
    r->t_ms = t;
    r->missing = missing;
    r->fetched = s->st.fetched_bytes_total;
    r->queue = s->st.fetch_bytes;
    r->pushed = s->st.pushed_bytes_total;
    r->applied = s->st.applied;
}
