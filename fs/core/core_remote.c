/*
 * core_remote.c - the core's side of chunks moving between nodes: the
 * replication step before a content command is proposed and the fetch
 * fallback of the read paths.
 */
#include "fs/chunk/chunker.h"
#include "fs/core/core_internal.h"
#include "fs/core/core_remote_int.h"
#include "fs/store/meta_map.h"

#include "common/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void core_set_remote(struct core *c, const struct core_remote *r)
{
    c->remote = *r;
    c->has_remote = true;
    /* A peer may push a chunk ahead of the commit that references it. */
    gc_set_grace(c->gc, GC_GRACE_DEFAULT_MS);
}

/* A chunk some committed file references was durable on a majority when
 * that file was committed, and stays while referenced (deletion waits for a
 * count of zero plus the GC grace): only chunks new to the committed state
 * need pushing. Rewriting a 100 MiB file after inserting one byte at its
 * start re-cuts it whole but pushes only the chunk or two that changed. */
static int referenced(struct core *c, MDB_txn *txn, const uint8_t *hash)
{
    uint64_t refs = 0;
    int rc = meta_ref_get(c->ms, txn, hash, &refs);
    return rc ? rc : refs > 0;
}

static uint64_t now_ms(void)
{
    return core_now_us() / 1000;
}

/* A chunk the committed state references, or that this node's own truncate
 * removed from it a moment ago (recent_refs.h): 1 (on a majority), 0, or
 * -errno. */
static int on_majority(struct core *c, MDB_txn *txn, const uint8_t *hash, uint64_t now)
{
    int rc = referenced(c, txn, hash);
    return rc == 0 && recent_refs_has(&c->recent, hash, now) ? 1 : rc;
}

/* Appends to h[*k] the hashes of refs (those with known[i] == want_known)
 * that are not known to be on a majority already; runs of one chunk (zeros,
 * repeated blocks) once. */
static int collect_new(struct core *c, const struct chunk_ref *refs, const bool *known, size_t n,
                       bool want_known, uint8_t (*h)[SHA256_LEN], size_t *k)
{
    MDB_txn *txn;
    int rc = meta_txn_read(c->ms, &txn);
    if (rc)
        return rc;
    size_t first = *k;
    uint64_t now = now_ms();
    for (size_t i = 0; i < n && rc >= 0; i++) {
        if (known[i] != want_known)
            continue;
        if (*k > first && memcmp(h[*k - 1], refs[i].hash, SHA256_LEN) == 0)
            continue;
        rc = on_majority(c, txn, refs[i].hash, now);
        if (rc == 0)
            memcpy(h[(*k)++], refs[i].hash, SHA256_LEN);
    }
    mdb_txn_abort(txn);
    return rc < 0 ? rc : 0;
}

static int remote_start(struct core *c, const uint8_t (*h)[SHA256_LEN], size_t k, size_t n_ask,
                        void **job)
{
    if (c->remote.replicate_start)
        return c->remote.replicate_start(c->remote.ctx, h, k, n_ask, job);
    return c->remote.replicate(c->remote.ctx, h, k);
}

int core_replicate_start(struct core *c, const struct chunk_ref *refs, const bool *known, size_t n,
                         void **job)
{
    *job = NULL;
    if (!c->has_remote || n == 0)
        return 0;
    uint8_t(*h)[SHA256_LEN] = malloc(n * SHA256_LEN);
    if (!h)
        return -ENOMEM;
    size_t k = 0, n_ask = 0;
    int rc = collect_new(c, refs, known, n, true, h, &k);
    n_ask = k;
    if (!rc)
        rc = collect_new(c, refs, known, n, false, h, &k);
    if (!rc && k)
        rc = remote_start(c, (const uint8_t(*)[SHA256_LEN])h, k, n_ask, job);
    free(h);
    return rc; /* a failure is the commit's: its caller reports it */
}

struct drop_walk {
    struct refs_drop *d;
    size_t cap;
};

static int note_extent(void *ctx, const struct meta_extent *e)
{
    struct drop_walk *w = ctx;
    struct refs_drop *d = w->d;
    if (d->n && memcmp(d->h[d->n - 1], e->hash, SHA256_LEN) == 0)
        return 0; /* a run of one chunk */
    if (d->n == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 256;
        if (cap > RECENT_REFS_MAX)
            return -ENOSPC;
        void *h = realloc(d->h, cap * SHA256_LEN);
        if (!h)
            return -ENOMEM;
        d->h = h;
        w->cap = cap;
    }
    memcpy(d->h[d->n++], e->hash, SHA256_LEN);
    return 0;
}

