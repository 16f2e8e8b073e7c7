/*
 * qfs.h - subcommands of the qfs command-line tool. Each lives in its own
 * tools/qfs_<name>.c and is listed in qfs.c's table.
 *
 * A subcommand gets argv with argv[0] = its own name and returns the process
 * exit code, one of QFS_EXIT_* (the contract scripts rely on; `qfs --help`
 * and docs/qfs.1 state it): 0 in sync / success, 1 not in sync / failure,
 * 2 no quorum or daemon unreachable, 3 usage error.
 */
#ifndef QFS_TOOLS_QFS_H
#define QFS_TOOLS_QFS_H

#include "fs/control/control_proto.h"

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <sys/un.h>

#define QFS_EXIT_OK          0
#define QFS_EXIT_NOT_IN_SYNC 1
#define QFS_EXIT_UNREACHABLE 2 /* also: no quorum */
#define QFS_EXIT_USAGE       3

/* The JSON documents' schema (docs/qfs-status.schema.json). */
#define QFS_JSON_SCHEMA "qfs-status/1"

int qfs_init_main(int argc, char **argv);
int qfs_status_main(int argc, char **argv);
int qfs_peers_main(int argc, char **argv);
int qfs_wait_sync_main(int argc, char **argv);
int qfs_conflicts_main(int argc, char **argv);
int qfs_metrics_main(int argc, char **argv);

/* ---- qfs_node.c: which daemon to ask, and asking it ---- */

/* What the user said about the node: -c FILE, --data DIR, or neither. */
struct qfs_target {
    const char *config;
    const char *data;
};

struct qfs_node {
    char data_dir[PATH_MAX];
    struct sockaddr_un addr; /* data_dir/control.sock */
    char *buf;               /* CTL_REPLY_MAX bytes, reused by every request */
    FILE *err;               /* where failures are told (stderr; --watch: the frame) */
};

/* Options every subcommand takes: -c/--config, --data, --json, -h/--help.
 * qfs_common_longopts lists them; qfs_common_opt() handles one (returns 1 if
 * it was one of them). */
#define QFS_OPT_DATA 0x100
#define QFS_OPT_JSON 0x101
#define QFS_COMMON_LONGOPTS                                                                        \
    {"config", required_argument, NULL, 'c'}, {"data", required_argument, NULL, QFS_OPT_DATA},     \
        {"json", no_argument, NULL, QFS_OPT_JSON},                                                 \
    {                                                                                              \
        "help", no_argument, NULL, 'h'                                                             \
    }
struct qfs_common {
    struct qfs_target target;
    bool json, help;
};
int qfs_common_opt(int opt, const char *arg, struct qfs_common *c);

/* Finds the node: -c, --data, else the quorumfs mount holding path (or the
 * current directory), else $QFS_DATA. Prints one line and returns an exit
 * code on failure, 0 on success. */
int qfs_node_find(const struct qfs_target *t, const char *path, struct qfs_node *n);
void qfs_node_free(struct qfs_node *n);
/* 0 if the quorumfs mount with device dev is served by node n (inode numbers
 * of paths there are n's); else prints why (naming path) and returns
 * QFS_EXIT_USAGE. */
int qfs_node_serves(const struct qfs_node *n, dev_t dev, const char *path);

/* Sends one request and parses the reply into *r (pointing into n->buf).
 * On failure prints one line (a daemon that is not running: how to start
 * it) and returns QFS_EXIT_UNREACHABLE; 0 on success. A reply that carries
 * an error from the daemon is a success here: r->err says it. */
int qfs_request(struct qfs_node *n, const char *verb, const uint64_t *args, size_t nargs,
                struct ctl_reply *r);
/* qfs_request(), and a daemon's error reply is a failure too (told on n->err):
 * 0 only with a usable reply. */
int qfs_request_ok(struct qfs_node *n, const char *verb, const uint64_t *args, size_t nargs,
                   struct ctl_reply *r);
/* For the commands that take only the common options: parses argv (0, or -1
 * for a usage error), then qfs_ask() finds the node and asks it one verb.
 * *r must start zeroed; the caller frees r and n either way. */
int qfs_common_parse(int argc, char **argv, struct qfs_common *c);
int qfs_ask(const struct qfs_target *t, struct qfs_node *n, const char *verb, struct ctl_reply *r);

/* `qfs status PATH...` (qfs_paths.c), after status parsed its options. */
int qfs_status_paths(const struct qfs_target *t, bool json, bool recursive, char **paths, int n);

/* ---- qfs_verdict.c: what a status reply means ---- */

enum qfs_verdict_kind { QFS_IN_SYNC, QFS_CATCHING_UP, QFS_DEGRADED, QFS_NO_QUORUM };
struct qfs_verdict {
    enum qfs_verdict_kind kind;
    int exit_code;
    const char *word; /* "in_sync", "catching_up", "degraded", "no_quorum" */
    char text[512];   /* the first line of `qfs status` */
    uint64_t missing_chunks, missing_bytes, behind;
    double eta_s; /* < 0: unknown */
};
void qfs_verdict_of(struct ctl_reply *r, struct qfs_verdict *v);

