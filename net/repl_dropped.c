/* Push-dropped notices: a sender that gives up a push job tells the peers
 * that lacked its chunks, so that they pull them at once instead of waiting
 * for a push that will not come (docs/wire-format.md, "push-dropped"). */
#include "net/repl_int.h"

#include "common/bytes.h"
#include "common/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define GONE_SLOTS (2 * GONE_GEN_KEYS)

void repl_dropped_free(struct repl *r)
{
    for (int p = 0; p < NET_MAX_PEERS; p++)
        free(r->dropped_out[p].hashes);
    free(r->gone.cur);
    free(r->gone.old);
}

static void ring_put(struct drop_ring *q, const uint8_t *hash)
{
    if (q->head - q->tail == DROP_RING_CAP)
        q->tail++; /* the oldest is forgotten: see struct drop_ring */
    if (q->sent < q->tail)
        q->sent = q->tail;
    memcpy(q->hashes[q->head++ % DROP_RING_CAP], hash, 32);
}

void repl_dropped_record(struct repl *r, const struct repl_push *j)
{
    size_t npeers = net_npeers(r->net);
    for (size_t p = 0; p < npeers; p++) {
        const struct job_peer *jp = &j->peers[p];
        if (!jp->acked || jp->nacked == j->n)
            continue;
        struct drop_ring *q = &r->dropped_out[p];
        if (!q->hashes)
            q->hashes = malloc(DROP_RING_CAP * sizeof(*q->hashes));
        uint64_t left_out;
        if (!q->hashes && log_limit_pass(&r->nomem_log, &left_out))
            log_warn("repl: no memory to list a dropped push's chunks for a peer: it pulls them "
                     "only when its wait for the push ends (%llu such reports left out)",
                     (unsigned long long)left_out);
        for (size_t i = 0; i < j->n; i++) {
            if (bit_get(jp->sent, i)) { /* its ack will find no job to count it off */
                size_t len = j->lens[i];
                r->inflight[p] -= len < r->inflight[p] ? len : r->inflight[p];
            }
            if (q->hashes && !bit_get(jp->acked, i))
                ring_put(q, j->hashes[i]);
        }
    }
}

/* A peer with something to tell and a bulk channel to tell it on, or -1.
 * Lock held. */
static int peer_to_tell(const struct repl *r, size_t npeers)
{
    for (size_t p = 0; p < npeers; p++)
        if (r->bulk_up[p] && r->dropped_out[p].head != r->dropped_out[p].sent)
            return (int)p;
    return -1;
}

bool repl_dropped_send(struct repl *r, size_t npeers)
{
    int p = peer_to_tell(r, npeers);
    if (p < 0)
        return false;
    struct drop_ring *q = &r->dropped_out[p];
    uint64_t first = q->sent, n = q->head - q->sent, id = ++r->next_id, gen = r->peer_gen[p];
    if (n > MSG_BATCH_MAX_CHUNKS)
        n = MSG_BATCH_MAX_CHUNKS;
    msg_list_hdr_encode(r->tx_buf, id, (uint32_t)n);
    for (uint64_t i = 0; i < n; i++)
        memcpy(r->tx_buf + MSG_LIST_HDR_LEN + i * 32, q->hashes[(first + i) % DROP_RING_CAP], 32);
    pthread_mutex_unlock(&r->lock);
    int rc = net_send(r->net, p, CHAN_BULK, FT_PUSH_DROPPED, 0, r->tx_buf,
                      MSG_LIST_HDR_LEN + (size_t)n * 32, 1000);
    pthread_mutex_lock(&r->lock);
    /* Queued: on their way, but a connection that dies (a partition not
     * noticed yet) loses them; they leave the ring once the peer acks a
     * batch sent after them (repl_dropped_confirm), and go again on the next
     * connection until then. Not queued (the channel went down, or stayed
     * full for a second), or queued on a connection that went down since
     * (repl_dropped_peer_down rewound): they stay, for the next try. */
    if (rc == 0 && gen == r->peer_gen[p] && q->sent < first + n) {
        q->sent = first + n;
        q->notice_id = id;
    }
    return rc == 0 || rc == -ETIMEDOUT; /* -ENOTCONN: wait for the down event */
}

void repl_dropped_confirm(struct repl *r, int peer, uint64_t batch_id)
{
    struct drop_ring *q = &r->dropped_out[peer];
    if (q->notice_id && batch_id > q->notice_id) {
        q->tail = q->sent; /* the channel is ordered: the notices arrived first */
        q->notice_id = 0;
    }
}

void repl_dropped_peer_down(struct repl *r, int peer)
{
    struct drop_ring *q = &r->dropped_out[peer];
    q->sent = q->tail;
    q->notice_id = 0;
}

static uint64_t gone_key(const uint8_t *hash)
{
    uint64_t k = get_u64(hash);
    return k ? k : 1;
}

static bool gone_has(const uint64_t *t, uint64_t k)
{
    if (!t)
        return false;
    for (size_t s = k % GONE_SLOTS;; s = (s + 1) % GONE_SLOTS) {
        if (t[s] == k)
            return true;
        if (t[s] == 0)
            return false;
    }
}

/* False when out of memory (the chunk then waits out the puller's bound). */
static bool gone_add(struct gone_set *g, uint64_t k)
{
    if (!g->cur) {
        g->cur = calloc(GONE_SLOTS, sizeof(uint64_t));
        g->old = calloc(GONE_SLOTS, sizeof(uint64_t));
        if (!g->cur || !g->old) {
            free(g->cur);
            free(g->old);
            g->cur = g->old = NULL;
            return false;
        }
    }
    if (gone_has(g->cur, k) || gone_has(g->old, k))
        return true;
    if (g->cur_n == GONE_GEN_KEYS) {
        uint64_t *t = g->old;
        g->old = g->cur;
        g->cur = t;
        memset(g->cur, 0, GONE_SLOTS * sizeof(uint64_t));
        g->cur_n = 0;
    }
    size_t s = k % GONE_SLOTS;
    while (g->cur[s])
        s = (s + 1) % GONE_SLOTS;
    g->cur[s] = k;
    g->cur_n++;
    return true;
}

void repl_on_dropped(struct repl *r, int peer, const struct msg_list *m)
{
    pthread_mutex_lock(&r->lock);
    bool kept = true;
    for (uint32_t i = 0; i < m->count && kept; i++)
        kept = gone_add(&r->gone, gone_key(m->items + (size_t)i * 32));
    uint64_t left_out;
    bool report = log_limit_pass(&r->gone_log, &left_out);
    pthread_mutex_unlock(&r->lock);
    if (report) {
        char id[NODE_ID_STR_LEN + 1];
        repl_peer_name(r, peer, id);
        log_info("repl: peer %s gave up pushing %u chunks to this node: they will be pulled%s "
                 "(%llu such reports left out)",
                 id, m->count, kept ? "" : " (no memory to remember them: later)",
                 (unsigned long long)left_out);
    }
}

bool repl_push_given_up(struct repl *r, const uint8_t hash[32])
{
    uint64_t k = gone_key(hash);
    pthread_mutex_lock(&r->lock);
    bool gone = gone_has(r->gone.cur, k) || gone_has(r->gone.old, k);
    pthread_mutex_unlock(&r->lock);
    return gone;
}
