/* qfs_node.c - finding the node to ask (-c, --data, the mount) and asking it. */
#include "tools/qfs.h"

#include "net/config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define FSNAME_PREFIX "quorumfs:"

int qfs_common_opt(int opt, const char *arg, struct qfs_common *c)
{
    if (opt == 'c')
        c->target.config = arg;
    else if (opt == QFS_OPT_DATA)
        c->target.data = arg;
    else if (opt == QFS_OPT_JSON)
        c->json = true;
    else if (opt == 'h')
        c->help = true;
    else
        return 0;
    return 1;
}

int qfs_common_parse(int argc, char **argv, struct qfs_common *c)
{
    static const struct option longopts[] = {QFS_COMMON_LONGOPTS, {NULL, 0, NULL, 0}};
    int opt, bad = 0;
    while ((opt = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1)
        bad |= !qfs_common_opt(opt, optarg, c);
    return bad || optind < argc ? -1 : 0;
}

/* /proc/self/mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape_octal(char *s)
{
    char *w = s;
    for (char *p = s; *p; p++) {
        if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' &&
            p[3] >= '0' && p[3] <= '7') {
            *w++ = (char)((p[1] - '0') << 6 | (p[2] - '0') << 3 | (p[3] - '0'));
            p += 3;
        } else {
            *w++ = *p;
        }
    }
    *w = '\0';
}

/* The data dir of the quorumfs mount whose device is dev: 0 or -ENOENT. */
static int data_dir_of_dev(dev_t dev, char *out, size_t cap)
{
    FILE *f = fopen("/proc/self/mountinfo", "re");
    char line[3 * PATH_MAX];
    int rc = -ENOENT;
    if (!f)
        return -errno;
    while (rc && fgets(line, sizeof(line), f)) {
        unsigned maj, min;
        char *sep = strstr(line, " - ");
        char fstype[64], source[2 * PATH_MAX];
        if (!sep || sscanf(line, "%*s %*s %u:%u", &maj, &min) != 2 ||
            sscanf(sep + 3, "%63s %8191s", fstype, source) != 2)
            continue;
        if (makedev(maj, min) != dev || strncmp(fstype, "fuse", 4) != 0 ||
            strncmp(source, FSNAME_PREFIX, strlen(FSNAME_PREFIX)) != 0)
            continue;
        unescape_octal(source);
        if ((size_t)snprintf(out, cap, "%s", source + strlen(FSNAME_PREFIX)) < cap)
            rc = 0;
    }
    fclose(f);
    return rc;
}

static int from_config(const char *path, char *out, size_t cap)
{
    struct net_config *cfg = calloc(1, sizeof(*cfg));
    char err[256] = "";
    int rc = cfg ? net_config_load(path, cfg, err, sizeof(err)) : -ENOMEM;
    if (rc)
        fprintf(stderr, "qfs: %s\n", err[0] ? err : strerror(-rc));
    else if ((size_t)snprintf(out, cap, "%s", cfg->data_dir) >= cap)
        rc = -ENAMETOOLONG;
    free(cfg);
    return rc;
}

/* The data dir: from the options, the mount holding path, or $QFS_DATA. */
static int pick_data_dir(const struct qfs_target *t, const char *path, char *out, size_t cap)
{
    struct stat st;
    if (t->config)
        return from_config(t->config, out, cap) ? QFS_EXIT_USAGE : 0;
    if (t->data)
        return (size_t)snprintf(out, cap, "%s", t->data) < cap ? 0 : QFS_EXIT_USAGE;
    if (stat(path ? path : ".", &st) == 0 && data_dir_of_dev(st.st_dev, out, cap) == 0)
        return 0;
    if (getenv("QFS_DATA") && *getenv("QFS_DATA"))
        return (size_t)snprintf(out, cap, "%s", getenv("QFS_DATA")) < cap ? 0 : QFS_EXIT_USAGE;
    fprintf(stderr, "qfs: %s is not inside a quorumfs mount: give -c node.conf or --data DIR\n",
            path ? path : "the current directory");
    return QFS_EXIT_USAGE;
}

int qfs_node_find(const struct qfs_target *t, const char *path, struct qfs_node *n)
{
    memset(n, 0, sizeof(*n));
    int rc = pick_data_dir(t, path, n->data_dir, sizeof(n->data_dir));
    if (rc)
        return rc;
    n->err = stderr;
    n->addr.sun_family = AF_UNIX;
    if ((size_t)snprintf(n->addr.sun_path, sizeof(n->addr.sun_path), "%s/%s", n->data_dir,
                         CTL_SOCKET_NAME) >= sizeof(n->addr.sun_path)) {
        fprintf(stderr, "qfs: data directory path too long for a socket: %s\n", n->data_dir);
        return QFS_EXIT_USAGE;
    }
    n->buf = malloc(CTL_REPLY_MAX);
    if (!n->buf) {
        fprintf(stderr, "qfs: out of memory\n");
        return QFS_EXIT_NOT_IN_SYNC;
    }
    return 0;
}

int qfs_node_serves(const struct qfs_node *n, dev_t dev, const char *path)
{
    char mine[PATH_MAX], theirs[PATH_MAX], a[PATH_MAX], b[PATH_MAX];
    if (data_dir_of_dev(dev, theirs, sizeof(theirs)) != 0) {
        fprintf(stderr, "qfs: %s is not inside a quorumfs mount\n", path);
        return QFS_EXIT_USAGE;
    }
    snprintf(mine, sizeof(mine), "%s", n->data_dir);
    if (!realpath(mine, a) || !realpath(theirs, b) || strcmp(a, b) != 0) {
        fprintf(stderr, "qfs: %s is in the mount of %s, not of the node asked (%s)\n", path, theirs,
                n->data_dir);
        return QFS_EXIT_USAGE;
    }
    return 0;
}

void qfs_node_free(struct qfs_node *n)
{
    free(n->buf);
    n->buf = NULL;
}
