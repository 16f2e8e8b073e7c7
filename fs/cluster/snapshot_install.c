/*
 * snapshot_install.c - installs a received metadata snapshot (snapshot.h):
 * opened as a separate read-only LMDB environment, copied DB by DB into one
 * write transaction of the live environment on the apply thread, then the
 * kernel is told what differs from the state it replaced.
 */
#include "fs/cluster/cluster_internal.h"
#include "fs/cluster/snapshot.h"
#include "fs/core/core_cluster.h"
#include "fs/store/meta_copy.h"
#include "fs/store/meta_dir.h"

#include "common/bytes.h"
#include "common/log.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

struct install {
    struct cluster *cl;
    MDB_env *env; /* the snapshot, read-only */
    uint64_t idx; /* its applied index */
    MDB_txn *w;   /* the install's write transaction on the live environment */
    MDB_dbi gc;   /* its GC queue */
    int err;      /* first error of queue_dead() */
    bool moves;   /* entry_changed: report the directories the old entries named */
};

static int open_snapshot(const char *path, MDB_env **out)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return -errno;
    MDB_env *env;
    int rc = meta_err(mdb_env_create(&env));
    if (rc)
        return rc;
    /* the file's size is all it holds: no need for the live map's size */
    rc = meta_err(mdb_env_set_mapsize(env, (size_t)st.st_size));
    if (!rc)
        rc = meta_err(mdb_env_set_maxdbs(env, META_DB_COUNT + 8));
    if (!rc) /* no lock file: only this thread and the apply thread read it, in turn */
        rc = meta_err(
            mdb_env_open(env, path, MDB_RDONLY | MDB_NOSUBDIR | MDB_NOLOCK | MDB_NOTLS, 0600));
    if (rc) {
        mdb_env_close(env);
        return rc;
    }
    *out = env;
    return 0;
}

/* The snapshot's format version, applied index and dedup record, checked
 * before anything is replaced. */
static int read_header(MDB_env *env, uint64_t *idx)
{
    MDB_txn *t;
    MDB_dbi meta;
    int rc = meta_err(mdb_txn_begin(env, NULL, MDB_RDONLY, &t));
    if (rc)
        return rc;
    rc = mdb_dbi_open(t, meta_copy_fs_dbs[META_DB_META], 0, &meta) ? -EPROTO : 0;
    uint64_t version = 0;
    if (!rc)
        rc = meta_get_u64(t, meta, "version", strlen("version"), &version);
    if (!rc && version != META_FORMAT_VERSION) {
        log_error("cluster: snapshot of format %llu, this build reads %d",
                  (unsigned long long)version, META_FORMAT_VERSION);
        rc = -EPROTO;
    }
    if (!rc)
        rc = meta_get_u64(t, meta, "applied", strlen("applied"), idx);
    MDB_val k = {5, "dedup"}, v;
    if (!rc && mdb_get(t, meta, &k, &v) == 0 && v.mv_size != DEDUP_ENC_LEN)
        rc = -EPROTO;
    mdb_txn_abort(t);
    return rc;
}

typedef void (*changed_fn)(struct install *x, const MDB_val *key, const MDB_val *val);

static void inode_changed(struct install *x, const MDB_val *k, const MDB_val *v)
{
    (void)v;
    const struct cluster_hooks *h = &x->cl->hooks;
    if (h->inode_changed && k->mv_size == 8)
        h->inode_changed(h->ctx, x->idx, get_u64_be(k->mv_data));
}

/* With x->moves, v is the old state's value: an old entry that named a
 * directory may be the old name of a directory the snapshot moved (or
 * removed: its old name is walked all the same, harmlessly). */
static void entry_changed(struct install *x, const MDB_val *k, const MDB_val *v)
{
    const struct cluster_hooks *h = &x->cl->hooks;
    if (k->mv_size <= 8)
        return;
    uint64_t parent = get_u64_be(k->mv_data);
    const char *name = (const char *)k->mv_data + 8;
    if (h->entry_changed)
        h->entry_changed(h->ctx, x->idx, parent, name, k->mv_size - 8);
    struct meta_dirent e;
    if (x->moves && h->dir_moved && !meta_dirent_decode(v, &e) && S_ISDIR(e.type))
        h->dir_moved(h->ctx, e.child, parent, name, k->mv_size - 8);
}

/* Calls fn for each key of db_a in a that db_b in b lacks (or, with
 * changed, holds with another value). */
