/*
 * The chunk environment: open and format checks, read transactions, puts,
 * deletes and room on the disk; the checked reads are in chunk_read.c.
 * Layout: fs/chunk/chunk_format.h and docs/on-disk-chunks.md. Why pieces:
 * docs/ARCHITECTURE.md.
 */
#include "fs/chunk/chunk_store.h"
#include "fs/chunk/chunk_store_int.h"

#include "common/bytes.h"
#include "common/crc32c.h"
#include "common/log.h"
#include "fs/chunk/chunk_format.h"
#include "fs/chunk/chunker.h"

#include <errno.h>
#include <limits.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#define MAP_INITIAL (1ull << 30)
#define MAX_READERS 256

int chunk_lmdb_errno(int rc)
{
    switch (rc) {
    case 0:
        return 0;
    case MDB_NOTFOUND:
        return -ENOENT;
    case MDB_MAP_FULL:
        return -ENOSPC;
    case MDB_TXN_FULL:
        return -E2BIG;
    case MDB_READERS_FULL:
        return -EAGAIN;
    case MDB_VERSION_MISMATCH:
    case MDB_INVALID:
    case MDB_INCOMPATIBLE:
        return -EPROTO;
    default:
        return rc > 0 ? -rc : -EIO;
    }
}

/* ---- read transactions ---- */

int chunk_reader_begin(struct chunk_store *cs, struct reader *r)
{
    pthread_rwlock_rdlock(&cs->map_lock);
    pthread_mutex_lock(&cs->pool_lock);
    int pooled = cs->npool > 0;
    if (pooled)
        *r = cs->pool[--cs->npool];
    pthread_mutex_unlock(&cs->pool_lock);
    int rc;
    if (pooled) {
        rc = mdb_txn_renew(r->txn);
        if (!rc)
            rc = mdb_cursor_renew(r->txn, r->cur);
    } else {
        rc = mdb_txn_begin(cs->env, NULL, MDB_RDONLY, &r->txn);
        if (!rc) {
            rc = mdb_cursor_open(r->txn, cs->pieces, &r->cur);
            if (rc)
                mdb_txn_abort(r->txn);
        }
    }
    if (rc) {
        if (pooled) {
            mdb_cursor_close(r->cur);
            mdb_txn_abort(r->txn);
        }
        pthread_rwlock_unlock(&cs->map_lock);
        log_error("chunk store: cannot start a read txn: %s", mdb_strerror(rc));
    }
    return chunk_lmdb_errno(rc);
}

void chunk_reader_end(struct chunk_store *cs, struct reader *r)
{
    mdb_txn_reset(r->txn);
    pthread_mutex_lock(&cs->pool_lock);
    int keep = cs->npool < TXN_POOL_MAX;
    if (keep)
        cs->pool[cs->npool++] = *r;
    pthread_mutex_unlock(&cs->pool_lock);
    if (!keep) {
        mdb_cursor_close(r->cur);
        mdb_txn_abort(r->txn);
    }
    pthread_rwlock_unlock(&cs->map_lock);
}

/* ---- open / close ---- */

static int meta_get_u32(MDB_txn *txn, MDB_dbi dbi, const char *name, uint32_t *out)
{
    MDB_val k = {strlen(name), (void *)name}, v;
    int rc = mdb_get(txn, dbi, &k, &v);
    if (rc)
        return rc;
    if (v.mv_size != 4)
        return MDB_CORRUPTED;
    *out = get_u32(v.mv_data);
    return 0;
}

static int meta_put(MDB_txn *txn, MDB_dbi dbi, const char *name, const uint8_t *val, size_t len)
{
    MDB_val k = {strlen(name), (void *)name}, v = {len, (void *)val};
    return mdb_put(txn, dbi, &k, &v, 0);
}

/* Writes the meta records of a new store. */
static int format_new(struct chunk_store *cs, MDB_txn *txn, uint32_t piece)
{
    uint8_t b[8];
    put_u32(b, CHUNK_FORMAT_VERSION);
    int rc = meta_put(txn, cs->meta, CHUNK_META_FORMAT, b, 4);
    put_u32(b, piece);
    if (!rc)
        rc = meta_put(txn, cs->meta, CHUNK_META_PIECE, b, 4);
    put_u64(b, 0);
    if (!rc)
        rc = meta_put(txn, cs->meta, CHUNK_META_BYTES, b, 8);
    put_u64(b, 1);
    if (!rc)
        rc = meta_put(txn, cs->meta, CHUNK_META_NEXT, b, 8);
    cs->piece = piece;
    return rc;
}