struct qfs_style;
struct qfs_json;

/* ---- qfs_members.c: the members table (status, peers) ---- */

#define CLUSTER_MEMBERS_MAX_SHOWN 16 /* more than the daemon ever reports (9) */
void qfs_members_print(FILE *f, struct ctl_reply *r, const struct qfs_style *s, const char *indent);
void qfs_members_json(struct qfs_json *j, struct ctl_reply *r);

/* ---- qfs_summary.c, qfs_summary_json.c: the one-screen status ---- */

void qfs_summary_print(FILE *f, struct ctl_reply *r, const struct qfs_verdict *v,
                       const struct qfs_style *s);
void qfs_summary_json(FILE *f, struct ctl_reply *r, const struct qfs_verdict *v);
/* The conflict.I.* records of a reply as a JSON array named key. */
void qfs_conflicts_json(struct qfs_json *j, struct ctl_reply *r, const char *key);

/* ---- qfs_pathset.c: paths given to status and wait-sync ---- */

enum qfs_path_state { QFS_PATH_IN_SYNC, QFS_PATH_WAITING, QFS_PATH_NOT_APPLIED, QFS_PATH_GONE };
struct qfs_path {
    char *path;
    uint64_t ino;
    mode_t mode;
    char *copy_of; /* this is a conflict copy: the name it belongs to */
    char *copies;  /* conflict copies of this file, ", "-separated, or NULL */
    enum qfs_path_state state;
    uint64_t chunks, missing_chunks, missing_bytes;
};
struct qfs_pathset {
    size_t n, cap;
    struct qfs_path *p;
    dev_t dev;       /* every path is on this mount */
    uint64_t target; /* the commit index when the command was called */
    uint64_t applied;
};
/* lstat()s each path (recursing into directories when recursive), notes
 * conflict copies by their names. Prints one line and returns an exit code on
 * failure. */
int qfs_pathset_collect(struct qfs_pathset *ps, char **paths, int n, bool recursive);
/* Asks the daemon about every path (in batches); fills state and counts.
 * Returns 0 or an exit code (message printed). */
int qfs_pathset_query(struct qfs_pathset *ps, struct qfs_node *node);
/* Learns ps->target (read-index); QFS_EXIT_UNREACHABLE without quorum. */
int qfs_pathset_target(struct qfs_pathset *ps, struct qfs_node *node);
/* 1 when every path is in sync (or gone). */
int qfs_pathset_in_sync(const struct qfs_pathset *ps);
void qfs_pathset_free(struct qfs_pathset *ps);

/* ---- qfs_conflict_name.c: NAME.conflict-YYYYMMDD-HHMMSS-NODEID7[.EXT] ---- */

/* If name is a conflict copy, writes the original's name into out and
 * returns 1; else 0. */
int qfs_conflict_original(const char *name, char *out, size_t cap);

/* ---- qfs_screen.c ---- */

/* Draws frame (text with colour escapes) over the previous one on the
 * terminal on stdout: from the top, every line cleared to its end, cut at the
 * window's width and height (so nothing scrolls), the rest of the screen
 * cleared, all in one write(): no flicker. */
void qfs_screen_draw(const char *frame, size_t len);

/* ---- qfs_out.c: output helpers ---- */

/* Colours: only when fd is a terminal and NO_COLOR is unset or empty. */
struct qfs_style {
    const char *good, *warn, *bad, *dim, *bold, *off;
};
void qfs_style_init(struct qfs_style *s, int fd);
/* "1.5 MiB", "3h02m": into buf, which is returned. */
const char *qfs_fmt_bytes(uint64_t b, char *buf, size_t cap);
const char *qfs_fmt_duration(double secs, char *buf, size_t cap);
/* The member's short ID (first 7 characters), as conflict names use. */
const char *qfs_short_id(const char *id, char *buf, size_t cap);

/* A streaming JSON writer with comma bookkeeping (depth bounded). */
struct qfs_json {
    FILE *f;
    int depth;
    bool first[16];
};
void qfs_json_begin(struct qfs_json *j, FILE *f, const char *command);
void qfs_json_end(struct qfs_json *j);
void qfs_json_obj(struct qfs_json *j, const char *key); /* key NULL inside arrays */
void qfs_json_arr(struct qfs_json *j, const char *key);
void qfs_json_close(struct qfs_json *j, char bracket);
void qfs_json_str(struct qfs_json *j, const char *key, const char *v); /* NULL: null */
void qfs_json_u64(struct qfs_json *j, const char *key, uint64_t v);
void qfs_json_i64(struct qfs_json *j, const char *key, int64_t v);
void qfs_json_num(struct qfs_json *j, const char *key, double v); /* v < 0: null */
void qfs_json_bool(struct qfs_json *j, const char *key, bool v);

/* Reply fields with a default for absent ones. */
uint64_t qfs_u64(struct ctl_reply *r, const char *key);
int64_t qfs_i64(struct ctl_reply *r, const char *key, int64_t dflt);
const char *qfs_str(struct ctl_reply *r, const char *key);

#endif
