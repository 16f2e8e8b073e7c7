/* Push, sender side: jobs, batching under a per-peer window, acks, resume after a cut. */
#include "net/clock.h"
#include "net/repl_int.h"

#include "common/bytes.h"
#include "common/sha256.h"
#include "common/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Waits before resending to a peer that could not store what it was sent. */
#define REFUSE_BACKOFF_MIN_MS 250
#define REFUSE_BACKOFF_MAX_MS 8000

static size_t table_slot(const struct repl_push *j, const uint8_t *hash)
{
    return (size_t)(get_u64(hash) % j->table_cap);
}

/* Index of hash in the job, or -1. */
static long job_lookup(const struct repl_push *j, const uint8_t *hash)
{
    for (size_t s = table_slot(j, hash);; s = (s + 1) % j->table_cap) {
        uint32_t v = j->table[s];
        if (v == 0)
            return -1;
        if (memcmp(j->hashes[v - 1], hash, 32) == 0)
            return (long)v - 1;
    }
}

static void job_free(struct repl_push *j)
{
    for (int p = 0; p < NET_MAX_PEERS; p++) {
        free(j->peers[p].acked);
        free(j->peers[p].sent);
    }
    free(j->hashes);
    free(j->lens);
    free(j->suspect);
    free(j->table);
    free(j);
}

/* Copies the hash list without duplicates (a duplicate would never be acked twice). */
static struct repl_push *job_new(struct repl *r, const uint8_t (*hashes)[32], size_t n)
{
    struct repl_push *j = calloc(1, sizeof(*j));
    if (!j)
        return NULL;
    j->r = r;
    j->table_cap = 2 * n + 1;
    j->hashes = malloc((n ? n : 1) * 32);
    j->lens = calloc(n ? n : 1, sizeof(uint32_t));
    j->table = calloc(j->table_cap, sizeof(uint32_t));
    j->suspect = calloc(n / 8 + 1, 1);
    bool ok = j->hashes && j->lens && j->table && j->suspect;
    for (size_t i = 0; ok && i < n; i++) {
        if (job_lookup(j, hashes[i]) >= 0)
            continue;
        memcpy(j->hashes[j->n], hashes[i], 32);
        size_t s = table_slot(j, hashes[i]);
        while (j->table[s])
            s = (s + 1) % j->table_cap;
        j->table[s] = (uint32_t)++j->n;
    }
    size_t npeers = net_npeers(r->net);
    for (size_t p = 0; ok && p < npeers; p++) {
        j->peers[p].acked = calloc(j->n / 8 + 1, 1);
        j->peers[p].sent = calloc(j->n / 8 + 1, 1);
        ok = j->peers[p].acked && j->peers[p].sent;
    }
    if (!ok) {
        job_free(j);
        return NULL;
    }
    return j;
}

static bool job_complete(const struct repl_push *j, size_t npeers)
{
    for (size_t p = 0; p < npeers; p++)
        if (j->peers[p].nacked < j->n)
            return false;
    return true;
}

int repl_push_start(struct repl *r, const uint8_t (*hashes)[32], size_t n, struct repl_push **job)
{
    struct repl_push *j = job_new(r, hashes, n);
    if (!j)
        return -ENOMEM;
    pthread_mutex_lock(&r->lock);
    int slot = -1;
    for (int i = 0; i < REPL_MAX_JOBS && slot < 0; i++)
        if (!r->jobs[i])
            slot = i;
    for (int i = 0; i < REPL_MAX_JOBS && slot < 0; i++)
        if (r->jobs[i]->released && !r->jobs[i]->busy) {
            /* Bounded: the oldest background job gives way; the peers that
             * lack its chunks are told, and pull them. */
            uint64_t left_out;
            if (log_limit_pass(&r->drop_log, &left_out))
                log_info("repl: dropping an unfinished background push to make room (%llu "
                         "more dropped since the last report)",
                         (unsigned long long)left_out);
            repl_dropped_record(r, r->jobs[i]);
            job_free(r->jobs[i]);
            slot = i;
        }
    if (slot >= 0) {
        r->jobs[slot] = j;
        pthread_cond_broadcast(&r->tx_cond);
    }
    pthread_mutex_unlock(&r->lock);
    if (slot < 0) {
        job_free(j);
        return -EBUSY;
    }
    *job = j;
    return 0;
}

static int peers_done(const struct repl_push *j, size_t npeers)
{
    int k = 0;
    for (size_t p = 0; p < npeers; p++)
        k += j->peers[p].nacked == j->n;
    return k;
}