/* A piece fills a whole number of overflow pages exactly (an overflow run
 * carries one page header): 1..CHUNK_PIECE_MAX_PAGES pages of psize. */
static int piece_ok(uint32_t piece, uint32_t psize)
{
    uint32_t pages = (piece + CHUNK_LMDB_PAGEHDR) / psize;
    return (piece + CHUNK_LMDB_PAGEHDR) % psize == 0 && pages >= 1 &&
           pages <= CHUNK_PIECE_MAX_PAGES;
}

/* Creates the DBs and format records (with pieces of new_piece bytes), or
 * checks them: 0, -EPROTO or -errno. */
static int format_check(struct chunk_store *cs, uint32_t psize, uint32_t new_piece)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(cs->env, NULL, 0, &txn);
    if (rc)
        return chunk_lmdb_errno(rc);
    rc = mdb_dbi_open(txn, CHUNK_DB_META, MDB_CREATE, &cs->meta);
    if (!rc)
        rc = mdb_dbi_open(txn, CHUNK_DB_CHUNKS, MDB_CREATE, &cs->chunks);
    if (!rc)
        rc = mdb_dbi_open(txn, CHUNK_DB_PIECES, MDB_CREATE, &cs->pieces);
    uint32_t version = 0, piece = 0;
    if (!rc)
        rc = meta_get_u32(txn, cs->meta, CHUNK_META_FORMAT, &version);
    if (rc == MDB_NOTFOUND) {
        MDB_stat st;
        rc = mdb_stat(txn, cs->chunks, &st);
        if (!rc && st.ms_entries)
            rc = MDB_INCOMPATIBLE; /* chunks without a format record */
        else if (!rc)
            rc = format_new(cs, txn, new_piece);
        if (!rc)
            rc = mdb_txn_commit(txn);
        else
            mdb_txn_abort(txn);
        return chunk_lmdb_errno(rc);
    }
    if (!rc)
        rc = meta_get_u32(txn, cs->meta, CHUNK_META_PIECE, &piece);
    uint32_t old = version;
    int upgrade =
        !rc && (version == CHUNK_FORMAT_V1 || version == CHUNK_FORMAT_V2) && piece_ok(piece, psize);
    if (upgrade) {
        uint8_t b[4];
        put_u32(b, CHUNK_FORMAT_VERSION);
        rc = meta_put(txn, cs->meta, CHUNK_META_FORMAT, b, 4);
        version = CHUNK_FORMAT_VERSION;
    }
    /* commit, not abort: an aborted txn would close the DB handles it opened */
    if (!rc)
        rc = mdb_txn_commit(txn);
    else
        mdb_txn_abort(txn);
    if (rc)
        return chunk_lmdb_errno(rc);
    if (upgrade)
        log_info("chunk store %s: format %u marked %u (new chunks get a CRC per 4 KiB)", cs->path,
                 old, CHUNK_FORMAT_VERSION);
    if (version != CHUNK_FORMAT_VERSION || !piece_ok(piece, psize)) {
        log_error("chunk store %s: format %u piece %u, this build reads format %u with pieces "
                  "of whole %u-byte pages",
                  cs->path, version, piece, CHUNK_FORMAT_VERSION, psize);
        return -EPROTO;
    }
    cs->piece = piece;
    return 0;
}

/* Generous start (the map is address space, not disk), never below twice
 * the existing data file. */
static uint64_t initial_map_size(const char *dir, uint64_t size)
{
    char file[PATH_MAX + 16];
    struct stat st;
    snprintf(file, sizeof(file), "%s/data.mdb", dir);
    if (stat(file, &st) == 0 && (uint64_t)st.st_size * 2 > size)
        size = (uint64_t)st.st_size * 2;
    return size;
}

