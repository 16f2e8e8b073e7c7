/* Pull: urgent single fetches, anti-entropy (have-query, then fetch), answers. */
#include "net/clock.h"
#include "net/repl_int.h"

#include "common/sha256.h"
#include "common/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void fetched_add(struct repl_fetched *f, uint32_t len)
{
    f->chunks++;
    f->bytes += len;
}

/* Takes a free fetch slot. Urgent fetches may use every slot. Lock held. */
static struct fetch_slot *slot_take(struct repl *r, bool urgent, const struct timespec *dl)
{
    for (;;) {
        int lo = urgent ? 0 : URGENT_FETCHES;
        for (int i = lo; i < FETCH_SLOTS; i++) {
            struct fetch_slot *s = &r->fetch[i];
            if (s->state != FS_FREE)
                continue;
            if (!s->buf && !(s->buf = malloc(NET_CHUNK_MAX)))
                return NULL;
            s->state = FS_WAIT;
            s->req_id = ++r->next_id;
            return s;
        }
        if (r->stop || pthread_cond_timedwait(&r->done, &r->lock, dl) == ETIMEDOUT)
            return NULL;
    }
}

/* Sends a fetch request for the slot's hash to peer. Lock held (released around the send). */
static int slot_request(struct repl *r, struct fetch_slot *s, int peer, bool urgent)
{
    uint8_t req[MSG_LIST_HDR_LEN + 32];
    msg_list_hdr_encode(req, s->req_id, 1);
    memcpy(req + MSG_LIST_HDR_LEN, s->hash, 32);
    s->peer = peer;
    s->state = FS_WAIT;
    pthread_mutex_unlock(&r->lock);
    int rc = net_send(r->net, peer, urgent ? CHAN_CONTROL : CHAN_BULK, FT_FETCH_REQ,
                      urgent ? FRAME_F_URGENT : 0, req, sizeof(req), urgent ? 100 : 5000);
    pthread_mutex_lock(&r->lock);
    return rc;
}

/* Waits for the slot's answer. Lock held. */
static int slot_wait(struct repl *r, struct fetch_slot *s, const struct timespec *dl)
{
    while (s->state == FS_WAIT && !r->stop)
        if (pthread_cond_timedwait(&r->done, &r->lock, dl) == ETIMEDOUT)
            return s->state == FS_DONE ? 0 : -ETIMEDOUT;
    return s->state == FS_DONE ? 0 : -ECANCELED;
}

/* Checks an answered slot: 0 good (counted as fetched: every fetch answer
 * passes here, and nothing else does), -ENOENT not there, -EBADMSG bad hash
 * (logged). Lock held. */
static int slot_verify(struct repl *r, struct fetch_slot *s)
{
    if (s->status == ST_NOT_FOUND)
        return -ENOENT;
    if (s->status != ST_OK)
        return -EIO;
    uint8_t d[SHA256_LEN];
    if (sha256(s->buf, s->len, d) < 0)
        return -ENOMEM;
    if (memcmp(d, s->hash, SHA256_LEN) == 0) {
        fetched_add(&r->stats.fetched, s->len);
        return 0;
    }
    char hex[SHA256_HEX_LEN + 1], id[NODE_ID_STR_LEN + 1];
    sha256_hex(s->hash, hex);
    repl_peer_name(r, s->peer, id);
    log_warn("repl: chunk %s from peer %s failed its hash check; dropped, fetching again", hex, id);
    r->stats.chunks_bad++;
    return -EBADMSG;
}

static int store_one(struct repl *r, struct fetch_slot *s)
{
    struct net_chunk c = {.data = s->buf, .len = s->len};
    memcpy(c.hash, s->hash, 32);
    return r->io.put_batch(r->io.ctx, &c, 1);
}

/* One attempt at peer p. Lock held. 0 stored (or verified, and not
 * storable here: logged, and the reader still gets it), or -errno. */
static int fetch_from(struct repl *r, struct fetch_slot *s, int p, const struct timespec *dl)
{
    int rc = slot_request(r, s, p, true);
    if (rc == 0)
        rc = slot_wait(r, s, dl);
    if (rc == 0)
        rc = slot_verify(r, s);
    if (rc == 0) {
        pthread_mutex_unlock(&r->lock);
        int src = store_one(r, s);
        uint64_t left_out;
        if (src < 0 && log_limit_pass(&r->store_log, &left_out))
            log_error("repl: storing a fetched chunk failed: %s; served to its reader anyway "
                      "(%llu such failures left out)",
                      strerror(-src), (unsigned long long)left_out);
        pthread_mutex_lock(&r->lock);
    }
    return rc;
}

