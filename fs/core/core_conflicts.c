/* core_conflicts.c - listing conflict copies for `qfs conflicts` / status. */
#include "fs/core/core_internal.h"
#include "fs/store/meta_conflict.h"

struct list_ctx {
    core_conflict_fn fn;
    void *ctx;
};

static int visit(void *ctx, const struct meta_conflict *m)
{
    struct list_ctx *l = ctx;
    struct core_conflict cf = {
        .copy_ino = m->copy_ino,
        .orig_ino = m->orig_ino,
        .parent = m->parent,
        .name = m->name,
        .copy_origin = m->copy_origin,
        .win_origin = m->win_origin,
        .copy_tag = m->copy_tag,
        .win_tag = m->win_tag,
        .sec = m->time.sec,
        .nsec = m->time.nsec,
    };
    return l->fn(l->ctx, &cf);
}

int core_conflicts_list(struct core *c, core_conflict_fn fn, void *ctx)
{
    MDB_txn *txn;
    struct list_ctx l = {fn, ctx};
    int rc = meta_txn_read(c->ms, &txn);
    if (rc)
        return rc;
    rc = meta_conflict_foreach(c->ms, txn, visit, &l);
    mdb_txn_abort(txn);
    return rc;
}