int repl_push_wait(struct repl_push *j, int k, int timeout_ms)
{
    struct repl *r = j->r;
    size_t npeers = net_npeers(r->net);
    struct timespec dl;
    net_deadline(&dl, timeout_ms < 0 ? 0 : timeout_ms);
    pthread_mutex_lock(&r->lock);
    int rc = 0;
    while ((rc = peers_done(j, npeers)) < k && !j->error && !r->stop) {
        if (timeout_ms < 0)
            pthread_cond_wait(&r->done, &r->lock);
        else if (pthread_cond_timedwait(&r->done, &r->lock, &dl) == ETIMEDOUT)
            break;
    }
    rc = peers_done(j, npeers);
    if (rc < k)
        rc = j->error ? j->error : -ETIMEDOUT;
    pthread_mutex_unlock(&r->lock);
    return rc;
}

/* Frees a job out of the table; one that every peer has is reported to the
 * store first (chunk_io.pushed). Lock not held. */
static void job_finish(struct repl *r, struct repl_push *j, bool complete)
{
    if (complete && r->io.pushed && j->n)
        r->io.pushed(r->io.ctx, (const uint8_t(*)[32])j->hashes, j->n);
    job_free(j);
}

void repl_push_release(struct repl_push *j)
{
    struct repl *r = j->r;
    pthread_mutex_lock(&r->lock);
    j->released = true;
    /* A job every peer has is left to the push thread, which reports it
     * (job_finish): not on the caller's way to proposing its commit. */
    bool drop = !j->busy && (r->stop || j->error);
    if (drop)
        for (int i = 0; i < REPL_MAX_JOBS; i++)
            if (r->jobs[i] == j)
                r->jobs[i] = NULL;
    if (!drop)
        pthread_cond_broadcast(&r->tx_cond);
    pthread_mutex_unlock(&r->lock);
    if (drop)
        job_finish(r, j, false);
}

/* Takes the released jobs that every peer has (or that failed) out of the
 * table, into done; returns how many. Lock held. */
static int reap_jobs(struct repl *r, size_t npeers, struct repl_push **done)
{
    int n = 0;
    for (int i = 0; i < REPL_MAX_JOBS; i++) {
        struct repl_push *j = r->jobs[i];
        if (j && j->released && !j->busy && (j->error || job_complete(j, npeers))) {
            r->jobs[i] = NULL;
            done[n++] = j;
        }
    }
    return n;
}

/* True if nothing may be sent to p now. Lock held. */
static bool peer_blocked(const struct repl *r, const struct repl_push *j, int p)
{
    return !r->bulk_up[p] || j->error || r->inflight[p] >= r->opt.window ||
           (r->refused_until_ms[p] && net_now_ms() < r->refused_until_ms[p]);
}

/* The next chunk of j to send to peer p, marked sent; -1 if none. Lock held. */
static long claim_next(struct repl *r, struct repl_push *j, int p)
{
    struct job_peer *jp = &j->peers[p];
    if (peer_blocked(r, j, p))
        return -1;
    while (jp->cursor < j->n && (bit_get(jp->acked, jp->cursor) || bit_get(jp->sent, jp->cursor)))
        jp->cursor++;
    if (jp->cursor == j->n)
        return -1;
    bit_set(jp->sent, jp->cursor, true);
    return (long)jp->cursor++;
}

/* True if claim_next() would find something (advances the cursor only). Lock held. */
static bool has_next(struct repl *r, struct repl_push *j, int p)
{
    struct job_peer *jp = &j->peers[p];
    if (peer_blocked(r, j, p))
        return false;
    while (jp->cursor < j->n && (bit_get(jp->acked, jp->cursor) || bit_get(jp->sent, jp->cursor)))
        jp->cursor++;
    return jp->cursor < j->n;
}

static bool find_work(struct repl *r, size_t npeers, struct repl_push **jo, int *po)
{
    for (size_t k = 0; k < npeers; k++) {
        int p = (int)((r->rr + k) % npeers);
        for (int i = 0; i < REPL_MAX_JOBS; i++)
            if (r->jobs[i] && has_next(r, r->jobs[i], p)) {
                *jo = r->jobs[i];
                *po = p;
                r->rr++;
                return true;
            }
    }
    return false;
}