int repl_fetch(struct repl *r, const uint8_t hash[32], uint8_t *buf, size_t cap, uint32_t *len,
               int timeout_ms)
{
    struct timespec dl;
    net_deadline(&dl, timeout_ms);
    size_t npeers = net_npeers(r->net);
    pthread_mutex_lock(&r->lock);
    r->stats.fetches++;
    struct fetch_slot *s = slot_take(r, true, &dl);
    if (!s) {
        pthread_mutex_unlock(&r->lock);
        return -ETIMEDOUT;
    }
    memcpy(s->hash, hash, 32);
    int rc = -ENOTCONN, start = (int)(r->rr++ % (npeers ? npeers : 1));
    /* Each peer twice: a chunk damaged in flight is asked for again. */
    for (size_t k = 0; k < 2 * npeers && rc != 0 && rc != -ETIMEDOUT; k++) {
        int p = (int)((start + k) % npeers);
        if (!r->ctl_up[p])
            continue;
        if (rc != -ENOTCONN && rc != -ENOENT)
            r->stats.fetch_retries++; /* the last answer was damaged or failed */
        rc = fetch_from(r, s, p, &dl);
    }
    if (rc == 0 && s->len > cap)
        rc = -ENOBUFS;
    if (rc == 0) {
        memcpy(buf, s->buf, s->len);
        *len = s->len;
    }
    s->state = FS_FREE;
    pthread_cond_broadcast(&r->done);
    pthread_mutex_unlock(&r->lock);
    if (rc == -EAGAIN)
        rc = -ETIMEDOUT;
    return rc == -EBADMSG || rc == -EIO || rc == -ECANCELED ? -ENOENT : rc;
}

void repl_on_fetch_resp(struct repl *r, int peer, const struct msg_fetch_resp *m)
{
    pthread_mutex_lock(&r->lock);
    for (int i = 0; i < FETCH_SLOTS; i++) {
        struct fetch_slot *s = &r->fetch[i];
        if (s->state != FS_WAIT || s->req_id != m->req_id || s->peer != peer ||
            memcmp(s->hash, m->hash, 32) != 0)
            continue;
        memcpy(s->buf, m->data, m->len);
        s->len = m->len;
        s->status = m->status;
        s->state = FS_DONE;
        pthread_cond_broadcast(&r->done);
        break;
    }
    pthread_mutex_unlock(&r->lock);
}

void repl_on_have_answer(struct repl *r, int peer, const struct msg_list *m)
{
    pthread_mutex_lock(&r->lock);
    for (int i = 0; i < HAVE_SLOTS; i++) {
        struct have_slot *h = &r->have[i];
        if (!h->busy || h->done || h->id != m->id || h->peer != peer || h->count != m->count)
            continue;
        memcpy(h->bits, m->items, (m->count + 7) / 8);
        h->done = true;
        pthread_cond_broadcast(&r->done);
    }
    pthread_mutex_unlock(&r->lock);
}

void repl_fetch_peer_down(struct repl *r, int peer)
{
    pthread_mutex_lock(&r->lock);
    for (int i = 0; i < FETCH_SLOTS; i++)
        if (r->fetch[i].state == FS_WAIT && r->fetch[i].peer == peer) {
            r->fetch[i].state = FS_DONE;
            r->fetch[i].status = ST_STORE_ERROR;
            r->fetch[i].len = 0;
        }
    for (int i = 0; i < HAVE_SLOTS; i++)
        if (r->have[i].busy && r->have[i].peer == peer)
            r->have[i].done = true; /* an all-zero answer: ask another peer */
    pthread_cond_broadcast(&r->done);
    pthread_mutex_unlock(&r->lock);
}

/* Asks peer which of the listed chunks it holds; bits gets its answer (bit i
 * = holds hashes[idx[i]]). Lock held. */
static int query_have(struct repl *r, int peer, const uint8_t (*hashes)[32], const uint32_t *idx,
                      uint32_t cnt, uint8_t *bits, uint8_t *qbuf, const struct timespec *dl)
{
    struct have_slot *h = NULL;
    while (!h) {
        for (int i = 0; i < HAVE_SLOTS && !h; i++)
            if (!r->have[i].busy)
                h = &r->have[i];
        if (!h && (r->stop || pthread_cond_timedwait(&r->done, &r->lock, dl) == ETIMEDOUT))
            return -ETIMEDOUT;
    }
    *h = (struct have_slot){.busy = true, .id = ++r->next_id, .peer = peer, .count = cnt};
    msg_list_hdr_encode(qbuf, h->id, cnt);
    for (uint32_t i = 0; i < cnt; i++)
        memcpy(qbuf + MSG_LIST_HDR_LEN + (size_t)i * MSG_HAVE_PREFIX_LEN, hashes[idx[i]],
               MSG_HAVE_PREFIX_LEN);
    pthread_mutex_unlock(&r->lock);
    int rc = net_send(r->net, peer, CHAN_BULK, FT_HAVE_QUERY, FRAME_F_URGENT, qbuf,
                      MSG_LIST_HDR_LEN + (size_t)cnt * MSG_HAVE_PREFIX_LEN, 5000);
    pthread_mutex_lock(&r->lock);
    while (rc == 0 && !h->done && !r->stop)
        if (pthread_cond_timedwait(&r->done, &r->lock, dl) == ETIMEDOUT)
            rc = -ETIMEDOUT;
    if (rc == 0 && !h->done)
        rc = -ECANCELED;
    if (rc == 0)
        memcpy(bits, h->bits, (cnt + 7) / 8);
    h->busy = false;
    pthread_cond_broadcast(&r->done);
    return rc;
}

