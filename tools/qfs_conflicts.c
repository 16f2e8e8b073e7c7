/* qfs conflicts: every conflict copy with its original, the two nodes and the time;
 * --resolve keeps one side through the mount (rename/unlink: the normal command path). */
#include "tools/qfs.h"

#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct conflicts_opts {
    struct qfs_common com;
    const char *keep; /* --resolve KEEP: "copy" or "original" */
};

static void conflicts_usage(FILE *f)
{
    fprintf(f, "usage: qfs conflicts [-c node.conf | --data DIR] [--json]\n"
               "       qfs conflicts --resolve copy|original PATH\n"
               "Lists every conflict copy (NAME.conflict-YYYYMMDD-HHMMSS-NODEID7[.EXT]) with the\n"
               "file it belongs to, the two nodes and the time. --resolve keeps one side: 'copy'\n"
               "renames the copy over the original, 'original' removes the copy. PATH is the\n"
               "copy (or the original, when it has exactly one copy).\n"
               "Exit: 0 done, 1 failed, 2 daemon unreachable, 3 usage.\n");
}

/* The copy's path for PATH (the copy itself, or the original's one copy). */
static int find_copy(const char *path, char *copy, size_t cap, char *orig, size_t ocap)
{
    struct qfs_pathset ps;
    char *arg[2] = {(char *)path, NULL};
    int rc = qfs_pathset_collect(&ps, arg, 1, false);
    if (rc)
        return rc;
    const struct qfs_path *p = &ps.p[0];
    char *tmp = strdup(path);
    const char *dir = tmp ? dirname(tmp) : ".";
    rc = QFS_EXIT_USAGE;
    if (p->copy_of) {
        snprintf(copy, cap, "%s", path);
        snprintf(orig, ocap, "%s/%s", dir, p->copy_of);
        rc = 0;
    } else if (!p->copies) {
        fprintf(stderr, "qfs: %s has no conflict copy\n", path);
    } else if (strchr(p->copies, ',')) {
        fprintf(stderr, "qfs: %s has several conflict copies (%s): name the one to resolve\n", path,
                p->copies);
    } else {
        snprintf(copy, cap, "%s/%s", dir, p->copies);
        snprintf(orig, ocap, "%s", path);
        rc = 0;
    }
    free(tmp);
    qfs_pathset_free(&ps);
    return rc;
}

static int resolve(const struct conflicts_opts *o, const char *path)
{
    char copy[PATH_MAX], orig[PATH_MAX];
    bool keep_copy = strcmp(o->keep, "copy") == 0;
    int rc = find_copy(path, copy, sizeof(copy), orig, sizeof(orig));
    if (rc)
        return rc;
    if ((keep_copy ? rename(copy, orig) : unlink(copy)) != 0) {
        fprintf(stderr, "qfs: %s %s: %s\n", keep_copy ? "rename" : "unlink", copy, strerror(errno));
        return errno == EROFS ? QFS_EXIT_UNREACHABLE : QFS_EXIT_NOT_IN_SYNC;
    }
    if (o->com.json) {
        struct qfs_json j;
        qfs_json_begin(&j, stdout, "conflicts-resolve");
        qfs_json_str(&j, "kept", o->keep);
        qfs_json_str(&j, "original", orig);
        qfs_json_str(&j, "copy", copy);
        qfs_json_end(&j);
    } else {
        printf(keep_copy ? "kept the copy: %s now holds what %s held\n"
                         : "kept the original %s; removed %s\n",
               orig, copy);
    }
    return QFS_EXIT_OK;
}

static void list_text(struct ctl_reply *r)
{
    uint64_t n = qfs_u64(r, "conflicts.count");
    char w[16], ot[16], t[40];
    if (!n)
        printf("no conflicts\n");
    for (uint64_t i = 0; i < n; i++) {
        char k[64];
#define KEY(f) (snprintf(k, sizeof(k), "conflict.%llu." f, (unsigned long long)i), k)
        time_t tt = (time_t)qfs_i64(r, KEY("time"), 0);
        struct tm tm;
        strftime(t, sizeof(t), "%Y-%m-%d %H:%M:%S UTC", gmtime_r(&tt, &tm));
        printf("%s\n  copy of %s; %s wrote the name, %s's version is the copy; %s\n",
               qfs_str(r, KEY("copy")), qfs_str(r, KEY("original")),
               qfs_short_id(qfs_str(r, KEY("writer")), w, sizeof(w)),
               qfs_short_id(qfs_str(r, KEY("other")), ot, sizeof(ot)), t);
#undef KEY
    }
}

static int list(const struct conflicts_opts *o)
{
    struct qfs_node n = {0};
    struct ctl_reply r = {0};
    int rc = qfs_ask(&o->com.target, &n, "conflicts", &r);
    if (!rc && o->com.json) {
        struct qfs_json j;
        qfs_json_begin(&j, stdout, "conflicts");
        qfs_json_u64(&j, "count", qfs_u64(&r, "conflicts.count"));
        qfs_conflicts_json(&j, &r, "conflicts");
        qfs_json_end(&j);
    } else if (!rc) {
        list_text(&r);
    }
    ctl_reply_free(&r);
    qfs_node_free(&n);
    return rc;
}

int qfs_conflicts_main(int argc, char **argv)
{
    static const struct option longopts[] = {
        QFS_COMMON_LONGOPTS, {"resolve", required_argument, NULL, 'R'}, {NULL, 0, NULL, 0}};
    struct conflicts_opts o = {0};
    int c, bad = 0;
    while ((c = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
        if (c == 'R')
            o.keep = optarg;
        else
            bad |= !qfs_common_opt(c, optarg, &o.com);
    }
    if (o.keep && strcmp(o.keep, "copy") != 0 && strcmp(o.keep, "original") != 0)
        bad = 1;
    if (bad || o.com.help || (o.keep ? optind + 1 != argc : optind != argc)) {
        conflicts_usage(o.com.help ? stdout : stderr);
        return o.com.help ? QFS_EXIT_OK : QFS_EXIT_USAGE;
    }
    return o.keep ? resolve(&o, argv[optind]) : list(&o);
}
