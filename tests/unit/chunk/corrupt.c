#include "tests/unit/chunk/corrupt.h"

#include "common/bytes.h"
#include "fs/chunk/chunk_format.h"

#include <errno.h>
#include <lmdb.h>
#include <stdlib.h>
#include <string.h>

/* A write txn on a closed chunk environment with its three DBs open. */
struct raw {
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi meta, chunks, pieces;
};

static int lmdb_rc(int rc)
{
    if (rc == MDB_NOTFOUND)
        return -ENOENT;
    return rc > 0 ? -rc : (rc ? -EIO : 0);
}

static int raw_open(const char *dir, struct raw *r)
{
    int rc = mdb_env_create(&r->env);
    if (rc)
        return lmdb_rc(rc);
    mdb_env_set_maxdbs(r->env, 3);
    mdb_env_set_mapsize(r->env, 1ull << 30);
    rc = mdb_env_open(r->env, dir, 0, 0600);
    if (!rc)
        rc = mdb_txn_begin(r->env, NULL, 0, &r->txn);
    if (!rc) {
        rc = mdb_dbi_open(r->txn, CHUNK_DB_META, 0, &r->meta);
        if (!rc)
            rc = mdb_dbi_open(r->txn, CHUNK_DB_CHUNKS, 0, &r->chunks);
        if (!rc)
            rc = mdb_dbi_open(r->txn, CHUNK_DB_PIECES, 0, &r->pieces);
        if (rc)
            mdb_txn_abort(r->txn);
    }
    if (rc)
        mdb_env_close(r->env);
    return lmdb_rc(rc);
}

/* Commits (rc == 0) or aborts, and closes. */
static int raw_close(struct raw *r, int rc)
{
    if (rc)
        mdb_txn_abort(r->txn);
    else
        rc = mdb_txn_commit(r->txn);
    mdb_env_close(r->env);
    return lmdb_rc(rc);
}

/* The key of piece `piece` of chunk hash, or of the first non-empty chunk
 * in name order when hash is NULL (its name goes to name). */
static int piece_key(struct raw *r, const uint8_t *hash, uint32_t piece,
                     uint8_t key[CHUNK_PIECE_KEY_LEN], uint8_t name[SHA256_LEN])
{
    MDB_cursor *cur;
    MDB_val k = {SHA256_LEN, (void *)hash}, v;
    int rc = mdb_cursor_open(r->txn, r->chunks, &cur);
    if (rc)
        return rc;
    uint64_t id = 0;
    uint32_t len = 0;
    rc = mdb_cursor_get(cur, &k, &v, hash ? MDB_SET_KEY : MDB_FIRST);
    for (; !rc; rc = hash ? MDB_NOTFOUND : mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        struct chunk_record rec;
        if (chunk_record_decode(v.mv_data, v.mv_size, &rec) < 0) {
            rc = MDB_CORRUPTED;
            break;
        }
        id = rec.id;
        len = rec.len;
        if (len > 0 || hash)
            break;
    }
    if (!rc) {
        memcpy(name, k.mv_data, SHA256_LEN);
        MDB_val pk = {strlen(CHUNK_META_PIECE), CHUNK_META_PIECE}, pv;
        rc = mdb_get(r->txn, r->meta, &pk, &pv);
        if (!rc && (pv.mv_size != 4 || (uint64_t)piece * get_u32(pv.mv_data) >= len))
            rc = MDB_NOTFOUND;
    }
    mdb_cursor_close(cur);
    if (!rc)
        chunk_piece_key(key, id, piece);
    return rc;
}

static int flip(struct raw *r, uint8_t key[CHUNK_PIECE_KEY_LEN])
{
    MDB_val k = {CHUNK_PIECE_KEY_LEN, key}, v;
    int rc = mdb_get(r->txn, r->pieces, &k, &v);
    if (rc)
        return rc;
    uint8_t *copy = malloc(v.mv_size);
    if (!copy)
        return ENOMEM;
    memcpy(copy, v.mv_data, v.mv_size);
    copy[v.mv_size / 2] ^= 0x01;
    MDB_val nv = {v.mv_size, copy};
    rc = mdb_put(r->txn, r->pieces, &k, &nv, 0);
    free(copy);
    return rc;
}

int corrupt_chunk(const char *dir, const uint8_t *hash, uint32_t piece, uint8_t out[SHA256_LEN])
{
    struct raw r;
    uint8_t key[CHUNK_PIECE_KEY_LEN];
    int rc = raw_open(dir, &r);
    if (rc)
        return rc;
    rc = piece_key(&r, hash, piece, key, out);
    if (!rc)
        rc = flip(&r, key);
    return raw_close(&r, rc);
}

