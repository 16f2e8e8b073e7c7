/* Replicator setup, teardown, and routing of frames and peer events. */
#include "net/repl_int.h"

#include "common/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void repl_options_default(struct repl_options *o)
{
    memset(o, 0, sizeof(*o));
    const char *hook = getenv("QFS_TEST_CORRUPT_CHUNK");
    if (hook && *hook)
        o->corrupt_nth = (unsigned)strtoul(hook, NULL, 10);
}

static void options_fill(struct repl_options *o)
{
    o->window = o->window ? o->window : 16u << 20;
    o->batch_bytes = o->batch_bytes ? o->batch_bytes : 4u << 20;
    o->rx_window = o->rx_window ? o->rx_window : 16u << 20;
    /* A batch must leave room for one more maximal chunk in a frame. */
    size_t batch_max = FRAME_PAYLOAD_MAX - MSG_LIST_HDR_LEN - MSG_CHUNK_ENTRY_HDR - NET_CHUNK_MAX;
    if (o->batch_bytes > batch_max)
        o->batch_bytes = batch_max;
    if (o->window < o->batch_bytes)
        o->window = o->batch_bytes;
}

static int alloc_buffers(struct repl *r)
{
    r->rx_slots = (int)(r->opt.rx_window / FRAME_PAYLOAD_MAX);
    r->rx_slots = r->rx_slots < 2 ? 2 : r->rx_slots > RX_SLOTS_MAX ? RX_SLOTS_MAX : r->rx_slots;
    for (int i = 0; i < r->rx_slots; i++) {
        if (!(r->rx[i].buf = malloc(FRAME_PAYLOAD_MAX)))
            return -ENOMEM;
        /* Fault the pages in now, not in the network thread's first copies. */
        memset(r->rx[i].buf, 0, FRAME_PAYLOAD_MAX);
    }
    r->tx_buf = malloc(FRAME_PAYLOAD_MAX);
    r->serve_buf = malloc(MSG_FETCH_RESP_HDR_LEN + NET_CHUNK_MAX);
    r->urgent_buf = malloc(MSG_FETCH_RESP_HDR_LEN + NET_CHUNK_MAX);
    r->ack_buf = malloc(MSG_LIST_HDR_LEN + MSG_BATCH_MAX_CHUNKS * MSG_ACK_ENTRY_LEN);
    r->puts = calloc(MSG_BATCH_MAX_CHUNKS, sizeof(*r->puts));
    if (!r->tx_buf || !r->serve_buf || !r->urgent_buf || !r->ack_buf || !r->puts)
        return -ENOMEM;
    return 0;
}

static void free_buffers(struct repl *r)
{
    for (int i = 0; i < RX_SLOTS_MAX; i++)
        free(r->rx[i].buf);
    for (int i = 0; i < FETCH_SLOTS; i++)
        free(r->fetch[i].buf);
    free(r->tx_buf);
    free(r->serve_buf);
    free(r->urgent_buf);
    free(r->ack_buf);
    free(r->puts);
    repl_dropped_free(r);
}

int repl_create(const struct chunk_io *store, const struct repl_options *opt, struct repl **out)
{
    if (!store->has || !store->has_prefix || !store->get || !store->put_batch)
        return -EINVAL;
    struct repl *r = calloc(1, sizeof(*r));
    if (!r)
        return -ENOMEM;
    r->io = *store;
    r->opt = *opt;
    options_fill(&r->opt);
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->tx_cond, NULL);
    pthread_cond_init(&r->done, NULL);
    pthread_cond_init(&r->rx_cond, NULL);
    int rc = alloc_buffers(r);
    if (rc < 0) {
        repl_destroy(r);
        return rc;
    }
    if (r->opt.corrupt_nth)
        log_warn("repl: test hook on: chunk #%u sent will be corrupted", r->opt.corrupt_nth);
    *out = r;
    return 0;
}

int repl_attach(struct repl *r, struct net *n)
{
    /* Frames that arrived before this were held (-EAGAIN): re-offer them. */
    __atomic_store_n(&r->net, n, __ATOMIC_RELEASE);
    for (size_t p = 0; p < net_npeers(n); p++)
        for (int c = 0; c < CHAN_COUNT_; c++)
            net_resume(n, (int)p, c);
    if (pthread_create(&r->tx_thread, NULL, repl_tx_main, r) != 0)
        return -EAGAIN;
    if (pthread_create(&r->rx_thread, NULL, repl_rx_main, r) != 0) {
        pthread_mutex_lock(&r->lock);
        r->stop = true;
        pthread_cond_broadcast(&r->tx_cond);
        pthread_mutex_unlock(&r->lock);
        pthread_join(r->tx_thread, NULL);
        return -EAGAIN;
    }
    r->threads = true;
    return 0;
}