static int env_open(struct chunk_store *cs, const char *dir, uint64_t map_initial, int os_readahead)
{
    int rc = mdb_env_create(&cs->env);
    if (rc)
        return chunk_lmdb_errno(rc);
    cs->os_readahead = os_readahead;
    cs->map_size = initial_map_size(dir, map_initial ? map_initial : MAP_INITIAL);
    rc = mdb_env_set_maxdbs(cs->env, 3);
    if (!rc)
        rc = mdb_env_set_maxreaders(cs->env, MAX_READERS);
    if (!rc)
        rc = mdb_env_set_mapsize(cs->env, cs->map_size);
    if (!rc)
        rc = mdb_env_open(cs->env, dir, MDB_NOTLS | (os_readahead ? 0 : MDB_NORDAHEAD), 0600);
    int dead = 0;
    if (!rc)
        rc = mdb_reader_check(cs->env, &dead); /* slots of killed processes */
    if (rc) {
        log_error("chunk store %s: %s", dir, mdb_strerror(rc));
        mdb_env_close(cs->env);
        return chunk_lmdb_errno(rc);
    }
    MDB_envinfo info;
    mdb_env_info(cs->env, &info);
    cs->map_size = info.me_mapsize;
    return 0;
}

int chunk_store_open(const char *dir, struct chunk_store **out)
{
    return chunk_store_open_opts(dir, NULL, out);
}

int chunk_store_open_opts(const char *dir, const struct chunk_store_opts *opts,
                          struct chunk_store **out)
{
    if (strlen(dir) >= PATH_MAX)
        return -ENAMETOOLONG;
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return -errno;
    struct chunk_store *cs = calloc(1, sizeof(*cs));
    if (!cs)
        return -ENOMEM;
    snprintf(cs->path, sizeof(cs->path), "%s", dir);
    int rc = env_open(cs, dir, opts ? opts->map_initial : 0, opts ? opts->os_readahead : 0);
    if (rc) {
        free(cs);
        return rc;
    }
    MDB_stat st;
    mdb_env_stat(cs->env, &st);
    uint32_t pages = opts && opts->piece_pages ? opts->piece_pages : CHUNK_PIECE_PAGES;
    rc = pages <= CHUNK_PIECE_MAX_PAGES
             ? format_check(cs, st.ms_psize, pages * st.ms_psize - CHUNK_LMDB_PAGEHDR)
             : -EINVAL;
    if (rc) {
        mdb_env_close(cs->env);
        free(cs);
        return rc;
    }
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&cs->map_lock, &attr);
    pthread_rwlockattr_destroy(&attr);
    pthread_mutex_init(&cs->pool_lock, NULL);
    *out = cs;
    return 0;
}

void chunk_store_close(struct chunk_store *cs)
{
    if (!cs)
        return;
    for (int i = 0; i < cs->npool; i++) {
        mdb_cursor_close(cs->pool[i].cur);
        mdb_txn_abort(cs->pool[i].txn);
    }
    mdb_env_close(cs->env);
    pthread_mutex_destroy(&cs->pool_lock);
    pthread_rwlock_destroy(&cs->map_lock);
    free(cs);
}

/* ---- reads ---- */

int chunk_record_lookup(struct chunk_store *cs, MDB_txn *txn, const uint8_t *hash,
                        struct chunk_record *rec)
{
    MDB_val k = {SHA256_LEN, (void *)hash}, v;
    int rc = mdb_get(txn, cs->chunks, &k, &v);
    if (!rc && (chunk_record_decode(v.mv_data, v.mv_size, rec) || rec->len > CHUNK_MAX))
        rc = MDB_CORRUPTED;
    return rc;
}

int chunk_store_size(struct chunk_store *cs, const uint8_t hash[SHA256_LEN], uint32_t *len)
{
    struct reader r;
    int rc = chunk_reader_begin(cs, &r);
    if (rc)
        return rc;
    struct chunk_record rec;
    rc = chunk_record_lookup(cs, r.txn, hash, &rec);
    chunk_reader_end(cs, &r);
    if (!rc)
        *len = rec.len;
    return chunk_lmdb_errno(rc);
}

int chunk_store_has(struct chunk_store *cs, const uint8_t hash[SHA256_LEN])
{
    uint32_t len;
    int rc = chunk_store_size(cs, hash, &len);
    if (rc == -ENOENT)
        return 0;
    return rc ? rc : 1;
}

