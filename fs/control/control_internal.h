/*
 * control_internal.h - the state of the control server, shared by its files
 * (private to fs/control/).
 *
 * Locking: none. After control_server_start() returns, every field below is
 * read and written only by the control thread, except stop_pipe[1], which
 * control_server_stop() writes once.
 */
#ifndef QFS_FS_CONTROL_CONTROL_INTERNAL_H
#define QFS_FS_CONTROL_CONTROL_INTERNAL_H

#include "fs/control/control.h"
#include "fs/control/control_proto.h"
#include "fs/core/core_sync.h"

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>
#include <sys/un.h>

/* Rates measured by sampling once a second (smoothed: the ETA of `qfs status`
 * should not jump with every sample). */
struct control_rates {
    int64_t t_ms;       /* monotonic time of the last sample, 0 none */
    uint64_t fetched;   /* fetched_bytes_total then */
    uint64_t queue;     /* fetch_bytes (still to fetch) then */
    uint64_t missing;   /* the scan's missing_bytes then */
    uint64_t pushed;    /* pushed_bytes_total then */
    uint64_t applied;   /* applied index then */
    double fetch_bps;   /* bytes/s fetched from peers */
    double push_bps;    /* bytes/s pushed to peers */
    double apply_per_s; /* commands/s applied */
};

/* core_sync_all() is a scan: its result is reused while nothing it depends
 * on (applied index, chunks stored, chunks freed) has changed. */
struct control_scan {
    bool valid;
    uint64_t key[3];
    struct core_sync_all all;
};

#define CONTROL_END_RESERVE 8 /* reply bytes kept for the final "end\n" */

struct control_server {
    char data_dir[PATH_MAX];
    char mountpoint[PATH_MAX];
    struct sockaddr_un addr; /* data_dir/control.sock */
    struct core *core;
    struct control_ops ops;
    int listen_fd;
    int stop_pipe[2];
    pthread_t thread;
    int64_t start_ms; /* monotonic, for uptime */
    uid_t uid;        /* the daemon's user: served besides root */
    char *req;        /* CTL_REQ_MAX bytes, reused */
    struct ctl_req parsed;
    struct ctl_buf reply; /* CTL_REPLY_MAX bytes, reused; cap leaves CONTROL_END_RESERVE */
    struct cluster_status st;
    struct control_rates rates;
    struct control_scan scan;
};

int64_t control_now_ms(void);
/* core_sync_all(), rescanned only when something it depends on (applied
 * index, chunks stored, chunks freed) changed since the last scan. */
int control_scan(struct control_server *s, const struct core_sync_all **all);
/* Answers one parsed request into s->reply (status line included). */
void control_handle(struct control_server *s, const struct ctl_req *r);
/* Takes a once-a-second sample for the rates. */
void control_sample(struct control_server *s);

#endif
