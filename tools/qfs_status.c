/* qfs status: the one-screen summary (--watch: redrawn in place), or per-path status. */
#include "tools/qfs.h"

#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct status_opts {
    struct qfs_common com;
    bool watch, recursive;
    double interval;
};

static void status_usage(FILE *f)
{
    fprintf(f, "usage: qfs status [-c node.conf | --data DIR] [--json] [--watch [--interval S]]\n"
               "       qfs status [-c node.conf | --data DIR] [--json] [-r] PATH...\n"
               "The first line is the verdict: in sync / catching up / degraded / no quorum.\n"
               "With PATHs: for each file or directory (-r: and everything below it), whether\n"
               "it is in sync here, waiting for chunks (how many), or conflicted.\n"
               "Exit: 0 in sync, 1 not in sync, 2 no quorum or daemon unreachable, 3 usage.\n");
}

static int parse(int argc, char **argv, struct status_opts *o)
{
    static const struct option longopts[] = {QFS_COMMON_LONGOPTS,
                                             {"watch", no_argument, NULL, 'w'},
                                             {"interval", required_argument, NULL, 'i'},
                                             {"recursive", no_argument, NULL, 'r'},
                                             {NULL, 0, NULL, 0}};
    int c;
    o->interval = 1.0;
    while ((c = getopt_long(argc, argv, "c:hwri:", longopts, NULL)) != -1) {
        char *end;
        if (qfs_common_opt(c, optarg, &o->com))
            continue;
        if (c == 'w')
            o->watch = true;
        else if (c == 'r')
            o->recursive = true;
        else if (c == 'i' && (o->interval = strtod(optarg, &end)) >= 0.1 && *end == '\0' &&
                 o->interval <= 3600)
            continue;
        else
            return -1;
    }
    if (o->watch && optind < argc)
        return -1; /* --watch is for the summary */
    return 0;
}

/* One status request, printed to f; the exit code. */
static int status_once(struct qfs_node *n, const struct status_opts *o, FILE *f,
                       const struct qfs_style *s)
{
    struct ctl_reply r;
    struct qfs_verdict v;
    int rc = qfs_request_ok(n, "status", NULL, 0, &r);
    if (rc)
        return rc;
    qfs_verdict_of(&r, &v);
    if (o->com.json)
        qfs_summary_json(f, &r, &v);
    else
        qfs_summary_print(f, &r, &v, s);
    ctl_reply_free(&r);
    return v.exit_code;
}

/* Not on a terminal, frames follow each other (text: a blank line between). */
static void append(const char *frame, size_t len, bool blank)
{
    fwrite(frame, 1, len, stdout);
    if (blank)
        putchar('\n');
    fflush(stdout);
}

/* Renders one frame into memory: a header line, then the status (or why not). */
static int frame(struct qfs_node *n, const struct status_opts *o, const struct qfs_style *s,
                 char **buf, size_t *len)
{
    FILE *f = open_memstream(buf, len);
    if (!f)
        return QFS_EXIT_NOT_IN_SYNC;
    time_t now = time(NULL);
    char t[16];
    strftime(t, sizeof(t), "%H:%M:%S", localtime(&now));
    if (!o->com.json)
        fprintf(f, "%sqfs status --watch  every %gs  %s  (Ctrl-C quits)%s\n", s->dim, o->interval,
                t, s->off);
    n->err = o->com.json ? stderr : f; /* JSON lines stay JSON */
    int rc = status_once(n, o, f, s);
    n->err = stderr;
    fclose(f);
    return rc;
}

static int watch(struct qfs_node *n, const struct status_opts *o, const struct qfs_style *s)
{
    bool tty = isatty(STDOUT_FILENO) && !o->com.json;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGWINCH);          /* redraw at once for the new size */
    sigprocmask(SIG_BLOCK, &set, NULL); /* taken with sigtimedwait: no handler, no global */
    if (tty)
        (void)!write(STDOUT_FILENO, "\033[?25l\033[H\033[2J", 13); /* hide cursor, clear */
    int rc;
    for (;;) {
        char *buf = NULL;
        size_t len = 0;
        rc = frame(n, o, s, &buf, &len);
        if (tty)
            qfs_screen_draw(buf ? buf : "", buf ? len : 0);
        else
            append(buf ? buf : "", buf ? len : 0, !o->com.json);
        free(buf);
        double whole;
        double frac = modf(o->interval, &whole);
        struct timespec ts = {(time_t)whole, (long)(frac * 1e9)};
        int sig = sigtimedwait(&set, NULL, &ts);
        if (sig >= 0 && sig != SIGWINCH)
            break;
    }
    if (tty)
        (void)!write(STDOUT_FILENO, "\033[?25h", 6);
    return rc;
}

int qfs_status_main(int argc, char **argv)
{
    struct status_opts o = {0};
    struct qfs_node n;
    struct qfs_style s;
    if (parse(argc, argv, &o) < 0 || o.com.help) {
        status_usage(o.com.help ? stdout : stderr);
        return o.com.help ? QFS_EXIT_OK : QFS_EXIT_USAGE;
    }
    if (optind < argc)
        return qfs_status_paths(&o.com.target, o.com.json, o.recursive, argv + optind,
                                argc - optind);
    int rc = qfs_node_find(&o.com.target, NULL, &n);
    if (rc)
        return rc;
    qfs_style_init(&s, STDOUT_FILENO);
    rc = o.watch ? watch(&n, &o, &s) : status_once(&n, &o, stdout, &s);
    qfs_node_free(&n);
    return rc;
}
