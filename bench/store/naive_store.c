#include "bench/store/naive_store.h"

#include <errno.h>
#include <limits.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct naive_store {
    MDB_env *env;
    MDB_dbi dbi;
    char path[PATH_MAX];
};

static int errno_of(int rc)
{
    if (rc == MDB_NOTFOUND)
        return -ENOENT;
    return rc > 0 ? -rc : (rc ? -EIO : 0);
}

int naive_store_open(const char *dir, struct naive_store **out)
{
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return -errno;
    struct naive_store *ns = calloc(1, sizeof(*ns));
    if (!ns)
        return -ENOMEM;
    snprintf(ns->path, sizeof(ns->path), "%s/data.mdb", dir);
    MDB_txn *txn;
    int rc = mdb_env_create(&ns->env);
    if (!rc)
        rc = mdb_env_set_mapsize(ns->env, 64ull << 30); /* never grows in a bench */
    if (!rc)
        rc = mdb_env_open(ns->env, dir, MDB_NOTLS | MDB_NORDAHEAD, 0600);
    if (!rc)
        rc = mdb_txn_begin(ns->env, NULL, 0, &txn);
    if (!rc)
        rc = mdb_dbi_open(txn, NULL, 0, &ns->dbi);
    if (!rc)
        rc = mdb_txn_commit(txn);
    if (rc) {
        mdb_env_close(ns->env);
        free(ns);
        return errno_of(rc);
    }
    *out = ns;
    return 0;
}

void naive_store_close(struct naive_store *ns)
{
    mdb_env_close(ns->env);
    free(ns);
}

int naive_store_put_batch(struct naive_store *ns, const struct chunk_ref *chunks, size_t n)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(ns->env, NULL, 0, &txn);
    for (size_t i = 0; i < n && !rc; i++) {
        MDB_val k = {SHA256_LEN, (void *)chunks[i].hash};
        MDB_val v = {chunks[i].len, (void *)chunks[i].data};
        rc = mdb_put(txn, ns->dbi, &k, &v, MDB_NOOVERWRITE);
        if (rc == MDB_KEYEXIST)
            rc = 0;
    }
    if (!rc)
        return errno_of(mdb_txn_commit(txn));
    mdb_txn_abort(txn);
    return errno_of(rc);
}

int naive_store_delete_batch(struct naive_store *ns, const uint8_t (*hashes)[SHA256_LEN], size_t n)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(ns->env, NULL, 0, &txn);
    for (size_t i = 0; i < n && !rc; i++) {
        MDB_val k = {SHA256_LEN, (void *)hashes[i]};
        rc = mdb_del(txn, ns->dbi, &k, NULL);
        if (rc == MDB_NOTFOUND)
            rc = 0;
    }
    if (!rc)
        return errno_of(mdb_txn_commit(txn));
    mdb_txn_abort(txn);
    return errno_of(rc);
}

int naive_store_get(struct naive_store *ns, const uint8_t hash[SHA256_LEN], uint8_t *buf,
                    size_t cap, uint32_t *len)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(ns->env, NULL, MDB_RDONLY, &txn);
    if (rc)
        return errno_of(rc);
    MDB_val k = {SHA256_LEN, (void *)hash}, v;
    rc = mdb_get(txn, ns->dbi, &k, &v);
    if (!rc && v.mv_size > cap)
        rc = ENOBUFS;
    if (!rc) {
        memcpy(buf, v.mv_data, v.mv_size);
        *len = (uint32_t)v.mv_size;
    }
    mdb_txn_abort(txn);
    uint8_t d[SHA256_LEN];
    if (!rc && (sha256(buf, *len, d) || memcmp(d, hash, SHA256_LEN)))
        return -EIO;
    return errno_of(rc);
}

int64_t naive_store_file_bytes(struct naive_store *ns)
{
    struct stat st;
    return stat(ns->path, &st) < 0 ? -errno : (int64_t)st.st_size;
}