/* Reads one claimed chunk into the batch at *pos. Called and returns with the lock held. */
static int add_chunk(struct repl *r, struct repl_push *j, int p, long idx, size_t *pos,
                     uint64_t gen)
{
    uint8_t *e = r->tx_buf + *pos;
    uint32_t len = 0;
    /* The receiver hashes every chunk: no need to here as well, once per
     * peer, unless a peer already refused this one. */
    bool verify = !r->io.get_unverified || bit_get(j->suspect, (size_t)idx);
    pthread_mutex_unlock(&r->lock);
    int rc = (verify ? r->io.get
                     : r->io.get_unverified)(r->io.ctx, j->hashes[idx], e + MSG_CHUNK_ENTRY_HDR,
                                             FRAME_PAYLOAD_MAX - *pos - MSG_CHUNK_ENTRY_HDR, &len);
    if (rc == 0)
        repl_maybe_corrupt(r, e + MSG_CHUNK_ENTRY_HDR, len);
    pthread_mutex_lock(&r->lock);
    if (rc < 0) {
        char hex[SHA256_HEX_LEN + 1];
        sha256_hex(j->hashes[idx], hex);
        log_error("repl: cannot push chunk %s: not readable locally (%s)", hex, strerror(-rc));
        j->error = -EIO;
        pthread_cond_broadcast(&r->done);
        return rc;
    }
    if (gen != r->peer_gen[p])
        return -ENOTCONN; /* the reset already cleared what we claimed */
    j->lens[idx] = len;
    r->inflight[p] += len;
    memcpy(e, j->hashes[idx], 32);
    put_u32(e + 32, len);
    *pos += MSG_CHUNK_ENTRY_HDR + len;
    r->stats.chunks_sent++;
    r->stats.bytes_sent += len;
    return 0;
}

/* Builds and sends one batch of j to p. Called and returns with the lock held. */
static void send_batch(struct repl *r, struct repl_push *j, int p)
{
    uint64_t gen = r->peer_gen[p];
    size_t pos = msg_push_begin(r->tx_buf, ++r->next_id);
    uint32_t count = 0;
    long idx;
    while (count < MSG_BATCH_MAX_CHUNKS && pos - MSG_LIST_HDR_LEN < r->opt.batch_bytes &&
           (idx = claim_next(r, j, p)) >= 0) {
        if (add_chunk(r, j, p, idx, &pos, gen) < 0)
            break;
        count++;
    }
    if (count == 0)
        return;
    msg_push_finish(r->tx_buf, count);
    pthread_mutex_unlock(&r->lock);
    int rc;
    do
        rc = net_send(r->net, p, CHAN_BULK, FT_PUSH_BATCH, 0, r->tx_buf, pos, 1000);
    while (rc == -ETIMEDOUT && !__atomic_load_n(&r->stop, __ATOMIC_RELAXED));
    pthread_mutex_lock(&r->lock);
    /* -ENOTCONN: the channel's down event resets what was claimed. */
}

/* Waits for an ack, a job or a peer, or until the first refusing peer's
 * back-off ends. Lock held. */
static void wait_for_work(struct repl *r, size_t npeers)
{
    uint64_t now = net_now_ms(), wake = 0;
    for (size_t p = 0; p < npeers; p++)
        if (r->refused_until_ms[p] > now && (!wake || r->refused_until_ms[p] < wake))
            wake = r->refused_until_ms[p];
    if (!wake) {
        pthread_cond_wait(&r->tx_cond, &r->lock);
        return;
    }
    struct timespec dl;
    net_deadline(&dl, (int)(wake - now));
    pthread_cond_timedwait(&r->tx_cond, &r->lock, &dl);
}

