/* Receiver side: storing pushed batches, answering have-queries and fetches. */
#include "net/clock.h"
#include "net/repl_int.h"

#include "common/sha256.h"
#include "common/log.h"

#include <errno.h>
#include <string.h>

_Static_assert(MSG_HAVE_PREFIX_LEN == NET_HASH_PREFIX_LEN,
               "the store answers the prefixes peers send");

int repl_enqueue(struct repl *r, int peer, int chan, unsigned type, uint16_t flags,
                 const uint8_t *p, uint32_t len)
{
    /* Malformed input closes the connection here, on the network thread. */
    struct msg_push push;
    struct msg_list l;
    if (type == FT_PUSH_BATCH && msg_push_decode(p, len, &push) < 0)
        return -EPROTO;
    if (type == FT_HAVE_QUERY && msg_have_query_decode(p, len, &l) < 0)
        return -EPROTO;
    if (type == FT_FETCH_REQ && msg_hashes_decode(p, len, MSG_FETCH_MAX, &l) < 0)
        return -EPROTO;
    pthread_mutex_lock(&r->lock);
    if (r->rx_count == r->rx_slots) {
        /* Back pressure: the transport stops reading until a slot frees. */
        r->rx_held[peer][chan] = true;
        pthread_mutex_unlock(&r->lock);
        return -EAGAIN;
    }
    struct rx_item *it = &r->rx[(r->rx_head + r->rx_count) % r->rx_slots];
    if (type == FT_PUSH_BATCH)
        r->push_seen_ms[peer] = net_now_ms();
    pthread_mutex_unlock(&r->lock);
    /* The network thread is the only producer: the slot stays ours while we copy,
     * outside the lock, and the receiver sees it once rx_count counts it. */
    it->peer = peer;
    it->chan = chan;
    it->type = type;
    it->flags = flags;
    it->len = len;
    memcpy(it->buf, p, len);
    pthread_mutex_lock(&r->lock);
    r->rx_count++;
    pthread_cond_signal(&r->rx_cond);
    pthread_mutex_unlock(&r->lock);
    return 0;
}

/* Verifies one pushed chunk; logs the sender if it fails. Returns its ack status. */
static uint8_t check_chunk(struct repl *r, int peer, const struct msg_chunk *c)
{
    uint8_t d[SHA256_LEN];
    if (sha256(c->data, c->len, d) < 0)
        return ST_STORE_ERROR;
    if (memcmp(d, c->hash, SHA256_LEN) == 0)
        return ST_OK;
    char hex[SHA256_HEX_LEN + 1], id[NODE_ID_STR_LEN + 1];
    sha256_hex(c->hash, hex);
    repl_peer_name(r, peer, id);
    log_warn("repl: chunk %s from peer %s failed its hash check; dropped, asking again", hex, id);
    return ST_BAD_HASH;
}

/* Stores a batch durably, then acks every chunk of it. */
static void store_batch(struct repl *r, const struct rx_item *it)
{
    struct msg_push m;
    struct msg_push_iter iter;
    struct msg_chunk c;
    msg_push_decode(it->buf, it->len, &m); /* validated in repl_enqueue() */
    msg_push_iter_init(&m, &iter);
    size_t pos = MSG_LIST_HDR_LEN, nput = 0, ndup = 0, nbad = 0;
    while (msg_push_next(&iter, &c)) {
        uint8_t st = check_chunk(r, it->peer, &c);
        if (st == ST_OK && r->io.has(r->io.ctx, c.hash) == 1) {
            ndup++;
        } else if (st == ST_OK) {
            struct net_chunk *nc = &r->puts[nput++];
            memcpy(nc->hash, c.hash, 32);
            nc->data = c.data;
            nc->len = c.len;
        }
        nbad += st == ST_BAD_HASH;
        pos = msg_ack_entry_put(r->ack_buf, pos, c.hash, st);
    }
    int rc = nput ? r->io.put_batch(r->io.ctx, r->puts, nput) : 0;
    uint64_t left_out;
    if (rc < 0 && log_limit_pass(&r->store_log, &left_out))
        log_error("repl: storing %zu pushed chunks failed: %s (%llu such failures left out)", nput,
                  strerror(-rc), (unsigned long long)left_out);
    if (rc < 0) {
        for (size_t i = 0; i < m.count; i++)
            if (r->ack_buf[MSG_LIST_HDR_LEN + i * MSG_ACK_ENTRY_LEN + 32] == ST_OK)
                r->ack_buf[MSG_LIST_HDR_LEN + i * MSG_ACK_ENTRY_LEN + 32] = ST_STORE_ERROR;
    }
    msg_list_hdr_encode(r->ack_buf, m.batch_id, m.count);
    pthread_mutex_lock(&r->lock);
    r->push_seen_ms[it->peer] = net_now_ms();
    r->stats.chunks_stored += rc < 0 ? 0 : nput;
    r->stats.chunks_unstored += rc < 0 ? nput : 0;
    r->stats.chunks_dup += ndup;
    r->stats.chunks_bad += nbad;
    pthread_mutex_unlock(&r->lock);
    /* Only now, after the durable put: a lost ack costs a resend, never data. */
    net_send(r->net, it->peer, it->chan, FT_PUSH_ACK, FRAME_F_URGENT, r->ack_buf, pos, 5000);
}