void repl_detach(struct repl *r)
{
    pthread_mutex_lock(&r->lock);
    r->stop = true;
    pthread_cond_broadcast(&r->tx_cond);
    pthread_cond_broadcast(&r->rx_cond);
    pthread_cond_broadcast(&r->done);
    pthread_mutex_unlock(&r->lock);
    if (r->threads) {
        pthread_join(r->tx_thread, NULL);
        pthread_join(r->rx_thread, NULL);
        r->threads = false;
    }
}

void repl_destroy(struct repl *r)
{
    repl_detach(r);
    for (int i = 0; i < REPL_MAX_JOBS; i++)
        if (r->jobs[i]) {
            r->jobs[i]->released = true;
            repl_push_release(r->jobs[i]);
        }
    free_buffers(r);
    pthread_cond_destroy(&r->tx_cond);
    pthread_cond_destroy(&r->done);
    pthread_cond_destroy(&r->rx_cond);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

int repl_handles(unsigned type)
{
    return (type >= FT_PUSH_BATCH && type <= FT_FETCH_RESP) || type == FT_PUSH_DROPPED;
}

void repl_peer_name(struct repl *r, int peer, char *out)
{
    struct net_peer_info info;
    if (r->net && net_peer_info(r->net, peer, &info) == 0)
        node_id_format(info.id, out);
    else
        strcpy(out, "?");
}

/* Network thread: small answers are applied at once, work is queued. */
int repl_on_frame(struct repl *r, int peer, int chan, unsigned type, uint16_t flags,
                  const uint8_t *payload, uint32_t len)
{
    struct msg_list l;
    struct msg_fetch_resp fr;
    if (!__atomic_load_n(&r->net, __ATOMIC_ACQUIRE))
        return -EAGAIN; /* repl_attach() resumes the connection */
    /* Queued work never rides the control channel: it must never be held;
     * the fast channel carries node messages only. */
    bool queued = type == FT_PUSH_BATCH || type == FT_HAVE_QUERY ||
                  (type == FT_FETCH_REQ && !(flags & FRAME_F_URGENT));
    if ((queued && chan == CHAN_CONTROL) || chan == CHAN_FAST)
        return -EPROTO;
    switch (type) {
    case FT_PUSH_ACK:
        if (msg_ack_decode(payload, len, &l) < 0)
            return -EPROTO;
        repl_on_ack(r, peer, &l);
        return 0;
    case FT_HAVE_ANSWER:
        if (msg_have_answer_decode(payload, len, &l) < 0)
            return -EPROTO;
        repl_on_have_answer(r, peer, &l);
        return 0;
    case FT_FETCH_RESP:
        if (msg_fetch_resp_decode(payload, len, &fr) < 0)
            return -EPROTO;
        repl_on_fetch_resp(r, peer, &fr);
        return 0;
    case FT_PUSH_DROPPED:
        if (chan != CHAN_BULK || msg_hashes_decode(payload, len, MSG_BATCH_MAX_CHUNKS, &l) < 0)
            return -EPROTO;
        repl_on_dropped(r, peer, &l);
        return 0;
    case FT_FETCH_REQ:
        if (flags & FRAME_F_URGENT)
            return repl_serve_fetch(r, peer, chan, flags, payload, len, r->urgent_buf);
        return repl_enqueue(r, peer, chan, type, flags, payload, len);
    case FT_PUSH_BATCH:
    case FT_HAVE_QUERY:
        return repl_enqueue(r, peer, chan, type, flags, payload, len);
    default:
        return -EPROTO;
    }
}

void repl_on_peer(struct repl *r, int peer, int chan, int up)
{
    if (chan == CHAN_FAST)
        return; /* replication uses control and bulk only */
    pthread_mutex_lock(&r->lock);
    if (chan == CHAN_BULK)
        r->bulk_up[peer] = up;
    else
        r->ctl_up[peer] = up;
    pthread_mutex_unlock(&r->lock);
    if (!up && chan == CHAN_BULK)
        repl_push_peer_down(r, peer);
    if (!up)
        repl_fetch_peer_down(r, peer);
    pthread_mutex_lock(&r->lock);
    pthread_cond_broadcast(&r->tx_cond);
    pthread_cond_broadcast(&r->done);
    pthread_mutex_unlock(&r->lock);
}

void repl_get_stats(struct repl *r, struct repl_stats *out)
{
    pthread_mutex_lock(&r->lock);
    *out = r->stats;
    pthread_mutex_unlock(&r->lock);
}

void repl_maybe_corrupt(struct repl *r, uint8_t *data, uint32_t len)
{
    unsigned nth = atomic_fetch_add(&r->chunks_out, 1) + 1;
    if (r->opt.corrupt_nth && nth == r->opt.corrupt_nth && len > 0) {
        data[len / 2] ^= 0x5a;
        log_warn("repl: test hook: corrupted chunk #%u on the wire", nth);
    }
}
