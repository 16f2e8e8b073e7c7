#include "fs/store/meta_store.h"

#include "fs/store/meta_checkpoint.h"

#include "common/bytes.h"
#include "common/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

/* Virtual size only: LMDB without MDB_WRITEMAP grows the file as it writes. */
#define META_MAPSIZE     ((size_t)1 << 40)
#define META_MAPSIZE_MIN ((size_t)1 << 30)
#define META_MAXDBS      32

static const char *const db_names[META_DB_COUNT] = {
    "meta", "inodes", "symlinks", "dirents", "cookies",   "chunkmap",
    "refs", "gc",     "xattrs",   "orphans", "conflicts",
};

int meta_err(int rc)
{
    if (rc == 0)
        return 0;
    if (rc == MDB_NOTFOUND)
        return -ENOENT;
    if (rc == MDB_MAP_FULL)
        return -ENOSPC;
    if (rc > 0)
        return -rc;
    return -EIO;
}

int meta_commit(struct meta_store *ms, MDB_txn *txn)
{
    int rc = meta_err(mdb_txn_commit(txn));
    const char *path;
    struct statvfs vfs;
    if (rc != -EIO || mdb_env_get_path(ms->env, &path) || statvfs(path, &vfs) < 0)
        return rc;
    return (uint64_t)vfs.f_bavail * vfs.f_frsize < (2u << 20) ? -ENOSPC : rc;
}

uint64_t meta_store_used_bytes(struct meta_store *ms)
{
    MDB_envinfo info;
    MDB_stat st;
    if (mdb_env_info(ms->env, &info) || mdb_env_stat(ms->env, &st))
        return 0;
    return ((uint64_t)info.me_last_pgno + 1) * st.ms_psize;
}

int meta_txn_read(struct meta_store *ms, MDB_txn **txn)
{
    return meta_err(mdb_txn_begin(ms->env, NULL, MDB_RDONLY, txn));
}

int meta_txn_write(struct meta_store *ms, MDB_txn **txn)
{
    return meta_err(mdb_txn_begin(ms->env, NULL, 0, txn));
}

int meta_get_u64(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t keylen, uint64_t *v)
{
    MDB_val k = {keylen, (void *)key}, d;
    int rc = mdb_get(txn, dbi, &k, &d);
    if (rc == MDB_NOTFOUND) {
        *v = 0;
        return 0;
    }
    if (rc)
        return meta_err(rc);
    if (d.mv_size != 8)
        return -EPROTO;
    *v = get_u64(d.mv_data);
    return 0;
}

int meta_counter_get(struct meta_store *ms, MDB_txn *txn, const char *key, uint64_t *v)
{
    return meta_get_u64(txn, ms->dbi[META_DB_META], key, strlen(key), v);
}

int meta_counter_put(struct meta_store *ms, MDB_txn *txn, const char *key, uint64_t v)
{
    uint8_t buf[8];
    put_u64(buf, v);
    MDB_val k = {strlen(key), (void *)key}, d = {8, buf};
    return meta_err(mdb_put(txn, ms->dbi[META_DB_META], &k, &d, 0));
}

/* Creates the DBs and checks (or writes, on a fresh store) the version. */
static int open_dbs(struct meta_store *ms)
{
    MDB_txn *txn;
    int rc = meta_txn_write(ms, &txn);
    if (rc)
        return rc;
    for (int i = 0; i < META_DB_COUNT && !rc; i++)
        rc = meta_err(mdb_dbi_open(txn, db_names[i], MDB_CREATE, &ms->dbi[i]));
    uint64_t version = 0;
    if (!rc)
        rc = meta_counter_get(ms, txn, "version", &version);
    /* An older store is upgraded: its records still decode and version 2
     * only added the conflicts DB, created above. */
    if (!rc && (version == 0 || (version >= META_FORMAT_OLDEST && version < META_FORMAT_VERSION)))
        rc = meta_counter_put(ms, txn, "version", META_FORMAT_VERSION);
    else if (!rc && version != META_FORMAT_VERSION) {
        log_error("meta store: format version %llu, this build reads %d",
                  (unsigned long long)version, META_FORMAT_VERSION);
        rc = -EPROTO;
    }
    if (rc) {
        mdb_txn_abort(txn);
        return rc;
    }
    return meta_err(mdb_txn_commit(txn));
}

