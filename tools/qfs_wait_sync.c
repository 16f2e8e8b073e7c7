/* qfs wait-sync: returns once this node (or the given paths) holds every commit that
 * existed when it was called. Scripts and tests use it instead of sleeping. */
#include "tools/qfs.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define POLL_MIN_MS 5
#define POLL_MAX_MS 200

struct wait_opts {
    struct qfs_common com;
    double timeout; /* seconds, < 0: none */
};

static void wait_usage(FILE *f)
{
    fprintf(f, "usage: qfs wait-sync [-c node.conf | --data DIR] [--json] [--timeout S] [PATH...]\n"
               "Waits until this node has applied every command committed when it was called and\n"
               "stores every chunk its files reference (with PATHs: every chunk of those files,\n"
               "directories included with all they hold).\n"
               "Exit: 0 in sync, 1 timed out, 2 no quorum or daemon unreachable, 3 usage.\n");
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void nap(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

/* Whole node: applied past the target and no chunk missing. *missing gets the count. */
static int node_check(struct qfs_node *n, const struct qfs_pathset *ps, int *done,
                      uint64_t *applied, uint64_t *missing)
{
    struct ctl_reply r;
    int rc = qfs_request_ok(n, "status", NULL, 0, &r);
    if (rc)
        return rc;
    *applied = qfs_u64(&r, "applied");
    *missing = qfs_u64(&r, "sync.missing_chunks");
    *done = *applied >= ps->target && *missing == 0;
    ctl_reply_free(&r);
    return 0;
}

static int paths_check(struct qfs_node *n, struct qfs_pathset *ps, int *done, uint64_t *applied,
                       uint64_t *missing)
{
    int rc = qfs_pathset_query(ps, n);
    if (rc)
        return rc;
    *applied = ps->applied;
    *missing = 0;
    for (size_t i = 0; i < ps->n; i++)
        *missing += ps->p[i].state == QFS_PATH_GONE ? 0 : ps->p[i].missing_chunks;
    *done = qfs_pathset_in_sync(ps);
    return 0;
}

static void report(const struct wait_opts *o, const struct qfs_pathset *ps, int done,
                   uint64_t applied, uint64_t missing, double waited)
{
    if (o->com.json) {
        struct qfs_json j;
        qfs_json_begin(&j, stdout, "wait-sync");
        qfs_json_bool(&j, "in_sync", done);
        qfs_json_i64(&j, "exit_code", done ? QFS_EXIT_OK : QFS_EXIT_NOT_IN_SYNC);
        qfs_json_u64(&j, "read_index", ps->target);
        qfs_json_u64(&j, "applied", applied);
        qfs_json_u64(&j, "missing_chunks", missing);
        qfs_json_num(&j, "waited_s", waited);
        qfs_json_end(&j);
    } else if (done) {
        printf("in sync (index %llu) after %.2fs\n", (unsigned long long)ps->target, waited);
    } else {
        printf("not in sync after %.2fs: applied %llu of %llu, %llu chunks missing\n", waited,
               (unsigned long long)applied, (unsigned long long)ps->target,
               (unsigned long long)missing);
    }
}

static int wait_loop(struct qfs_node *n, struct qfs_pathset *ps, const struct wait_opts *o,
                     bool paths)
{
    double t0 = now_s();
    int done = 0, ms = POLL_MIN_MS;
    uint64_t applied = 0, missing = 0;
    int rc = qfs_pathset_target(ps, n);
    while (!rc) {
        rc = paths ? paths_check(n, ps, &done, &applied, &missing)
                   : node_check(n, ps, &done, &applied, &missing);
        if (rc || done || (o->timeout >= 0 && now_s() - t0 >= o->timeout))
            break;
        double left = o->timeout < 0 ? 1e9 : (o->timeout - (now_s() - t0)) * 1000.0;
        nap(left < ms ? (int)left + 1 : ms);
        ms = ms * 2 > POLL_MAX_MS ? POLL_MAX_MS : ms * 2;
    }
    if (rc)
        return rc;
    report(o, ps, done, applied, missing, now_s() - t0);
    return done ? QFS_EXIT_OK : QFS_EXIT_NOT_IN_SYNC;
}

static int parse(int argc, char **argv, struct wait_opts *o)
{
    static const struct option longopts[] = {
        QFS_COMMON_LONGOPTS, {"timeout", required_argument, NULL, 't'}, {NULL, 0, NULL, 0}};
    int c;
    o->timeout = -1;
    while ((c = getopt_long(argc, argv, "c:ht:", longopts, NULL)) != -1) {
        char *end;
        if (qfs_common_opt(c, optarg, &o->com))
            continue;
        if (c != 't' || (o->timeout = strtod(optarg, &end)) < 0 || *end != '\0' || end == optarg)
            return -1;
    }
    return 0;
}

int qfs_wait_sync_main(int argc, char **argv)
{
    struct wait_opts o = {0};
    struct qfs_pathset ps = {0};
    struct qfs_node n = {0};
    if (parse(argc, argv, &o) < 0 || o.com.help) {
        wait_usage(o.com.help ? stdout : stderr);
        return o.com.help ? QFS_EXIT_OK : QFS_EXIT_USAGE;
    }
    bool paths = optind < argc;
    int rc = paths ? qfs_pathset_collect(&ps, argv + optind, argc - optind, true) : 0;
    if (!rc)
        rc = qfs_node_find(&o.com.target, paths ? argv[optind] : NULL, &n);
    if (!rc && paths)
        rc = qfs_node_serves(&n, ps.dev, argv[optind]);
    if (!rc)
        rc = wait_loop(&n, &ps, &o, paths);
    qfs_node_free(&n);
    qfs_pathset_free(&ps);
    return rc;
}