int chunk_store_find_prefix(struct chunk_store *cs, const uint8_t prefix[CHUNK_PREFIX_LEN],
                            uint8_t hash[SHA256_LEN])
{
    struct reader r;
    int rc = chunk_reader_begin(cs, &r);
    if (rc)
        return rc;
    uint8_t key[SHA256_LEN] = {0};
    memcpy(key, prefix, CHUNK_PREFIX_LEN);
    MDB_val k = {SHA256_LEN, key}, v;
    MDB_cursor *cur;
    rc = mdb_cursor_open(r.txn, cs->chunks, &cur);
    if (!rc) {
        /* Keys sort bytewise: the first at or after prefix||0... is the
         * only candidate that can start with prefix. */
        rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
        mdb_cursor_close(cur);
    }
    int found = 0;
    if (!rc && k.mv_size == SHA256_LEN && memcmp(k.mv_data, prefix, CHUNK_PREFIX_LEN) == 0) {
        memcpy(hash, k.mv_data, SHA256_LEN); /* before the snapshot ends */
        found = 1;
    }
    chunk_reader_end(cs, &r);
    return rc && rc != MDB_NOTFOUND ? chunk_lmdb_errno(rc) : found;
}

int chunk_store_stats(struct chunk_store *cs, struct chunk_store_stats *out)
{
    struct reader r;
    int rc = chunk_reader_begin(cs, &r);
    if (rc)
        return rc;
    MDB_stat st;
    MDB_val k = {strlen(CHUNK_META_BYTES), CHUNK_META_BYTES}, v;
    rc = mdb_stat(r.txn, cs->chunks, &st);
    if (!rc)
        rc = mdb_get(r.txn, cs->meta, &k, &v);
    if (!rc && v.mv_size != 8)
        rc = MDB_CORRUPTED;
    if (!rc) {
        out->chunks = st.ms_entries;
        out->bytes = get_u64(v.mv_data);
        out->map_bytes = cs->map_size;
    }
    chunk_reader_end(cs, &r);
    if (rc)
        return chunk_lmdb_errno(rc);
    char file[PATH_MAX + 16];
    struct stat fst;
    snprintf(file, sizeof(file), "%s/data.mdb", cs->path);
    if (stat(file, &fst) < 0)
        return -errno;
    out->file_bytes = (uint64_t)fst.st_size;
    return 0;
}

/* ---- writes ---- */

#define MAP_MAX (1ull << 44)

/*
 * LMDB unmaps the old map before it maps the new one, and when that mmap
 * fails the environment is left with no map at all: the next read faults,
 * and only a reopen would bring it back. So the new size is first reserved
 * beside the old one, which needs more address space than the remap will.
 * When a `ulimit -v` cannot hold the doubled map, a quarter more is tried;
 * when it cannot hold that either, the map stays as it is and the store is
 * full (MDB_MAP_FULL, ENOSPC for the writer) until chunks are deleted.
 */
static int map_fits(uint64_t size)
{
    void *p = mmap(NULL, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return errno;
    munmap(p, size);
    return 0;
}

/* Doubles the map unless another writer already grew it past seen. */
static int map_grow(struct chunk_store *cs, uint64_t seen)
{
    int rc = 0, fits = 0;
    uint64_t size = seen * 2;
    pthread_rwlock_wrlock(&cs->map_lock);
    if (cs->map_size == seen) {
        if (size <= MAP_MAX && (fits = map_fits(size)) != 0)
            fits = map_fits(size = seen + seen / 4);
        if (size > MAP_MAX || fits)
            rc = MDB_MAP_FULL;
        else
            rc = mdb_env_set_mapsize(cs->env, size);
        if (!rc)
            cs->map_size = size;
    }
    size = cs->map_size;
    pthread_rwlock_unlock(&cs->map_lock);
    if (rc)
        log_error("chunk store %s: cannot grow the map past %llu bytes: %s", cs->path,
                  (unsigned long long)seen, fits ? strerror(fits) : mdb_strerror(rc));
    else
        log_info("chunk store %s: map is %llu bytes", cs->path, (unsigned long long)size);
    return rc;
}

/*
 * LMDB reports a short write as EIO, and a file system that runs out of space
 * mid-write (tmpfs, or ext4 near full) gives exactly that. A failed commit
 * while the file system has less free space than the batch needs is a full
 * disk: ENOSPC for the writer.
 */
static int disk_full_errno(struct chunk_store *cs, int rc, uint64_t need)
{
    struct statvfs vfs;
    if (rc != EIO || statvfs(cs->path, &vfs) < 0)
        return rc;
    uint64_t avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
    return avail < need + (1u << 20) ? ENOSPC : rc;
}

/*
 * Deleting needs pages too (copied leaves, the free-list record), so a put
 * must leave this much disk free: a delete batch of up to ~1000 chunks then
 * always fits on a full disk, and space comes back for the next puts.
 */
#define DISK_RESERVE (2ull << 20)

/* Pages on LMDB's free list (FREE_DBI is dbi 0; each record is an IDL whose
 * first word is its length), i.e. space inside the file a put can reuse. */
static uint64_t free_list_pages(struct chunk_store *cs)
{
    struct reader r;
    if (chunk_reader_begin(cs, &r))
        return 0;
    MDB_cursor *cur;
    uint64_t pages = 0;
    if (!mdb_cursor_open(r.txn, 0, &cur)) {
        MDB_val k, v;
        for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); !rc;
             rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
            size_t n;
            memcpy(&n, v.mv_data, sizeof(n));
            pages += n;
        }
        mdb_cursor_close(cur);
    }
    chunk_reader_end(cs, &r);
    return pages;
}

