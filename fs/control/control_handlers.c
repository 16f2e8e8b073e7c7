/* control_handlers.c - the answer to each control request (docs/control-protocol.md). */
#include "fs/control/control_conflicts.h"
#include "fs/control/control_internal.h"

#include "fs/core/core.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define READ_INDEX_TIMEOUT_MS 1500
#define STATUS_CONFLICTS      5   /* the newest few that `qfs status` shows */
#define STATUS_READ_INDEX_MS  500 /* status waits this long for the leader, at most */

static void put_member(struct ctl_buf *b, uint32_t i, const struct cluster_member *m)
{
    char k[48];
#define KEY(f) (snprintf(k, sizeof(k), "member.%u." f, i), k)
    ctl_put(b, KEY("id"), m->id);
    ctl_put(b, KEY("addr"), m->addr);
    ctl_put_u64(b, KEY("self"), m->self);
    ctl_put_u64(b, KEY("connected"), m->connected);
    ctl_put_i64(b, KEY("rtt_us"), m->rtt_us);
    ctl_put_i64(b, KEY("last_seen_ms"), m->last_seen_ms);
    ctl_put_i64(b, KEY("applied"), m->applied);
    ctl_put_u64(b, KEY("push_chunks"), m->push_chunks);
    ctl_put_u64(b, KEY("push_bytes"), m->push_bytes);
#undef KEY
}

static void put_cluster(struct ctl_buf *b, const struct cluster_status *st)
{
    ctl_put_u64(b, "single_node", st->single_node);
    ctl_put_u64(b, "n_members", st->n_members);
    ctl_put_u64(b, "self", st->self);
    ctl_put_i64(b, "leader", st->leader);
    ctl_put_u64(b, "quorum", st->quorum);
    ctl_put_u64(b, "ballot", st->ballot);
    ctl_put_u64(b, "commit", st->commit);
    ctl_put_u64(b, "applied", st->applied);
    if (st->apply_error)
        ctl_put(b, "apply_error", ctl_errname(st->apply_error));
    if (st->rebuilding)
        ctl_put_u64(b, "rebuild_missing", st->rebuild_missing);
    ctl_put_u64(b, "fetch_chunks", st->fetch_chunks);
    ctl_put_u64(b, "fetch_bytes", st->fetch_bytes);
    ctl_put_u64(b, "fetched_bytes_total", st->fetched_bytes_total);
    ctl_put_u64(b, "pushed_bytes_total", st->pushed_bytes_total);
    for (uint32_t i = 0; i < st->n_members && i < CLUSTER_MEMBERS_MAX; i++)
        put_member(b, i, &st->m[i]);
}

static void put_data(struct ctl_buf *b, const struct core_sync_all *a)
{
    ctl_put_u64(b, "data.stored_chunks", a->stored_chunks);
    ctl_put_u64(b, "data.stored_bytes", a->stored_bytes);
    ctl_put_u64(b, "data.referenced_chunks", a->referenced_chunks);
    ctl_put_u64(b, "data.logical_bytes", a->logical_bytes);
    ctl_put_u64(b, "data.file_bytes", a->file_bytes);
    ctl_put_u64(b, "data.map_bytes", a->map_bytes);
    ctl_put_u64(b, "sync.missing_chunks", a->missing_chunks);
    ctl_put_u64(b, "sync.missing_bytes", a->missing_bytes);
}

static void put_rates(struct ctl_buf *b, const struct control_rates *r)
{
    ctl_put_u64(b, "rate.fetch_bps", (uint64_t)r->fetch_bps);
    ctl_put_u64(b, "rate.push_bps", (uint64_t)r->push_bps);
    ctl_put_u64(b, "rate.apply_per_s", (uint64_t)r->apply_per_s);
}

