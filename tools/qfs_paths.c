/* qfs_paths.c - `qfs status PATH... [-r]`: in sync, waiting for chunks, or conflicted. */
#include "tools/qfs.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *state_word(enum qfs_path_state s)
{
    static const char *const w[] = {"in_sync", "waiting", "not_applied", "gone"};
    return w[s];
}

static const char *type_word(mode_t m)
{
    return S_ISREG(m) ? "file" : S_ISDIR(m) ? "dir" : S_ISLNK(m) ? "symlink" : "other";
}

static void print_one(const struct qfs_pathset *ps, const struct qfs_path *p,
                      const struct qfs_style *s)
{
    char b[32];
    if (p->state == QFS_PATH_IN_SYNC)
        printf("%s: %sin sync%s", p->path, s->good, s->off);
    else if (p->state == QFS_PATH_WAITING)
        printf("%s: %swaiting for %llu of %llu chunks (%s)%s", p->path, s->warn,
               (unsigned long long)p->missing_chunks, (unsigned long long)p->chunks,
               qfs_fmt_bytes(p->missing_bytes, b, sizeof(b)), s->off);
    else if (p->state == QFS_PATH_NOT_APPLIED)
        printf("%s: %snot applied yet (applied %llu of %llu)%s", p->path, s->warn,
               (unsigned long long)ps->applied, (unsigned long long)ps->target, s->off);
    else
        printf("%s: %sremoved meanwhile%s", p->path, s->dim, s->off);
    if (p->copies)
        printf(", %sconflicted%s (copy: %s)", s->bad, s->off, p->copies);
    if (p->copy_of)
        printf(" %s(a conflict copy of %s)%s", s->dim, p->copy_of, s->off);
    putchar('\n');
}

static void print_json(const struct qfs_pathset *ps, int exit_code)
{
    struct qfs_json j;
    qfs_json_begin(&j, stdout, "status-paths");
    qfs_json_bool(&j, "in_sync", exit_code == QFS_EXIT_OK);
    qfs_json_i64(&j, "exit_code", exit_code);
    qfs_json_u64(&j, "read_index", ps->target);
    qfs_json_u64(&j, "applied", ps->applied);
    qfs_json_arr(&j, "paths");
    for (size_t i = 0; i < ps->n; i++) {
        const struct qfs_path *p = &ps->p[i];
        qfs_json_obj(&j, NULL);
        qfs_json_str(&j, "path", p->path);
        qfs_json_u64(&j, "ino", p->ino);
        qfs_json_str(&j, "type", type_word(p->mode));
        qfs_json_str(&j, "state", state_word(p->state));
        qfs_json_u64(&j, "chunks", p->chunks);
        qfs_json_u64(&j, "missing_chunks", p->missing_chunks);
        qfs_json_u64(&j, "missing_bytes", p->missing_bytes);
        qfs_json_str(&j, "conflict_copies", p->copies);
        qfs_json_str(&j, "conflict_copy_of", p->copy_of);
        qfs_json_close(&j, '}');
    }
    qfs_json_close(&j, ']');
    qfs_json_end(&j);
}

int qfs_status_paths(const struct qfs_target *t, bool json, bool recursive, char **paths, int n)
{
    struct qfs_pathset ps;
    struct qfs_node node;
    struct qfs_style s;
    int rc = qfs_pathset_collect(&ps, paths, n, recursive);
    if (!rc)
        rc = qfs_node_find(t, paths[0], &node);
    else
        node.buf = NULL;
    if (!rc) {
        rc = qfs_node_serves(&node, ps.dev, paths[0]);
        if (!rc)
            rc = qfs_pathset_target(&ps, &node);
        if (!rc)
            rc = qfs_pathset_query(&ps, &node);
        qfs_node_free(&node);
    }
    if (!rc) {
        rc = qfs_pathset_in_sync(&ps) ? QFS_EXIT_OK : QFS_EXIT_NOT_IN_SYNC;
        qfs_style_init(&s, STDOUT_FILENO);
        if (json)
            print_json(&ps, rc);
        else
            for (size_t i = 0; i < ps.n; i++)
                print_one(&ps, &ps.p[i], &s);
    }
    qfs_pathset_free(&ps);
    return rc;
}