static int env_open(struct meta_store *ms, const char *dir, size_t mapsize)
{
    int rc = meta_err(mdb_env_create(&ms->env));
    if (rc)
        return rc;
    rc = meta_err(mdb_env_set_mapsize(ms->env, mapsize));
    if (!rc)
        rc = meta_err(mdb_env_set_maxdbs(ms->env, META_MAXDBS));
    if (!rc)
        rc = meta_err(mdb_env_set_maxreaders(ms->env, 512));
    if (!rc)
        rc = meta_err(mdb_env_open(ms->env, dir, MDB_NOTLS, 0600));
    if (rc) {
        mdb_env_close(ms->env);
        ms->env = NULL;
    }
    return rc;
}

/* LMDB must open at the checkpoint restored, or the caller's log would be
 * replayed onto another state. */
static int check_restored(struct meta_store *ms, uint64_t txnid)
{
    MDB_envinfo info;
    if (!txnid)
        return 0;
    if (mdb_env_info(ms->env, &info))
        return -EIO;
    if ((uint64_t)info.me_last_txnid == txnid)
        return 0;
    log_error("meta store: opened at transaction %llu, its checkpoint is %llu",
              (unsigned long long)info.me_last_txnid, (unsigned long long)txnid);
    return -EIO;
}

int meta_store_open(const char *dir, struct meta_store **out)
{
    if (mkdir(dir, 0700) && errno != EEXIST)
        return -errno;
    struct meta_store *ms = calloc(1, sizeof(*ms));
    if (!ms)
        return -ENOMEM;
    uint64_t txnid;
    int rc = meta_ckpt_restore(dir, &ms->ckpt, &txnid);
    /* The largest map the address space allows (a ulimit -v or a sanitizer
     * may refuse 1 TiB); the map bounds the store, not memory use. */
    size_t mapsize = META_MAPSIZE;
    while (!rc && (rc = env_open(ms, dir, mapsize)) == -ENOMEM && mapsize > META_MAPSIZE_MIN) {
        mapsize /= 4;
        rc = 0; /* try a quarter of it */
    }
    if (!rc && mapsize < META_MAPSIZE)
        log_info("meta store %s: the address space is limited, map of %zu GiB", dir, mapsize >> 30);
    if (!rc)
        rc = check_restored(ms, txnid);
    /* Before any commit: from the first, a page of the checkpoint restored
     * may be reused only once a newer one is saved. */
    if (!rc)
        rc = meta_ckpt_start(ms->ckpt, ms->env);
    if (!rc)
        rc = open_dbs(ms);
    if (rc) {
        log_error("meta store %s: %s", dir, strerror(-rc));
        meta_ckpt_close(ms->ckpt);
        if (ms->env)
            mdb_env_close(ms->env);
        free(ms);
        return rc;
    }
    *out = ms;
    return 0;
}

/* A last checkpoint: what was committed is durable after a clean close. */
void meta_store_close(struct meta_store *ms)
{
    if (!ms)
        return;
    if (meta_ckpt_started(ms->ckpt))
        meta_ckpt_take(ms->ckpt); /* logged there; the caller's log still has it */
    meta_ckpt_close(ms->ckpt);
    mdb_env_close(ms->env);
    free(ms);
}

int meta_store_checkpoint(struct meta_store *ms)
{
    return meta_ckpt_take(ms->ckpt);
}

int meta_store_checkpoint_begin(struct meta_store *ms)
{
    return meta_ckpt_begin(ms->ckpt);
}

int meta_store_checkpoint_poll(struct meta_store *ms, bool wait)
{
    return meta_ckpt_poll(ms->ckpt, wait);
}

bool meta_store_checkpoint_due(struct meta_store *ms)
{
    return meta_ckpt_due(ms->ckpt);
}

MDB_env *meta_store_env(struct meta_store *ms)
{
    return ms->env;
}
