/* Acceptor state in LMDB: one write transaction per batch. */
#include "consensus/persist_lmdb.h"

#include "common/bytes.h"
#include "common/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define REC_HDR 26 /* ballot u64, flags u8, kind u8, origin u32, req u64, len u32 */

struct persist_lmdb {
    MDB_env *env;
    MDB_dbi meta, log;
    uint8_t *val; /* reused value buffer */
    size_t val_cap;
};

static int lmdb_err(int rc)
{
    if (rc == 0)
        return 0;
    if (rc == MDB_MAP_FULL)
        return -ENOSPC;
    /* a system error (ENOSPC on a full disk) as itself, LMDB's own as EIO,
     * ours (already -errno) unchanged */
    if (rc <= MDB_KEYEXIST && rc >= MDB_LAST_ERRCODE)
        return -EIO;
    return rc > 0 ? -rc : rc;
}

static int put_u64_key(MDB_txn *t, MDB_dbi dbi, const char *name, uint64_t v)
{
    uint8_t b[8];
    put_u64(b, v);
    MDB_val k = {strlen(name), (void *)name}, d = {8, b};
    return mdb_put(t, dbi, &k, &d, 0);
}

static int get_u64_key(MDB_txn *t, MDB_dbi dbi, const char *name, uint64_t *v)
{
    MDB_val k = {strlen(name), (void *)name}, d;
    int rc = mdb_get(t, dbi, &k, &d);
    if (rc == MDB_NOTFOUND) {
        *v = 0;
        return 0;
    }
    if (rc)
        return rc;
    if (d.mv_size != 8)
        return -EBADMSG;
    *v = get_u64(d.mv_data);
    return 0;
}

static int open_dbs(struct persist_lmdb *p)
{
    MDB_txn *t;
    int rc = mdb_txn_begin(p->env, NULL, 0, &t);
    if (rc)
        return lmdb_err(rc);
    rc = mdb_dbi_open(t, "paxos_meta", MDB_CREATE, &p->meta);
    if (!rc)
        rc = mdb_dbi_open(t, "paxos_log", MDB_CREATE, &p->log);
    uint64_t ver = 0;
    if (!rc)
        rc = get_u64_key(t, p->meta, "version", &ver);
    if (!rc && ver == 0)
        rc = put_u64_key(t, p->meta, "version", PAXOS_LMDB_VERSION);
    else if (!rc && ver != PAXOS_LMDB_VERSION)
        rc = -EPROTO;
    if (rc) {
        mdb_txn_abort(t);
        return lmdb_err(rc);
    }
    return lmdb_err(mdb_txn_commit(t));
}

int persist_lmdb_open(struct persist_lmdb **out, MDB_env *env)
{
    struct persist_lmdb *p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    p->env = env;
    int rc = open_dbs(p);
    if (rc < 0) {
        free(p);
        return rc;
    }
    *out = p;
    return 0;
}

void persist_lmdb_close(struct persist_lmdb *p)
{
    if (!p)
        return;
    free(p->val);
    free(p);
}

int persist_lmdb_clear(struct persist_lmdb *p)
{
    MDB_txn *t;
    int rc = mdb_txn_begin(p->env, NULL, 0, &t);
    if (rc)
        return lmdb_err(rc);
    rc = mdb_drop(t, p->log, 0);
    const char *keys[] = {"promised", "commit", "log_start"};
    for (size_t i = 0; !rc && i < sizeof(keys) / sizeof(keys[0]); i++) {
        MDB_val k = {strlen(keys[i]), (void *)keys[i]};
        rc = mdb_del(t, p->meta, &k, NULL);
        rc = rc == MDB_NOTFOUND ? 0 : rc;
    }
    if (rc) {
        mdb_txn_abort(t);
        return lmdb_err(rc);
    }
    return lmdb_err(mdb_txn_commit(t));
}

static int put_rec(struct persist_lmdb *p, MDB_txn *t, const struct cons_rec *r)
{
    size_t need = REC_HDR + r->e.len;
    if (p->val_cap < need) {
        uint8_t *v = realloc(p->val, need);
        if (!v)
            return -ENOMEM;
        p->val = v;
        p->val_cap = need;
    }
    uint8_t key[8], *v = p->val;
    put_u64_be(key, r->slot);
    put_u64(v, r->ballot);
    v[8] = r->flags;
    v[9] = r->e.kind;
    put_u32(v + 10, r->e.origin);
    put_u64(v + 14, r->e.req_id);
    put_u32(v + 22, r->e.len);
    if (r->e.len)
        memcpy(v + REC_HDR, r->e.data, r->e.len);
    MDB_val k = {8, key}, d = {need, v};
    return mdb_put(t, p->log, &k, &d, 0);
}