void chunk_store_set_reserve(struct chunk_store *cs, uint64_t bytes)
{
    __atomic_store_n(&cs->reserve, bytes, __ATOMIC_RELAXED);
}

uint64_t chunk_store_reserved_bytes(struct chunk_store *cs)
{
    return DISK_RESERVE + __atomic_load_n(&cs->reserve, __ATOMIC_RELAXED);
}

/* 0 if a put of `need` payload bytes leaves DISK_RESERVE and the caller's
 * reserve free, else ENOSPC; the free list is only counted when the disk
 * itself is short. */
static int space_check(struct chunk_store *cs, uint64_t need)
{
    struct statvfs vfs;
    if (statvfs(cs->path, &vfs) < 0)
        return 0; /* cannot tell: let the write itself fail */
    uint64_t avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
    /* last pieces' spare pages, leaves, branches; the reserves */
    need += need / 16 + chunk_store_reserved_bytes(cs);
    if (avail >= need)
        return 0;
    MDB_stat st;
    mdb_env_stat(cs->env, &st);
    return avail + free_list_pages(cs) * st.ms_psize >= need ? 0 : ENOSPC;
}

/* A write step: LMDB return codes (MDB_* or positive errno). */
typedef int (*write_fn)(struct chunk_store *cs, MDB_txn *txn, void *arg, size_t n);

/* Runs fn in one write txn and commits it (with sync); on MDB_MAP_FULL the
 * txn is aborted, the map grown and fn run again: fn must be idempotent. */
static int write_txn(struct chunk_store *cs, write_fn fn, void *arg, size_t n, uint64_t need)
{
    for (;;) {
        pthread_rwlock_rdlock(&cs->map_lock);
        uint64_t seen = cs->map_size;
        MDB_txn *txn;
        int rc = mdb_txn_begin(cs->env, NULL, 0, &txn);
        if (!rc) {
            rc = fn(cs, txn, arg, n);
            if (rc)
                mdb_txn_abort(txn);
            else
                rc = mdb_txn_commit(txn);
        }
        pthread_rwlock_unlock(&cs->map_lock);
        if (rc != MDB_MAP_FULL)
            return disk_full_errno(cs, rc, need);
        rc = map_grow(cs, seen);
        if (rc)
            return rc;
    }
}

static int meta_get_u64(MDB_txn *txn, MDB_dbi dbi, const char *name, uint64_t *out)
{
    MDB_val k = {strlen(name), (void *)name}, v;
    int rc = mdb_get(txn, dbi, &k, &v);
    if (rc)
        return rc;
    if (v.mv_size != 8)
        return MDB_CORRUPTED;
    *out = get_u64(v.mv_data);
    return 0;
}

static int meta_put_u64(MDB_txn *txn, MDB_dbi dbi, const char *name, uint64_t value)
{
    uint8_t b[8];
    put_u64(b, value);
    return meta_put(txn, dbi, name, b, 8);
}

/* The running totals a write txn updates once at its end. */
struct write_totals {
    int64_t bytes;    /* payload bytes added (or removed, negative) */
    uint64_t next_id; /* the next chunk id */
};

