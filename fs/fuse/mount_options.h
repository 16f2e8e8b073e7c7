/*
 * mount_options.h - the daemon's command line.
 *
 *   quorumfs [options] MOUNTPOINT
 *     -c FILE | --config FILE    join a cluster (net/config.h); its data dir
 *     --data DIR | -o data=DIR   data directory (default: see data_dir.h)
 *     -o noatime|relatime|strictatime   atime policy (kept by the core)
 *     -o writeback               let the kernel cache writes (writeback cache)
 *     -o staging=SIZE            bound on staged writes (16M..1T; K, M, G, T)
 *     --pid-file FILE            write the daemon's PID there once mounted
 *     -f  foreground   -d  debug (implies -f)   -s  single-threaded
 *     --help  --version          and every libfuse -o option
 *
 * Our own options are removed from args; what remains goes to
 * fuse_session_new(), which rejects unknown ones.
 */
#ifndef QFS_FS_FUSE_MOUNT_OPTIONS_H
#define QFS_FS_FUSE_MOUNT_OPTIONS_H

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

#include <stdbool.h>

#include "fs/core/core.h"

struct mount_options {
    struct fuse_args args;        /* for fuse_session_new() */
    struct fuse_cmdline_opts cmd; /* mountpoint, foreground, debug, ... */
    char *data_dir;               /* as given, or NULL for the default */
    char *config;                 /* cluster config file, or NULL: single node */
    char *pid_file;               /* or NULL */
    enum core_atime_mode atime;
    int writeback;
    char *staging;        /* -o staging=SIZE as given, or NULL */
    size_t staging_limit; /* parsed from it; 0 = the core's default */
    bool help, version;
};

/* 0, or -EINVAL after printing what is wrong to stderr. */
int mount_options_parse(int argc, char **argv, struct mount_options *o);
void mount_options_usage(const char *prog);
void mount_options_free(struct mount_options *o);

#endif