/* Deletes every record below log_start (they are applied everywhere needed). */
static int truncate_below(struct persist_lmdb *p, MDB_txn *t, uint64_t log_start)
{
    MDB_cursor *c;
    int rc = mdb_cursor_open(t, p->log, &c);
    if (rc)
        return rc;
    MDB_val k, d;
    while ((rc = mdb_cursor_get(c, &k, &d, MDB_FIRST)) == 0) {
        if (k.mv_size != 8 || get_u64_be(k.mv_data) >= log_start)
            break;
        rc = mdb_cursor_del(c, 0);
        if (rc)
            break;
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/*
 * A commit of an env without MDB_NOMETASYNC/MDB_NOSYNC has synced its data
 * pages, then written its meta page through LMDB's O_DSYNC descriptor: done.
 * With MDB_NOMETASYNC the data pages are synced but the meta page that makes
 * them current is only written: one more fdatasync makes it durable (and a
 * power cut before it leaves the previous state, as if save() never ran).
 */
static int sync_meta(MDB_env *env)
{
    unsigned flags = 0;
    int rc = mdb_env_get_flags(env, &flags);
    if (!rc && (flags & (MDB_NOMETASYNC | MDB_NOSYNC)))
        rc = mdb_env_sync(env, 1);
    return rc;
}

static int lmdb_save(void *ctx, const struct cons_persist_batch *b)
{
    struct persist_lmdb *p = ctx;
    MDB_txn *t;
    int rc = mdb_txn_begin(p->env, NULL, 0, &t);
    if (rc)
        return lmdb_err(rc);
    rc = put_u64_key(t, p->meta, "promised", b->st.promised);
    if (!rc)
        rc = put_u64_key(t, p->meta, "commit", b->st.commit);
    if (!rc)
        rc = put_u64_key(t, p->meta, "log_start", b->st.log_start);
    for (size_t i = 0; !rc && i < b->n; i++)
        if (b->recs[i].slot >= b->st.log_start)
            rc = put_rec(p, t, &b->recs[i]);
    if (!rc)
        rc = truncate_below(p, t, b->st.log_start);
    if (rc) {
        mdb_txn_abort(t);
        log_error("consensus: persist failed: %s", rc > 0 ? mdb_strerror(rc) : "internal");
        return lmdb_err(rc);
    }
    rc = mdb_txn_commit(t);
    return lmdb_err(rc ? rc : sync_meta(p->env));
}

static int decode_rec(const MDB_val *k, const MDB_val *d, struct cons_rec *r)
{
    if (k->mv_size != 8 || d->mv_size < REC_HDR)
        return -EBADMSG;
    const uint8_t *v = d->mv_data;
    r->slot = get_u64_be(k->mv_data);
    r->ballot = get_u64(v);
    r->flags = v[8];
    r->e.kind = v[9];
    r->e.origin = get_u32(v + 10);
    r->e.req_id = get_u64(v + 14);
    r->e.len = get_u32(v + 22);
    r->e.data = v + REC_HDR;
    return d->mv_size == REC_HDR + (size_t)r->e.len ? 0 : -EBADMSG;
}

static int load_recs(struct persist_lmdb *p, MDB_txn *t, uint64_t log_start,
                     int (*each)(void *arg, const struct cons_rec *r), void *arg)
{
    MDB_cursor *c;
    int rc = mdb_cursor_open(t, p->log, &c);
    if (rc)
        return lmdb_err(rc);
    uint8_t key[8];
    put_u64_be(key, log_start);
    MDB_val k = {8, key}, d;
    for (rc = mdb_cursor_get(c, &k, &d, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
        struct cons_rec r;
        rc = decode_rec(&k, &d, &r);
        if (rc == 0)
            rc = each(arg, &r);
        if (rc)
            break;
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? 0 : lmdb_err(rc);
}

static int lmdb_load(void *ctx, struct cons_persist_state *st,
                     int (*each)(void *arg, const struct cons_rec *r), void *arg)
{
    struct persist_lmdb *p = ctx;
    MDB_txn *t;
    int rc = mdb_txn_begin(p->env, NULL, MDB_RDONLY, &t);
    if (rc)
        return lmdb_err(rc);
    rc = get_u64_key(t, p->meta, "promised", &st->promised);
    if (!rc)
        rc = get_u64_key(t, p->meta, "commit", &st->commit);
    if (!rc)
        rc = get_u64_key(t, p->meta, "log_start", &st->log_start);
    if (!rc && st->log_start == 0)
        st->log_start = 1;
    if (!rc)
        rc = load_recs(p, t, st->log_start, each, arg);
    mdb_txn_abort(t);
    return lmdb_err(rc);
}

const struct cons_persist_ops persist_lmdb_ops = {lmdb_save, lmdb_load};