static int totals_load(struct chunk_store *cs, MDB_txn *txn, struct write_totals *t)
{
    t->bytes = 0;
    return meta_get_u64(txn, cs->meta, CHUNK_META_NEXT, &t->next_id);
}

static int totals_save(struct chunk_store *cs, MDB_txn *txn, const struct write_totals *t)
{
    uint64_t bytes;
    int rc = meta_get_u64(txn, cs->meta, CHUNK_META_BYTES, &bytes);
    if (!rc)
        rc = meta_put_u64(txn, cs->meta, CHUNK_META_BYTES, bytes + (uint64_t)t->bytes);
    if (!rc)
        rc = meta_put_u64(txn, cs->meta, CHUNK_META_NEXT, t->next_id);
    return rc;
}

/* A format-3 record for chunk c (at most CHUNK_MAX bytes): its size. */
static size_t record_make(uint8_t *rec, uint64_t id, const struct chunk_ref *c)
{
    put_u64(rec, id);
    put_u32(rec + 8, c->len);
    uint8_t *crc = rec + CHUNK_RECORD_HEAD;
    for (uint32_t at = 0; at < c->len; at += CHUNK_CRC_BLOCK, crc += 4) {
        uint32_t n = c->len - at < CHUNK_CRC_BLOCK ? c->len - at : CHUNK_CRC_BLOCK;
        put_u32(crc, crc32c_update(0, c->data + at, n));
    }
    return chunk_record_len(c->len);
}

/* Puts one chunk unless present, under a new id: ids only grow, so its
 * pieces are appended at the end of the pieces tree, not inserted. */
static int put_one(struct chunk_store *cs, MDB_txn *txn, const struct chunk_ref *c,
                   struct write_totals *t)
{
    MDB_val k = {SHA256_LEN, (void *)c->hash}, v;
    int rc = mdb_get(txn, cs->chunks, &k, &v);
    if (rc != MDB_NOTFOUND)
        return rc; /* 0: already stored */
    uint64_t id = t->next_id++;
    uint8_t rec[CHUNK_RECORD_MAX_LEN];
    v = (MDB_val){record_make(rec, id, c), rec};
    rc = mdb_put(txn, cs->chunks, &k, &v, 0);
    uint8_t key[CHUNK_PIECE_KEY_LEN];
    uint32_t off = 0;
    for (uint32_t i = 0; !rc && off < c->len; i++) {
        uint32_t n = c->len - off < cs->piece ? c->len - off : cs->piece;
        chunk_piece_key(key, id, i);
        MDB_val pk = {sizeof(key), key}, pv = {n, (void *)(c->data + off)};
        rc = mdb_put(txn, cs->pieces, &pk, &pv, MDB_APPEND);
        off += n;
    }
    t->bytes += c->len;
    return rc;
}

/* What one put transaction did: the ids it gave new chunks, [first, end),
 * and their payload bytes. */
struct put_job {
    const struct chunk_ref *chunks;
    uint64_t first, end, bytes;
};

static int put_step(struct chunk_store *cs, MDB_txn *txn, void *arg, size_t n)
{
    struct put_job *job = arg;
    struct write_totals t;
    int rc = totals_load(cs, txn, &t);
    job->first = t.next_id;
    for (size_t i = 0; i < n && !rc; i++)
        rc = put_one(cs, txn, &job->chunks[i], &t);
    job->end = t.next_id;
    job->bytes = (uint64_t)t.bytes; /* a delta: what this txn added */
    if (!rc && t.bytes)
        rc = totals_save(cs, txn, &t);
    return rc;
}

/* Payload bytes of the chunks not stored yet (all of them on error). */
static uint64_t absent_bytes(struct chunk_store *cs, const struct chunk_ref *chunks, size_t n)
{
    uint64_t need = 0;
    for (size_t i = 0; i < n; i++)
        if (chunk_store_has(cs, chunks[i].hash) != 1)
            need += chunks[i].len;
    return need;
}

int chunk_store_put_batch(struct chunk_store *cs, const struct chunk_ref *chunks, size_t n)
{
    return chunk_store_put_batch_flags(cs, chunks, n, 0);
}