/* Asks peer which of the listed chunks it holds; fills holder[] where unset. Lock held. */
static int ask_have(struct repl *r, int peer, const uint8_t (*hashes)[32], const uint32_t *idx,
                    uint32_t cnt, int8_t *holder, uint8_t *qbuf, const struct timespec *dl)
{
    uint8_t bits[MSG_HAVE_MAX / 8];
    int rc = query_have(r, peer, hashes, idx, cnt, bits, qbuf, dl);
    for (uint32_t i = 0; rc == 0 && i < cnt; i++)
        if (holder[i] < 0 && (bits[i / 8] >> (i % 8) & 1))
            holder[i] = (int8_t)peer;
    return rc;
}

/* Clears lacking[i] for the chunks every peer said it holds (a peer that
 * does not answer lacks them all). Lock held. */
static void mark_held(struct repl *r, const uint8_t (*hashes)[32], size_t n, uint32_t *idx,
                      uint8_t *lacking, uint8_t *qbuf, const struct timespec *dl)
{
    size_t npeers = net_npeers(r->net);
    uint8_t bits[MSG_HAVE_MAX / 8];
    for (size_t off = 0; off < n; off += MSG_HAVE_MAX) {
        uint32_t cnt = (uint32_t)(n - off < MSG_HAVE_MAX ? n - off : MSG_HAVE_MAX);
        for (uint32_t i = 0; i < cnt; i++)
            idx[i] = (uint32_t)(off + i), lacking[off + i] = 0;
        for (size_t p = 0; p < npeers; p++) {
            if (query_have(r, (int)p, hashes, idx, cnt, bits, qbuf, dl) == 0) {
                for (uint32_t i = 0; i < cnt; i++)
                    lacking[off + i] |= !(bits[i / 8] >> (i % 8) & 1);
            } else {
                memset(lacking + off, 1, cnt); /* no answer: assume it lacks all */
            }
        }
    }
}

long repl_peers_lack(struct repl *r, const uint8_t (*hashes)[32], size_t n, uint8_t (*out)[32],
                     int timeout_ms)
{
    struct timespec dl;
    net_deadline(&dl, timeout_ms);
    uint32_t *idx = malloc(MSG_HAVE_MAX * sizeof(*idx));
    uint8_t *lacking = malloc(n ? n : 1);
    uint8_t *qbuf = malloc(MSG_LIST_HDR_LEN + MSG_HAVE_MAX * MSG_HAVE_PREFIX_LEN);
    if (!idx || !lacking || !qbuf) {
        free(idx), free(lacking), free(qbuf);
        return -ENOMEM;
    }
    /* Only when every peer can answer: a peer that connects between this
     * query and the push could otherwise ack a push it holds only part of. */
    pthread_mutex_lock(&r->lock);
    bool all_up = true;
    for (size_t p = 0; p < net_npeers(r->net); p++)
        all_up = all_up && r->bulk_up[p];
    if (all_up)
        mark_held(r, hashes, n, idx, lacking, qbuf, &dl);
    else
        memset(lacking, 1, n);
    pthread_mutex_unlock(&r->lock);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (lacking[i])
            memcpy(out[k++], hashes[i], 32);
    free(idx), free(lacking), free(qbuf);
    return (long)k;
}

/* Fetches up to cnt chunks from their holders, pipelined; stores the good
 * ones in one batch and adds them to *got. */
