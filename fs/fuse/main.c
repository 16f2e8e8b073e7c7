/*
 * main.c - the quorumfs daemon: parse options, open the core, mount, serve
 * FUSE requests until unmounted or signalled, then close the core (which
 * commits staged content). See mount_options.h for the command line.
 *
 * Exit status: 0 after a clean unmount, 1 if mounting or serving failed,
 * 2 for a bad command line.
 */
#include "fs/fuse/daemon.h"
#include "fs/fuse/data_dir.h"
#include "fs/fuse/fuse_fs.h"
#include "fs/fuse/mount_options.h"
#include "net/config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "fs/control/control.h"

#define ENTRY_TIMEOUT 3600.0 /* one node: every change passes through the kernel */
/* A cluster mount drops attributes on remote changes, but never entries
 * (fs/fuse/invalidate.h), so the kernel does not keep names at all: every
 * path walk asks this daemon (served from the local store, ~30 us a
 * component), and an open never follows a name another node removed or
 * replaced (the fault suite's close-to-open checker caught that at 1 s). */
#define CLUSTER_ENTRY_TIMEOUT 0.0

static void write_pid_file(const char *path)
{
    FILE *f = path ? fopen(path, "w") : NULL;

    if (path && !f) {
        log_warn("cannot write pid file %s: %s", path, strerror(errno));
        return;
    }
    if (f) {
        fprintf(f, "%ld\n", (long)getpid());
        fclose(f);
    }
}

static int serve(struct fuse_session *se, const struct mount_options *o)
{
    if (o->cmd.singlethread)
        return fuse_session_loop(se);
    struct fuse_loop_config *lc = fuse_loop_cfg_create();
    if (!lc)
        return -ENOMEM;
    fuse_loop_cfg_set_clone_fd(lc, (unsigned)o->cmd.clone_fd);
    fuse_loop_cfg_set_max_threads(lc, o->cmd.max_threads);
    if (o->cmd.max_idle_threads != UINT_MAX) /* UINT_MAX: not given */
        fuse_loop_cfg_set_idle_threads(lc, o->cmd.max_idle_threads);
    int rc = fuse_session_loop_mt(se, lc);
    fuse_loop_cfg_destroy(lc);
    return rc;
}

/* Mounts, reports readiness, serves, unmounts. Returns the exit status. */
static int run_mounted(struct fuse_session *se, struct qfs_fuse *q, const struct mount_options *o,
                       int ready_fd)
{
    if (fuse_set_signal_handlers(se) != 0) {
        daemon_ready(ready_fd, 1);
        return 1;
    }
    if (fuse_session_mount(se, o->cmd.mountpoint) != 0) {
        log_error("cannot mount at %s", o->cmd.mountpoint);
        fuse_remove_signal_handlers(se);
        daemon_ready(ready_fd, 1);
        return 1;
    }
    mount_cluster_mounted(q); /* the device is open: invalidations can go */
    write_pid_file(o->pid_file);
    log_info("mounted at %s (pid %ld)", o->cmd.mountpoint, (long)getpid());
    daemon_ready(ready_fd, 0);
    int rc = serve(se, o);
    mount_cluster_quiesce(q); /* the device is about to close */
    fuse_session_unmount(se);
    fuse_remove_signal_handlers(se);
    log_info("unmounted %s", o->cmd.mountpoint);
    return rc < 0 ? 1 : 0;
}

/* Starts the core and the cluster node (after any fork: they run threads),
 * then the mount. */
static int run(struct fuse_session *se, struct qfs_fuse *q, const struct mount_options *o,
               const char *data_dir, const struct net_config *net, int ready_fd)
{
    struct core_config cfg = {.data_dir = data_dir,
                              .atime_mode = o->atime,
                              .staging_limit = o->staging_limit,
                              .cluster = net};
    if (net) {
        char id[NODE_ID_STR_LEN + 1];
        node_id_format(net->node_id, id);
        snprintf(q->node_tag, sizeof(q->node_tag), "%.7s", id);
        cfg.node_tag = q->node_tag;
    }
    int rc = core_open(&cfg, &q->core);

    if (rc < 0) {
        log_error("cannot open the store in %s: %s", data_dir, strerror(-rc));
        daemon_ready(ready_fd, 1);
        return 1;
    }
    if (net && mount_cluster_start(q, se, net) != 0) {
        core_close(q->core);
        daemon_ready(ready_fd, 1);
        return 1;
    }
    struct control_server *ctl = NULL;
    struct control_config cc = {.data_dir = data_dir,
                                .mountpoint = o->cmd.mountpoint,
                                .core = q->core,
                                .ops = net ? control_cluster_ops(q->cluster)
                                           : control_single_node_ops(q->core)};
    if (control_server_start(&cc, &ctl) != 0)
        log_warn("no control socket: qfs status cannot reach this node");
    int status = run_mounted(se, q, o, ready_fd);
    control_server_stop(ctl);
    if (net)
        mount_cluster_stop(q); /* commits what is staged first */
    core_close(q->core);
    if (o->pid_file)
        unlink(o->pid_file);
    return status;
}