int corrupt_drop_piece(const char *dir, const uint8_t hash[SHA256_LEN], uint32_t piece)
{
    struct raw r;
    uint8_t key[CHUNK_PIECE_KEY_LEN], name[SHA256_LEN];
    int rc = raw_open(dir, &r);
    if (rc)
        return rc;
    rc = piece_key(&r, hash, piece, key, name);
    MDB_val k = {CHUNK_PIECE_KEY_LEN, key};
    if (!rc)
        rc = mdb_del(r.txn, r.pieces, &k, NULL);
    return raw_close(&r, rc);
}

static int meta_put_u32(struct raw *r, const char *name, uint32_t value)
{
    uint8_t b[4];
    put_u32(b, value);
    MDB_val k = {strlen(name), (void *)name}, v = {4, b};
    return mdb_put(r->txn, r->meta, &k, &v, 0);
}

int corrupt_set_meta_u32(const char *dir, const char *name, uint32_t value)
{
    struct raw r;
    int rc = raw_open(dir, &r);
    if (rc)
        return rc;
    return raw_close(&r, meta_put_u32(&r, name, value));
}

/* Rewrites the record of hash as its first `keep` bytes (all when keep is
 * 0), then `extra` bytes of more if any, and flips bit 0 of byte `flip`
 * (none if flip is past the end). */
struct record_edit {
    size_t keep, flip;
    const uint8_t *more;
    size_t extra;
};

static int record_edit(struct raw *r, const uint8_t *hash, const struct record_edit *e)
{
    MDB_val k = {SHA256_LEN, (void *)hash}, v;
    int rc = mdb_get(r->txn, r->chunks, &k, &v);
    if (!rc && (v.mv_size > CHUNK_RECORD_MAX_LEN || e->keep > v.mv_size))
        rc = MDB_CORRUPTED;
    if (rc)
        return rc;
    uint8_t rec[CHUNK_RECORD_MAX_LEN + 4];
    size_t n = e->keep ? e->keep : v.mv_size;
    memcpy(rec, v.mv_data, n);
    if (e->extra && n + e->extra <= sizeof(rec)) {
        memcpy(rec + n, e->more, e->extra);
        n += e->extra;
    }
    if (e->flip < n)
        rec[e->flip] ^= 0x01;
    v = (MDB_val){n, rec};
    return mdb_put(r->txn, r->chunks, &k, &v, 0);
}

int corrupt_record_crc(const char *dir, const uint8_t hash[SHA256_LEN], uint32_t block)
{
    struct raw r;
    int rc = raw_open(dir, &r);
    if (rc)
        return rc;
    struct record_edit e = {.flip = CHUNK_RECORD_HEAD + 4 * (size_t)block};
    return raw_close(&r, record_edit(&r, hash, &e));
}

int corrupt_get_meta_u32(const char *dir, const char *name, uint32_t *value)
{
    struct raw r;
    int rc = raw_open(dir, &r);
    if (rc)
        return rc;
    MDB_val k = {strlen(name), (void *)name}, v;
    rc = mdb_get(r.txn, r.meta, &k, &v);
    if (!rc && v.mv_size != 4)
        rc = MDB_CORRUPTED;
    if (!rc)
        *value = get_u32(v.mv_data);
    return raw_close(&r, rc);
}

int corrupt_make_v1(const char *dir, const uint8_t hash[SHA256_LEN])
{
    struct raw r;
    int rc = raw_open(dir, &r);
    if (rc)
        return rc;
    struct record_edit e = {.keep = CHUNK_RECORD_LEN_V1, .flip = SIZE_MAX};
    rc = record_edit(&r, hash, &e);
    if (!rc)
        rc = meta_put_u32(&r, CHUNK_META_FORMAT, CHUNK_FORMAT_V1);
    return raw_close(&r, rc);
}

int corrupt_make_v2(const char *dir, const uint8_t hash[SHA256_LEN], uint32_t crc)
{
    struct raw r;
    int rc = raw_open(dir, &r);
    if (rc)
        return rc;
    uint8_t b[4];
    put_u32(b, crc);
    struct record_edit e = {.keep = CHUNK_RECORD_HEAD, .flip = SIZE_MAX, .more = b, .extra = 4};
    rc = record_edit(&r, hash, &e);
    if (!rc)
        rc = meta_put_u32(&r, CHUNK_META_FORMAT, CHUNK_FORMAT_V2);
    return raw_close(&r, rc);
}