static int h_status(struct control_server *s, const struct ctl_req *r, struct ctl_buf *b)
{
    const struct core_sync_all *all;
    if (r->nargs)
        return -EINVAL;
    int rc = s->ops.get_status(s->ops.ctx, &s->st);
    if (!rc)
        rc = control_scan(s, &all);
    if (rc)
        return rc;
    ctl_put_status(b, 0, NULL);
    ctl_put(b, "version", QFS_VERSION);
    ctl_put_i64(b, "pid", (int64_t)getpid());
    ctl_put_i64(b, "uptime_ms", control_now_ms() - s->start_ms);
    ctl_put(b, "data_dir", s->data_dir);
    ctl_put(b, "mountpoint", s->mountpoint);
    put_cluster(b, &s->st);
    /* The leader's commit index as of now: this node's own idea of it can
     * trail (a node just back from a pause), and "in sync" must not. */
    uint64_t idx;
    int ri = s->st.quorum ? s->ops.read_index(s->ops.ctx, &idx, STATUS_READ_INDEX_MS) : -EROFS;
    if (ri == 0)
        ctl_put_u64(b, "read_index", idx);
    else if (s->st.quorum)
        ctl_put(b, "read_index_error", ctl_errname(ri)); /* quorum claimed, not confirmed */
    put_data(b, all);
    put_rates(b, &s->rates);
    return control_conflicts_put(s->core, b, STATUS_CONFLICTS);
}

static int h_read_index(struct control_server *s, const struct ctl_req *r, struct ctl_buf *b)
{
    uint64_t idx;
    if (r->nargs)
        return -EINVAL;
    int rc = s->ops.read_index(s->ops.ctx, &idx, READ_INDEX_TIMEOUT_MS);
    if (rc)
        return rc;
    ctl_put_status(b, 0, NULL);
    ctl_put_u64(b, "read_index", idx);
    ctl_put_u64(b, "applied", s->ops.applied(s->ops.ctx));
    return 0;
}

static void put_ino(struct ctl_buf *b, size_t i, uint64_t ino, int rc,
                    const struct core_sync_ino *si)
{
    char k[48];
#define KEY(f) (snprintf(k, sizeof(k), "ino.%zu" f, i), k)
    ctl_put_u64(b, KEY(""), ino);
    if (rc) {
        ctl_put(b, KEY(".error"), ctl_errname(rc));
        return;
    }
    ctl_put_u64(b, KEY(".chunks"), si->chunks);
    ctl_put_u64(b, KEY(".bytes"), si->bytes);
    ctl_put_u64(b, KEY(".missing_chunks"), si->missing_chunks);
    ctl_put_u64(b, KEY(".missing_bytes"), si->missing_bytes);
#undef KEY
}

static int h_sync(struct control_server *s, const struct ctl_req *r, struct ctl_buf *b)
{
    /* applied first: every map read below is at least this recent */
    uint64_t applied = s->ops.applied(s->ops.ctx);
    ctl_put_status(b, 0, NULL);
    ctl_put_u64(b, "applied", applied);
    for (size_t i = 0; i < r->nargs; i++) {
        struct core_sync_ino si;
        int rc = core_sync_ino(s->core, r->args[i], &si);
        if (rc && rc != -ENOENT)
            return rc;
        put_ino(b, i, r->args[i], rc, &si);
    }
    return 0;
}

static int h_conflicts(struct control_server *s, const struct ctl_req *r, struct ctl_buf *b)
{
    if (r->nargs)
        return -EINVAL;
    ctl_put_status(b, 0, NULL);
    return control_conflicts_put(s->core, b, 0);
}

static const struct {
    const char *verb;
    int (*fn)(struct control_server *s, const struct ctl_req *r, struct ctl_buf *b);
} handlers[] = {
    {"status", h_status},
    {"read-index", h_read_index},
    {"sync", h_sync},
    {"conflicts", h_conflicts},
};

void control_handle(struct control_server *s, const struct ctl_req *r)
{
    int rc = -EOPNOTSUPP;
    const char *msg = "unknown request";
    for (size_t i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++)
        if (strcmp(r->verb, handlers[i].verb) == 0) {
            rc = handlers[i].fn(s, r, &s->reply);
            msg = rc == -EINVAL ? "unexpected arguments" : NULL;
            break;
        }
    if (!rc && s->reply.overflow)
        rc = -ENOBUFS;
    if (rc) {
        ctl_buf_reset(&s->reply); /* the error replaces anything half-written */
        ctl_put_status(&s->reply, rc, msg);
    }
    /* the buffer's cap keeps CONTROL_END_RESERVE bytes back for this */
    memcpy(s->reply.p + s->reply.len, "end\n", 4);
    s->reply.len += 4;
}
