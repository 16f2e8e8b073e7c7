#include "tests/unit/chunk/corrupt.h"

#include "common/bytes.h"
#include "fs/chunk/chunk_format.h"

#include <errno.h>
#include <lmdb.h>
#include <stdlib.h>
#include <string.h>

static int lmdb_rc(int rc)
{
    if (rc == MDB_NOTFOUND)
        return -ENOENT;
    return rc > 0 ? -rc : (rc ? -EIO : 0);
}

/* Opens dir and a write txn with DB `name` open. */
static int open_db(const char *dir, const char *name, MDB_env **env, MDB_txn **txn, MDB_dbi *dbi)
{
    int rc = mdb_env_create(env);
    if (rc)
        return lmdb_rc(rc);
    mdb_env_set_maxdbs(*env, 3);
    mdb_env_set_mapsize(*env, 1ull << 30);
    rc = mdb_env_open(*env, dir, 0, 0600);
    if (!rc)
        rc = mdb_txn_begin(*env, NULL, 0, txn);
    if (!rc) {
        rc = mdb_dbi_open(*txn, name, 0, dbi);
        if (rc)
            mdb_txn_abort(*txn);
    }
    if (rc)
        mdb_env_close(*env);
    return lmdb_rc(rc);
}

static int finish(MDB_env *env, MDB_txn *txn, int rc)
{
    if (rc)
        mdb_txn_abort(txn);
    else
        rc = mdb_txn_commit(txn);
    mdb_env_close(env);
    return lmdb_rc(rc);
}

static int flip(MDB_txn *txn, MDB_dbi dbi, MDB_val *k, MDB_val *v)
{
    uint8_t *copy = malloc(v->mv_size ? v->mv_size : 1);
    if (!copy)
        return ENOMEM;
    memcpy(copy, v->mv_data, v->mv_size);
    if (v->mv_size)
        copy[v->mv_size / 2] ^= 0x01;
    MDB_val nv = {v->mv_size, copy};
    int rc = mdb_put(txn, dbi, k, &nv, 0);
    free(copy);
    return rc;
}

int corrupt_chunk(const char *dir, const uint8_t *hash, uint32_t piece, uint8_t out[SHA256_LEN])
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    int rc = open_db(dir, CHUNK_DB_PIECES, &env, &txn, &dbi);
    if (rc)
        return rc;
    MDB_cursor *cur;
    uint8_t key[CHUNK_PIECE_KEY_LEN];
    MDB_val k = {sizeof(key), key}, v;
    rc = mdb_cursor_open(txn, dbi, &cur);
    if (!rc && hash) {
        chunk_piece_key(key, hash, piece);
        rc = mdb_cursor_get(cur, &k, &v, MDB_SET_KEY);
    } else if (!rc) {
        rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    }
    if (!rc) {
        memcpy(out, k.mv_data, SHA256_LEN);
        memcpy(key, k.mv_data, sizeof(key));
        k = (MDB_val){sizeof(key), key};
        mdb_cursor_close(cur);
        rc = flip(txn, dbi, &k, &v);
    }
    return finish(env, txn, rc);
}

int corrupt_drop_piece(const char *dir, const uint8_t hash[SHA256_LEN], uint32_t piece)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    int rc = open_db(dir, CHUNK_DB_PIECES, &env, &txn, &dbi);
    if (rc)
        return rc;
    uint8_t key[CHUNK_PIECE_KEY_LEN];
    chunk_piece_key(key, hash, piece);
    MDB_val k = {sizeof(key), key};
    return finish(env, txn, mdb_del(txn, dbi, &k, NULL));
}

int corrupt_set_meta_u32(const char *dir, const char *name, uint32_t value)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    int rc = open_db(dir, CHUNK_DB_META, &env, &txn, &dbi);
    if (rc)
        return rc;
    uint8_t b[4];
    put_u32(b, value);
    MDB_val k = {strlen(name), (void *)name}, v = {4, b};
    return finish(env, txn, mdb_put(txn, dbi, &k, &v, 0));
}