int core_drop_capture(struct core *c, uint64_t ino, uint64_t from, struct refs_drop *d)
{
    *d = (struct refs_drop){.t_ms = now_ms()};
    if (!c->has_remote)
        return 0;
    MDB_txn *txn;
    struct meta_inode in;
    int rc = meta_txn_read(c->ms, &txn);
    if (rc)
        return rc;
    rc = meta_inode_get(c->ms, txn, ino, &in);
    if (!rc && S_ISREG(in.mode) && from < in.size) {
        struct drop_walk w = {d, 0};
        d->ver = in.content_ver;
        rc = meta_map_foreach(c->ms, txn, ino, from, UINT64_MAX, note_extent, &w);
    }
    mdb_txn_abort(txn);
    if (rc) {
        free(d->h);
        *d = (struct refs_drop){0};
    }
    return rc;
}

void core_drop_record(struct core *c, struct refs_drop *d, const struct apply_result *res)
{
    if (d->n && res->err == 0 && res->has_attr && res->attr.content_ver == d->ver + 1)
        (void)recent_refs_add(&c->recent, (const uint8_t(*)[32])d->h, d->n, d->t_ms);
    free(d->h); /* a failed add only costs the have-queries it would have saved */
    d->h = NULL;
    d->n = 0;
}

int core_replicate_wait(struct core *c, void *job)
{
    if (!job)
        return 0;
    return c->remote.replicate_wait(c->remote.ctx, job); /* the commit's caller reports */
}

/* A corrupt copy must go before a fetch (the store skips chunks already
 * present), unless a concurrent reader has replaced it meanwhile: 0 when buf
 * now holds a good local copy, 1 when the chunk must be fetched, or -errno. */
static int drop_corrupt(struct core *c, const uint8_t *hash, uint8_t *buf, uint32_t *len)
{
    int rc = chunk_store_get(c->cs, hash, buf, CHUNK_MAX, len);
    if (rc == 0 || (rc != -EIO && rc != -ENOENT))
        return rc;
    if (rc == -EIO && (rc = chunk_store_delete_batch(c->cs, (const uint8_t(*)[SHA256_LEN])hash, 1)))
        return rc;
    return 1;
}

/* Gets a good copy of chunk hash from a peer into buf (CHUNK_MAX bytes),
 * stored here; why: the local store's -ENOENT or -EIO. */
static int fetch_chunk(struct core *c, const uint8_t *hash, int why, uint8_t *buf, uint32_t *len)
{
    char hex[SHA256_HEX_LEN + 1];
    sha256_hex(hash, hex);
    if (why == -EIO) {
        int rc = drop_corrupt(c, hash, buf, len);
        if (rc <= 0)
            return rc;
    }
    int rc = c->remote.fetch(c->remote.ctx, hash, buf, CHUNK_MAX, len);
    if (rc) {
        log_warn("chunk %s: %s here, fetch from peers failed: %s", hex,
                 why == -EIO ? "corrupt" : "absent", strerror(-rc));
        return rc;
    }
    struct chunk_ref ref = {.data = buf, .len = *len};
    if (sha256(buf, *len, ref.hash) || memcmp(ref.hash, hash, SHA256_LEN) != 0)
        return -EIO; /* the remote broke its contract; never serve it */
    if (why == -EIO)
        log_warn("chunk %s was corrupt here; fetched again from a peer", hex);
    return 0;
}

int core_chunk_fetch(struct core *c, const uint8_t hash[SHA256_LEN])
{
    if (!c->has_remote)
        return -ENOENT;
    uint8_t *buf = bufpool_get(&c->chunk_bufs);
    if (!buf)
        return -ENOMEM;
    uint32_t len;
    int rc = fetch_chunk(c, hash, -ENOENT, buf, &len);
    bufpool_put(&c->chunk_bufs, buf);
    return rc;
}

int core_chunk_read(struct core *c, const uint8_t hash[SHA256_LEN], uint32_t off, void *buf,
                    uint32_t len)
{
    int rc = chunk_store_read(c->cs, hash, off, buf, len);
    if ((rc != -ENOENT && rc != -EIO) || !c->has_remote)
        return rc;
    uint8_t *cbuf = bufpool_get(&c->chunk_bufs);
    if (!cbuf)
        return -ENOMEM;
    uint32_t clen;
    int frc = fetch_chunk(c, hash, rc, cbuf, &clen);
    if (!frc) {
        uint32_t n = off >= clen ? 0 : (clen - off < len ? clen - off : len);
        memcpy(buf, cbuf + off, n);
        rc = (int)n;
    }
    bufpool_put(&c->chunk_bufs, cbuf);
    return rc;
}
