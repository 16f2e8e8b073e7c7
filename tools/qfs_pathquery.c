/* qfs_pathquery.c - asking the daemon whether each collected path is in sync here. */
#include "tools/qfs.h"

#include <string.h>

int qfs_pathset_target(struct qfs_pathset *ps, struct qfs_node *node)
{
    struct ctl_reply r;
    int rc = qfs_request(node, "read-index", NULL, 0, &r);
    if (rc)
        return rc;
    if (r.err) {
        fprintf(stderr, "qfs: no quorum: cannot learn the commit index (%s)\n", r.message);
        rc = QFS_EXIT_UNREACHABLE;
    } else if (ctl_get_u64(&r, "read_index", &ps->target) != 0) {
        fprintf(stderr, "qfs: malformed read-index reply\n");
        rc = QFS_EXIT_UNREACHABLE;
    }
    ctl_reply_free(&r);
    return rc;
}

static void take_result(const struct qfs_pathset *ps, uint64_t applied, struct qfs_path *p,
                        struct ctl_reply *r, size_t i)
{
    char k[64];
#define KEY(f) (snprintf(k, sizeof(k), "ino.%zu" f, i), k)
    if (ctl_get(r, KEY(".error"))) {
        p->state = QFS_PATH_GONE; /* removed since it was listed: nothing to wait for */
        return;
    }
    p->chunks = qfs_u64(r, KEY(".chunks"));
    p->missing_chunks = qfs_u64(r, KEY(".missing_chunks"));
    p->missing_bytes = qfs_u64(r, KEY(".missing_bytes"));
#undef KEY
    if (applied < ps->target)
        p->state = QFS_PATH_NOT_APPLIED;
    else if (p->missing_chunks)
        p->state = QFS_PATH_WAITING;
    else
        p->state = QFS_PATH_IN_SYNC;
}

static int query_batch(struct qfs_pathset *ps, struct qfs_node *node, size_t from, size_t n)
{
    uint64_t inos[CTL_ARGS_MAX];
    struct ctl_reply r;
    for (size_t i = 0; i < n; i++)
        inos[i] = ps->p[from + i].ino;
    int rc = qfs_request_ok(node, "sync", inos, n, &r);
    if (rc)
        return rc;
    uint64_t applied = qfs_u64(&r, "applied");
    /* reported: the oldest view of all batches */
    if (from == 0 || applied < ps->applied)
        ps->applied = applied;
    for (size_t i = 0; i < n; i++)
        take_result(ps, applied, &ps->p[from + i], &r, i);
    ctl_reply_free(&r);
    return 0;
}

int qfs_pathset_query(struct qfs_pathset *ps, struct qfs_node *node)
{
    for (size_t from = 0; from < ps->n; from += CTL_ARGS_MAX) {
        size_t n = ps->n - from < CTL_ARGS_MAX ? ps->n - from : CTL_ARGS_MAX;
        int rc = query_batch(ps, node, from, n);
        if (rc)
            return rc;
    }
    return 0;
}

int qfs_pathset_in_sync(const struct qfs_pathset *ps)
{
    for (size_t i = 0; i < ps->n; i++)
        if (ps->p[i].state != QFS_PATH_IN_SYNC && ps->p[i].state != QFS_PATH_GONE)
            return 0;
    return 1;
}