void *repl_tx_main(void *arg)
{
    pthread_setname_np(pthread_self(), "qfs-repl-tx"); /* for top -H, perf, gdb */
    struct repl *r = arg;
    size_t npeers = net_npeers(r->net);
    pthread_mutex_lock(&r->lock);
    while (!r->stop) {
        struct repl_push *done[REPL_MAX_JOBS];
        int ndone = reap_jobs(r, npeers, done);
        if (ndone) {
            pthread_mutex_unlock(&r->lock);
            for (int i = 0; i < ndone; i++)
                job_finish(r, done[i], !done[i]->error);
            pthread_mutex_lock(&r->lock);
            continue;
        }
        if (repl_dropped_send(r, npeers))
            continue;
        struct repl_push *j;
        int p;
        if (!find_work(r, npeers, &j, &p)) {
            wait_for_work(r, npeers);
            continue;
        }
        j->busy = true;
        send_batch(r, j, p);
        j->busy = false;
    }
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

/* Applies one entry of an ack; false if the peer could not store the chunk. */
static bool ack_entry(struct repl *r, struct repl_push *j, int peer, long idx, uint8_t st)
{
    struct job_peer *jp = &j->peers[peer];
    if (bit_get(jp->sent, (size_t)idx)) {
        bit_set(jp->sent, (size_t)idx, false);
        size_t len = j->lens[idx];
        r->inflight[peer] -= len < r->inflight[peer] ? len : r->inflight[peer];
    }
    if (bit_get(jp->acked, (size_t)idx))
        return true;
    if (st == ST_OK) {
        bit_set(jp->acked, (size_t)idx, true);
        jp->nacked++;
        return true;
    }
    if ((size_t)idx < jp->cursor)
        jp->cursor = (size_t)idx;
    if (st != ST_BAD_HASH)
        return false;
    /* the resend checks the local copy; a corrupt one fails the job */
    bit_set(j->suspect, (size_t)idx, true);
    char hex[SHA256_HEX_LEN + 1], id[NODE_ID_STR_LEN + 1];
    sha256_hex(j->hashes[idx], hex);
    repl_peer_name(r, peer, id);
    log_warn("repl: peer %s refused chunk %s (failed its hash on arrival); sending it again", id,
             hex);
    return true;
}

/* An ack with chunks the peer could not store starts or doubles its
 * back-off; one where it stored all of them ends it. Lock held. */
static void note_refusals(struct repl *r, int peer, uint32_t refused, uint32_t count)
{
    if (!refused) {
        if (count) { /* stored everything: no back-off, and no clock read per claim */
            r->refuse_backoff_ms[peer] = 0;
            r->refused_until_ms[peer] = 0;
        }
        return;
    }
    uint32_t b = r->refuse_backoff_ms[peer] * 2;
    b = b < REFUSE_BACKOFF_MIN_MS   ? REFUSE_BACKOFF_MIN_MS
        : b > REFUSE_BACKOFF_MAX_MS ? REFUSE_BACKOFF_MAX_MS
                                    : b;
    r->refuse_backoff_ms[peer] = b;
    r->refused_until_ms[peer] = net_now_ms() + b;
    char id[NODE_ID_STR_LEN + 1];
    repl_peer_name(r, peer, id);
    uint64_t left_out;
    if (log_limit_pass(&r->refused_log, &left_out))
        log_warn("repl: peer %s could not store %u of %u chunks (its disk may be full); sending "
                 "them again in %u ms (%llu such reports left out)",
                 id, refused, count, b, (unsigned long long)left_out);
}

void repl_on_ack(struct repl *r, int peer, const struct msg_list *ack)
{
    pthread_mutex_lock(&r->lock);
    uint32_t refused = 0;
    for (uint32_t i = 0; i < ack->count; i++) {
        const uint8_t *hash;
        uint8_t st;
        msg_ack_entry(ack, i, &hash, &st);
        bool stored = true;
        for (int k = 0; k < REPL_MAX_JOBS; k++) {
            long idx = r->jobs[k] ? job_lookup(r->jobs[k], hash) : -1;
            if (idx >= 0)
                stored &= ack_entry(r, r->jobs[k], peer, idx, st);
        }
        refused += !stored;
    }
    note_refusals(r, peer, refused, ack->count);
    repl_dropped_confirm(r, peer, ack->id);
    pthread_cond_broadcast(&r->tx_cond);
    pthread_cond_broadcast(&r->done);
    pthread_mutex_unlock(&r->lock);
}

void repl_push_peer_down(struct repl *r, int peer)
{
    pthread_mutex_lock(&r->lock);
    r->peer_gen[peer]++;
    r->inflight[peer] = 0;
    repl_dropped_peer_down(r, peer);
    for (int k = 0; k < REPL_MAX_JOBS; k++) {
        struct repl_push *j = r->jobs[k];
        if (!j)
            continue;
        memset(j->peers[peer].sent, 0, j->n / 8 + 1);
        j->peers[peer].cursor = 0;
    }
    pthread_mutex_unlock(&r->lock);
}

void repl_get_backlog(struct repl *r, int peer, uint32_t est_chunk_bytes, uint64_t *chunks,
                      uint64_t *bytes)
{
    *chunks = *bytes = 0;
    if (peer < 0 || peer >= NET_MAX_PEERS)
        return;
    pthread_mutex_lock(&r->lock);
    for (int i = 0; i < REPL_MAX_JOBS; i++) {
        struct repl_push *j = r->jobs[i];
        if (!j || !j->peers[peer].acked)
            continue;
        for (size_t c = 0; c < j->n; c++) {
            if (bit_get(j->peers[peer].acked, c))
                continue;
            *chunks += 1;
            *bytes += j->lens[c] ? j->lens[c] : est_chunk_bytes;
        }
    }
    pthread_mutex_unlock(&r->lock);
}