/* The mount's source in /proc/mounts is quorumfs:DATA_DIR, so that `qfs`
 * run inside a mount finds the node (and its control socket) serving it. */
static int add_fsname(struct mount_options *o, const char *data_dir)
{
    char opt[PATH_MAX * 2 + 32], *p = opt;
    p += sprintf(p, "-ofsname=quorumfs:");
    for (const char *d = data_dir; *d; d++) {
        if (*d == ',' || *d == '\\')
            *p++ = '\\'; /* libfuse's option escape */
        *p++ = *d;
    }
    *p = '\0';
    return fuse_opt_insert_arg(&o->args, 1, opt) == 0 ? 0 : -ENOMEM;
}

static struct fuse_session *new_session(struct mount_options *o, struct qfs_fuse *q,
                                        const char *data_dir)
{
    struct fuse_lowlevel_ops ops;

    if (add_fsname(o, data_dir) != 0)
        return NULL;
    memset(&ops, 0, sizeof(ops));
    fuse_init_register(&ops);
    fuse_ops_ns_register(&ops);
    fuse_ops_dir_register(&ops);
    fuse_ops_io_register(&ops);
    fuse_ops_xattr_register(&ops);
    return fuse_session_new(&o->args, &ops, sizeof(ops), q);
}

static int start(struct mount_options *o, const char *data_dir, bool is_default,
                 const struct net_config *net)
{
    struct qfs_fuse q = {.attr_timeout = ENTRY_TIMEOUT,
                         .entry_timeout = net ? CLUSTER_ENTRY_TIMEOUT : ENTRY_TIMEOUT,
                         .negative_timeout = net ? 0 : ENTRY_TIMEOUT,
                         .writeback_cache = o->writeback != 0,
                         .mountpoint = o->cmd.mountpoint};
    char log_path[PATH_MAX];
    int ready_fd = -1, status;

    struct fuse_session *se = new_session(o, &q, data_dir);
    if (!se)
        return 2; /* libfuse said which option it did not know */
    snprintf(log_path, sizeof(log_path), "%s/quorumfs.log", data_dir);
    if (!o->cmd.foreground) {
        fprintf(stderr, "quorumfs: data directory %s%s, log %s\n", data_dir,
                is_default ? " (default)" : "", log_path);
        int rc = daemon_start(log_path, &ready_fd);
        if (rc < 0) {
            log_error("cannot fork: %s", strerror(-rc));
            fuse_session_destroy(se);
            return 1;
        }
    }
    log_info("data directory: %s%s", data_dir, is_default ? " (default)" : "");
    fuse_bufpool_init(&q.pool, 1u << 20);
    status = run(se, &q, o, data_dir, net, ready_fd);
    fuse_session_destroy(se);
    fuse_bufpool_destroy(&q.pool);
    return status;
}

/* A bad config stops the daemon before anything starts, saying which line. */
static struct net_config *load_config(const char *path)
{
    struct net_config *cfg = malloc(sizeof(*cfg));
    char err[256];

    if (!cfg)
        return NULL;
    int rc = net_config_load(path, cfg, err, sizeof(err));
    if (rc) {
        if (rc == -EINVAL)
            fprintf(stderr, "quorumfs: %s\n", err);
        else
            fprintf(stderr, "quorumfs: cannot read %s: %s\n", path, strerror(-rc));
        free(cfg);
        return NULL;
    }
    return cfg;
}

int main(int argc, char **argv)
{
    struct mount_options o;
    char *data_dir = NULL;
    bool is_default;
    int status;

    if (mount_options_parse(argc, argv, &o) != 0) {
        mount_options_free(&o);
        return 2;
    }
    if (o.help || o.version) {
        if (o.help)
            mount_options_usage(argv[0]);
        else
            printf("quorumfs %s (libfuse %s)\n", QFS_VERSION, fuse_pkgversion());
        mount_options_free(&o);
        return 0;
    }
    log_setup("quorumfs", o.cmd.debug ? LOG_LVL_DEBUG : LOG_LVL_INFO);
    struct net_config *net = o.config ? load_config(o.config) : NULL;
    if (o.config && !net) {
        mount_options_free(&o);
        return 2;
    }
    if (data_dir_resolve(net ? net->data_dir : o.data_dir, &data_dir, &is_default) != 0) {
        free(net);
        mount_options_free(&o);
        return 1;
    }
    status = start(&o, data_dir, is_default && !net, net);
    free(data_dir);
    free(net);
    mount_options_free(&o);
    return status;
}