int chunk_store_put_batch_flags(struct chunk_store *cs, const struct chunk_ref *chunks, size_t n,
                                unsigned flags)
{
    uint64_t need = 0;
    for (size_t i = 0; i < n; i++) {
        if (chunks[i].len > CHUNK_MAX)
            return -EINVAL; /* a bug of the caller's: the chunker cuts at most that */
        need += chunks[i].len;
    }
    int rc = space_check(cs, need);
    if (rc == ENOSPC) { /* short of space: do chunks already stored make it fit? */
        need = absent_bytes(cs, chunks, n);
        rc = need ? space_check(cs, need) : 0;
    }
    struct put_job job = {.chunks = chunks};
    if (!rc)
        rc = write_txn(cs, put_step, &job, n, need);
    if (!rc && (flags & CHUNK_PUT_UNCACHE) && job.bytes >= CHUNK_UNCACHE_MIN)
        chunk_uncache(cs, job.first, job.end);
    if (rc && rc != ENOSPC) /* a full disk is the caller's to report */
        log_error("chunk store %s: put of %zu chunks failed: %s", cs->path, n, mdb_strerror(rc));
    return chunk_lmdb_errno(rc);
}

static int delete_one(struct chunk_store *cs, MDB_txn *txn, const uint8_t *hash,
                      struct write_totals *t)
{
    struct chunk_record rec;
    int rc = chunk_record_lookup(cs, txn, hash, &rec);
    if (rc == MDB_NOTFOUND)
        return 0;
    MDB_val k = {SHA256_LEN, (void *)hash};
    if (!rc)
        rc = mdb_del(txn, cs->chunks, &k, NULL);
    uint8_t key[CHUNK_PIECE_KEY_LEN];
    for (uint32_t i = 0; !rc && (uint64_t)i * cs->piece < rec.len; i++) {
        chunk_piece_key(key, rec.id, i);
        MDB_val pk = {sizeof(key), key};
        rc = mdb_del(txn, cs->pieces, &pk, NULL);
        if (rc == MDB_NOTFOUND)
            rc = 0; /* a damaged chunk is still deleted */
    }
    t->bytes -= rec.len;
    return rc;
}

static int delete_step(struct chunk_store *cs, MDB_txn *txn, void *arg, size_t n)
{
    const uint8_t(*hashes)[SHA256_LEN] = arg;
    struct write_totals t;
    int rc = totals_load(cs, txn, &t);
    for (size_t i = 0; i < n && !rc; i++)
        rc = delete_one(cs, txn, hashes[i], &t);
    if (!rc)
        rc = totals_save(cs, txn, &t); /* even unchanged: see delete_batch */
    return rc;
}

int chunk_store_delete_batch(struct chunk_store *cs, const uint8_t (*hashes)[SHA256_LEN], size_t n)
{
    int rc = write_txn(cs, delete_step, (void *)hashes, n, 0);
    /*
     * LMDB reuses a page only once the txn that freed it is older than the
     * previous one; a second small commit makes the pages freed above
     * reusable by the very next put, which matters most on a full disk.
     */
    if (!rc)
        rc = write_txn(cs, delete_step, (void *)hashes, 0, 0);
    if (rc)
        log_error("chunk store %s: delete of %zu chunks failed: %s", cs->path, n, mdb_strerror(rc));
    return chunk_lmdb_errno(rc);
}

int chunk_store_list(struct chunk_store *cs, const uint8_t *after, uint8_t (*out)[SHA256_LEN],
                     int max)
{
    struct reader r;
    int rc = chunk_reader_begin(cs, &r);
    if (rc)
        return rc;
    MDB_cursor *cur;
    rc = mdb_cursor_open(r.txn, cs->chunks, &cur);
    int n = 0;
    if (!rc) {
        MDB_val k = {SHA256_LEN, (void *)after}, v;
        rc = mdb_cursor_get(cur, &k, &v, after ? MDB_SET_RANGE : MDB_FIRST);
        if (!rc && after && k.mv_size == SHA256_LEN && !memcmp(k.mv_data, after, SHA256_LEN))
            rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
        for (; !rc && n < max; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
            if (k.mv_size == SHA256_LEN)
                memcpy(out[n++], k.mv_data, SHA256_LEN);
        mdb_cursor_close(cur);
    }
    chunk_reader_end(cs, &r);
    if (rc && rc != MDB_NOTFOUND)
        return chunk_lmdb_errno(rc);
    return n;
}