static int diff_db(MDB_txn *a, const char *db_a, MDB_txn *b, const char *db_b, bool changed,
                   changed_fn fn, struct install *x)
{
    MDB_dbi da, dbb;
    MDB_cursor *c;
    if (mdb_dbi_open(a, db_a, 0, &da) || mdb_dbi_open(b, db_b, 0, &dbb))
        return -EPROTO;
    int rc = mdb_cursor_open(a, da, &c);
    if (rc)
        return meta_err(rc);
    MDB_val k, v, w;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        int g = mdb_get(b, dbb, &k, &w);
        if (g == MDB_NOTFOUND ||
            (changed && !g && (w.mv_size != v.mv_size || memcmp(w.mv_data, v.mv_data, v.mv_size))))
            fn(x, &k, &v);
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? 0 : meta_err(rc);
}

static void queue_dead(struct install *x, const MDB_val *hash, const MDB_val *v)
{
    MDB_val none = {0, NULL};
    (void)v;
    if (!x->err)
        x->err = meta_err(mdb_put(x->w, x->gc, (MDB_val *)hash, &none, 0));
}

/* Chunks this node holds for the old state that the new one does not
 * reference (counted, or dead and not collected yet) go to the GC queue,
 * which deletes them once they are unreferenced and unpinned: otherwise
 * nothing would ever collect them. */
static int queue_dropped_chunks(struct install *x, MDB_txn *old, MDB_txn *snap)
{
    const char *refs = meta_copy_fs_dbs[META_DB_REFS], *gc = meta_copy_fs_dbs[META_DB_GC];
    int rc = meta_err(mdb_dbi_open(x->w, gc, 0, &x->gc));
    if (!rc)
        rc = diff_db(old, refs, snap, refs, false, queue_dead, x);
    if (!rc)
        rc = diff_db(old, gc, snap, refs, false, queue_dead, x);
    return rc ? rc : x->err;
}

/* The kernel may cache any inode or entry of the old state (old) that the
 * new one (snap) changed, and negative entries for names it added. */
static void report_changes(struct install *x, MDB_txn *old, MDB_txn *snap)
{
    const char *inodes = meta_copy_fs_dbs[META_DB_INODES];
    const char *dirents = meta_copy_fs_dbs[META_DB_DIRENTS];
    int rc = diff_db(old, inodes, snap, inodes, true, inode_changed, x);
    x->moves = true;
    if (!rc)
        rc = diff_db(old, dirents, snap, dirents, true, entry_changed, x);
    x->moves = false;
    if (!rc)
        rc = diff_db(snap, dirents, old, dirents, false, entry_changed, x);
    if (rc) /* the kernel's cache timeouts bound the staleness */
        log_warn("cluster: cannot list what the snapshot changed: %s", strerror(-rc));
}

/* Apply thread (struct cl_install): the live state becomes the snapshot's. */
static int install_run(void *arg, uint64_t *applied)
{
    struct install *x = arg;
    struct meta_store *ms = core_meta_store(x->cl->core);
    if (x->idx <= x->cl->applied) /* this thread is the only writer of applied */
        return -EALREADY;
    MDB_txn *snap, *old = NULL, *w = NULL;
    int rc = meta_err(mdb_txn_begin(x->env, NULL, MDB_RDONLY, &snap));
    if (rc)
        return rc;
    rc = meta_txn_read(ms, &old); /* the state the kernel may have cached */
    if (!rc)
        rc = meta_txn_write(ms, &w); /* durable by run_install()'s checkpoint */
    x->w = w;
    if (!rc)
        rc = meta_copy_dbs(snap, w, meta_copy_fs_dbs, META_DB_COUNT);
    if (!rc)
        rc = queue_dropped_chunks(x, old, snap);
    if (!rc)
        rc = meta_commit(ms, w); /* EIO on a full disk: ENOSPC */
    else if (w)
        mdb_txn_abort(w);
    if (!rc)
        report_changes(x, old, snap);
    if (old)
        mdb_txn_abort(old);
    mdb_txn_abort(snap);
    *applied = x->idx;
    return rc;
}

int snapshot_install(struct cluster *cl, const char *path, bool (*cancelled)(void *), void *arg)
{
    struct install x = {.cl = cl};
    int rc = open_snapshot(path, &x.env);
    if (!rc)
        rc = read_header(x.env, &x.idx);
    pthread_mutex_lock(&cl->ap_lock);
    uint64_t was = cl->applied;
    pthread_mutex_unlock(&cl->ap_lock);
    if (!rc && x.idx <= was)
        rc = -EALREADY;
    if (!rc) {
        struct cl_install job = {
            .run = install_run, .arg = &x, .cancelled = cancelled, .cancel_arg = arg};
        rc = apply_loop_install(cl, &job);
    }
    if (x.env)
        mdb_env_close(x.env);
    if (rc)
        return rc;
    log_info("cluster: installed a metadata snapshot at index %llu (this node was at %llu); "
             "a scan now pulls the chunks it references that are missing here",
             (unsigned long long)x.idx, (unsigned long long)was);
    if (cl->sync) /* chunk sync notes only applied commands: the snapshot needs a scan */
        chunk_sync_rescan(cl->sync);
    return 0;
}
