/* mount_options.c - see mount_options.h. */
#include "fs/fuse/mount_options.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { KEY_NOATIME, KEY_RELATIME, KEY_STRICTATIME };

#define OPT(t, field, v)                                                                           \
    {                                                                                              \
        t, offsetof(struct mount_options, field), v                                                \
    }

static const struct fuse_opt qfs_opts[] = {
    OPT("--data=%s", data_dir, 0),
    OPT("--data %s", data_dir, 0),
    OPT("data=%s", data_dir, 0),
    OPT("-c %s", config, 0),
    OPT("--config=%s", config, 0),
    OPT("--config %s", config, 0),
    OPT("config=%s", config, 0),
    OPT("--pid-file=%s", pid_file, 0),
    OPT("--pid-file %s", pid_file, 0),
    OPT("writeback", writeback, 1),
    OPT("staging=%s", staging, 0),
    FUSE_OPT_KEY("noatime", KEY_NOATIME),
    FUSE_OPT_KEY("relatime", KEY_RELATIME),
    FUSE_OPT_KEY("strictatime", KEY_STRICTATIME),
    FUSE_OPT_END,
};

/* Records the atime policy (the core keeps atime: the kernel's own atime
 * mount flags do not apply to FUSE, and libfuse rejects strictatime), and
 * keeps every other option for libfuse. */
static int opt_proc(void *data, const char *arg, int key, struct fuse_args *outargs)
{
    struct mount_options *o = data;

    (void)arg;
    (void)outargs;
    if (key == KEY_NOATIME)
        o->atime = CORE_ATIME_NOATIME;
    else if (key == KEY_RELATIME)
        o->atime = CORE_ATIME_RELATIME;
    else if (key == KEY_STRICTATIME)
        o->atime = CORE_ATIME_STRICT;
    else
        return 1;
    return 0;
}

/* The defaults every mount gets: a type in /proc/mounts (the source,
 * quorumfs:DATA_DIR, is added once the data directory is known), and the kernel
 * checking permission bits (the core trusts it to). Root mounts serve
 * every user, as a disk would. */
static int add_defaults(struct mount_options *o)
{
    const char *opts = geteuid() == 0 ? "-osubtype=quorumfs,default_permissions,allow_other"
                                      : "-osubtype=quorumfs,default_permissions";
    return fuse_opt_insert_arg(&o->args, 1, opts) == 0 ? 0 : -ENOMEM;
}

/* The daemon chdir()s to "/": a relative pid file is made absolute now. */
static int absolute_pid_file(struct mount_options *o)
{
    char cwd[PATH_MAX], *abs;

    if (!o->pid_file || o->pid_file[0] == '/')
        return 0;
    if (!getcwd(cwd, sizeof(cwd)) || asprintf(&abs, "%s/%s", cwd, o->pid_file) < 0) {
        fprintf(stderr, "quorumfs: cannot resolve --pid-file %s\n", o->pid_file);
        return -EINVAL;
    }
    free(o->pid_file);
    o->pid_file = abs;
    return 0;
}

#define STAGING_MIN ((size_t)16 << 20) /* below it, every commit is small */
#define STAGING_MAX ((size_t)1 << 40)

/* -o staging=SIZE: a number with an optional K, M, G or T (powers of 1024,
 * either case). */
static int parse_staging(struct mount_options *o)
{
    static const char units[] = "KMGT";
    char *end;
    const char *unit;

    if (!o->staging)
        return 0;
    errno = 0;
    unsigned long long n = strtoull(o->staging, &end, 10);
    int shift = 0;
    if (*end && end[1] == '\0' && (unit = strchr(units, toupper((unsigned char)*end))) != NULL) {
        shift = 10 * (int)(unit - units + 1);
        end++;
    }
    if (errno || end == o->staging || *end || o->staging[0] == '-' || n > (STAGING_MAX >> shift) ||
        (size_t)n << shift < STAGING_MIN) {
        fprintf(stderr, "quorumfs: -o staging=%s: want a size from 16M to 1T, such as 256M or 1G\n",
                o->staging);
        return -EINVAL;
    }
    o->staging_limit = (size_t)n << shift;
    return 0;
}

int mount_options_parse(int argc, char **argv, struct mount_options *o)
{
    memset(o, 0, sizeof(*o));
    o->atime = CORE_ATIME_RELATIME;
    o->args = (struct fuse_args)FUSE_ARGS_INIT(argc, argv);
    if (fuse_opt_parse(&o->args, o, qfs_opts, opt_proc) != 0)
        return -EINVAL;
    if (fuse_parse_cmdline(&o->args, &o->cmd) != 0)
        return -EINVAL;
    o->help = o->cmd.show_help;
    o->version = o->cmd.show_version;
    if (o->help || o->version)
        return 0;
    if (!o->cmd.mountpoint) {
        fprintf(stderr, "quorumfs: missing MOUNTPOINT (try --help)\n");
        return -EINVAL;
    }
    if (o->config && o->data_dir) {
        fprintf(stderr, "quorumfs: -c and --data exclude each other (the config names the "
                        "data directory)\n");
        return -EINVAL;
    }
    if (o->data_dir && o->data_dir[0] == '\0') {
        fprintf(stderr, "quorumfs: empty data directory\n");
        return -EINVAL;
    }
    if (absolute_pid_file(o) != 0 || parse_staging(o) != 0)
        return -EINVAL;
    return add_defaults(o);
}

void mount_options_usage(const char *prog)
{
    printf("usage: %s [options] MOUNTPOINT\n\n"
           "Mounts a quorumfs filesystem at MOUNTPOINT: one node of a cluster (-c),\n"
           "or a single node.\n\n"
           "quorumfs options:\n"
           "    -c FILE, --config FILE   join the cluster FILE describes (written by\n"
           "                             `qfs init`; its data directory is used)\n"
           "    --data DIR, -o data=DIR  data directory (default: /var/lib/quorumfs/default\n"
           "                             for root, else $XDG_DATA_HOME/quorumfs or\n"
           "                             ~/.local/share/quorumfs)\n"
           "    -o noatime|relatime|strictatime  access time policy (default relatime)\n"
           "    -o writeback             enable the kernel's writeback cache\n"
           "    -o staging=SIZE          memory for written bytes not yet committed\n"
           "                             (16M to 1T; default a sixteenth of memory,\n"
           "                             64M to 1G)\n"
           "    --pid-file FILE          write the daemon's PID to FILE once mounted\n"
           "    -f                       stay in the foreground (logs to stderr; otherwise\n"
           "                             the daemon logs to DATA/quorumfs.log)\n"
           "    -d                       debug output (implies -f)\n\n",
           prog);
    fuse_cmdline_help();
    fuse_lowlevel_help();
}

void mount_options_free(struct mount_options *o)
{
    fuse_opt_free_args(&o->args);
    free(o->cmd.mountpoint);
    free(o->data_dir);
    free(o->config);
    free(o->pid_file);
    free(o->staging);
}