static void answer_have(struct repl *r, const struct rx_item *it)
{
    struct msg_list q;
    msg_have_query_decode(it->buf, it->len, &q);
    uint8_t *out = r->ack_buf; /* large enough: 12 + 4096 / 8 bytes */
    size_t bytes = ((size_t)q.count + 7) / 8;
    memset(out + MSG_LIST_HDR_LEN, 0, bytes);
    for (uint32_t i = 0; i < q.count; i++)
        if (r->io.has_prefix(r->io.ctx, q.items + (size_t)i * MSG_HAVE_PREFIX_LEN) == 1)
            out[MSG_LIST_HDR_LEN + i / 8] |= (uint8_t)(1u << (i % 8));
    msg_list_hdr_encode(out, q.id, q.count);
    net_send(r->net, it->peer, it->chan, FT_HAVE_ANSWER, FRAME_F_URGENT, out,
             MSG_LIST_HDR_LEN + bytes, 5000);
}

bool repl_push_arriving(struct repl *r, int peer, uint32_t within_ms)
{
    if (peer < 0 || peer >= NET_MAX_PEERS)
        return false;
    pthread_mutex_lock(&r->lock);
    uint64_t seen = r->push_seen_ms[peer];
    pthread_mutex_unlock(&r->lock);
    return seen && net_now_ms() - seen < within_ms;
}

int repl_serve_fetch(struct repl *r, int peer, int chan, uint16_t flags, const uint8_t *p,
                     uint32_t len, uint8_t *buf)
{
    struct msg_list q;
    if (msg_hashes_decode(p, len, MSG_FETCH_MAX, &q) < 0)
        return -EPROTO;
    /* The network thread must not wait; elsewhere a full queue is waited out. */
    int wait_ms = buf == r->urgent_buf ? 0 : 5000;
    for (uint32_t i = 0; i < q.count; i++) {
        const uint8_t *h = q.items + (size_t)i * 32;
        uint32_t clen = 0;
        int rc = r->io.get(r->io.ctx, h, buf + MSG_FETCH_RESP_HDR_LEN, NET_CHUNK_MAX, &clen);
        uint8_t st = rc == 0 ? ST_OK : rc == -ENOENT ? ST_NOT_FOUND : ST_STORE_ERROR;
        if (rc < 0)
            clen = 0;
        else
            repl_maybe_corrupt(r, buf + MSG_FETCH_RESP_HDR_LEN, clen);
        msg_fetch_resp_hdr_encode(buf, q.id, h, st, clen);
        rc = net_send(r->net, peer, chan, FT_FETCH_RESP, flags & FRAME_F_URGENT, buf,
                      MSG_FETCH_RESP_HDR_LEN + clen, wait_ms);
        if (rc < 0)
            log_warn("repl: could not queue a fetch answer: %s", strerror(-rc));
        pthread_mutex_lock(&r->lock);
        r->stats.chunks_sent += st == ST_OK;
        r->stats.bytes_sent += clen;
        pthread_mutex_unlock(&r->lock);
    }
    return 0;
}

static void handle(struct repl *r, struct rx_item *it)
{
    if (it->type == FT_PUSH_BATCH)
        store_batch(r, it);
    else if (it->type == FT_HAVE_QUERY)
        answer_have(r, it);
    else
        repl_serve_fetch(r, it->peer, it->chan, it->flags, it->buf, it->len, r->serve_buf);
}

/* Frees the head slot and lets held connections read again. Lock held. */
static void release_head(struct repl *r)
{
    r->rx_head = (r->rx_head + 1) % r->rx_slots;
    r->rx_count--;
    for (int p = 0; p < NET_MAX_PEERS; p++)
        for (int c = 0; c < CHAN_COUNT_; c++)
            if (r->rx_held[p][c]) {
                r->rx_held[p][c] = false;
                net_resume(r->net, p, c);
            }
}

void *repl_rx_main(void *arg)
{
    pthread_setname_np(pthread_self(), "qfs-repl-rx"); /* for top -H, perf, gdb */
    struct repl *r = arg;
    pthread_mutex_lock(&r->lock);
    while (!r->stop) {
        if (r->rx_count == 0) {
            pthread_cond_wait(&r->rx_cond, &r->lock);
            continue;
        }
        struct rx_item *it = &r->rx[r->rx_head];
        pthread_mutex_unlock(&r->lock);
        handle(r, it);
        pthread_mutex_lock(&r->lock);
        release_head(r);
    }
    pthread_mutex_unlock(&r->lock);
    return NULL;
}