static void fetch_group(struct repl *r, const uint8_t (*hashes)[32], const uint32_t *idx,
                        const int8_t *holder, size_t cnt, const struct timespec *dl,
                        struct repl_fetched *got)
{
    struct fetch_slot *slots[FETCH_SLOTS];
    struct net_chunk good[FETCH_SLOTS];
    size_t ns = 0, ng = 0;
    for (size_t i = 0; i < cnt && ns < FETCH_SLOTS - URGENT_FETCHES; i++) {
        if (holder[i] < 0)
            continue;
        struct fetch_slot *s = slot_take(r, false, dl);
        if (!s)
            break;
        memcpy(s->hash, hashes[idx[i]], 32);
        slots[ns++] = s;
        if (slot_request(r, s, holder[i], false) < 0)
            s->state = FS_DONE, s->status = ST_STORE_ERROR;
    }
    for (size_t i = 0; i < ns; i++) {
        if (slot_wait(r, slots[i], dl) == 0 && slot_verify(r, slots[i]) == 0) {
            memcpy(good[ng].hash, slots[i]->hash, 32);
            good[ng].data = slots[i]->buf;
            good[ng++].len = slots[i]->len;
            fetched_add(got, slots[i]->len);
        }
    }
    if (ng) {
        pthread_mutex_unlock(&r->lock);
        int rc = r->io.put_batch(r->io.ctx, good, ng);
        pthread_mutex_lock(&r->lock);
        uint64_t left_out;
        if (rc < 0 && log_limit_pass(&r->store_log, &left_out))
            log_error("repl: storing %zu pulled chunks failed: %s (%llu such failures left out)",
                      ng, strerror(-rc), (unsigned long long)left_out);
    }
    for (size_t i = 0; i < ns; i++)
        slots[i]->state = FS_FREE;
    pthread_cond_broadcast(&r->done);
}

/* Indexes of the listed chunks not in the local store. */
static size_t local_missing(struct repl *r, const uint8_t (*hashes)[32], size_t n, uint32_t *out)
{
    size_t nm = 0;
    for (size_t i = 0; i < n; i++)
        if (r->io.has(r->io.ctx, hashes[i]) != 1)
            out[nm++] = (uint32_t)i;
    return nm;
}

/* Chunks a peer said it holds that fetch_group could not get (bad hash,
 * the peer vanished): one urgent try each while time is left, added to *got.
 * Those no peer holds are not asked for again: the caller retries them later. */
static void fetch_leftovers(struct repl *r, const uint8_t (*hashes)[32], const uint32_t *idx,
                            const int8_t *holder, size_t nm, uint64_t end_ms,
                            struct repl_fetched *got)
{
    uint8_t *buf = malloc(NET_CHUNK_MAX);
    uint32_t len;
    for (size_t i = 0; buf && i < nm; i++) {
        uint64_t now = net_now_ms();
        if (now >= end_ms)
            break;
        if (holder[i] >= 0 && r->io.has(r->io.ctx, hashes[idx[i]]) != 1 &&
            repl_fetch(r, hashes[idx[i]], buf, NET_CHUNK_MAX, &len,
                       end_ms - now < 2000 ? (int)(end_ms - now) : 2000) == 0)
            fetched_add(got, len);
    }
    free(buf);
}

long repl_pull(struct repl *r, const uint8_t (*hashes)[32], size_t n, int timeout_ms,
               struct repl_fetched *got)
{
    struct repl_fetched ignored = {0};
    if (!got)
        got = &ignored;
    struct timespec dl;
    net_deadline(&dl, timeout_ms);
    uint64_t end_ms = net_now_ms() + (uint64_t)timeout_ms;
    uint32_t *idx = malloc((n ? n : 1) * sizeof(*idx));
    int8_t *holder = malloc(n ? n : 1);
    uint8_t *qbuf = malloc(MSG_LIST_HDR_LEN + MSG_HAVE_MAX * MSG_HAVE_PREFIX_LEN);
    if (!idx || !holder || !qbuf) {
        free(idx), free(holder), free(qbuf);
        return -ENOMEM;
    }
    size_t nm = local_missing(r, hashes, n, idx);
    memset(holder, -1, nm);
    size_t npeers = net_npeers(r->net);
    pthread_mutex_lock(&r->lock);
    for (size_t p = 0; p < npeers; p++)
        for (size_t off = 0; r->bulk_up[p] && off < nm; off += MSG_HAVE_MAX) {
            uint32_t cnt = (uint32_t)(nm - off < MSG_HAVE_MAX ? nm - off : MSG_HAVE_MAX);
            ask_have(r, (int)p, hashes, idx + off, cnt, holder + off, qbuf, &dl);
        }
    /* Past the deadline a group's answers would only be dropped: stop asking. */
    size_t group = FETCH_SLOTS - URGENT_FETCHES;
    for (size_t off = 0; off < nm && net_now_ms() < end_ms; off += group)
        fetch_group(r, hashes, idx + off, holder + off, nm - off < group ? nm - off : group, &dl,
                    got);
    pthread_mutex_unlock(&r->lock);
    fetch_leftovers(r, hashes, idx, holder, nm, end_ms, got);
    long left = (long)local_missing(r, hashes, n, idx);
    free(idx), free(holder), free(qbuf);
    return left;
}
