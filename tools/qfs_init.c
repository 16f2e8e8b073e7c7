/* qfs init: creates a node's identity (key + certificate) and a config skeleton. */
#include "tools/qfs.h"

#include "net/config.h"
#include "net/identity.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_LISTEN "0.0.0.0:7466"

struct init_opts {
    const char *data;
    const char *listen;
};

static void init_usage(FILE *f)
{
    fprintf(f, "usage: qfs init [--data DIR] [--listen ADDR:PORT]\n"
               "Creates DIR (default: $QFS_DATA or ./quorumfs-data) holding node.key (mode 0600),\n"
               "node.crt and node.conf, and prints the node ID to give to the other nodes.\n"
               "Refuses to touch a directory that already holds an identity.\n"
               "  --listen  address written into node.conf (default " DEFAULT_LISTEN ")\n");
}

static int parse_args(int argc, char **argv, struct init_opts *o)
{
    static const struct option longopts[] = {{"data", required_argument, NULL, 'd'},
                                             {"listen", required_argument, NULL, 'l'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    o->data = getenv("QFS_DATA") ? getenv("QFS_DATA") : "quorumfs-data";
    o->listen = DEFAULT_LISTEN;
    int c;
    while ((c = getopt_long(argc, argv, "d:l:h", longopts, NULL)) != -1) {
        if (c == 'd')
            o->data = optarg;
        else if (c == 'l')
            o->listen = optarg;
        else if (c == 'h')
            return 1;
        else
            return -1;
    }
    struct net_addr a;
    if (optind != argc || net_addr_parse(o->listen, &a) < 0)
        return -1;
    return 0;
}

static int write_config(const char *path, const char *id, const char *listen, const char *data)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        return -ENOMEM;
    }
    fprintf(f,
            "# quorumfs node configuration (written by qfs init).\n"
            "# This node's ID is the SHA-256 fingerprint of node.crt; give it to the other nodes.\n"
            "node-id = %s\n"
            "listen = %s\n"
            "data = %s\n"
            "# One line per peer: its node ID (from its qfs init) and address.\n"
            "# peer = XXXXXXX-XXXXXXX-XXXXXXX-XXXXXXX-XXXXXXX-XXXXXXX-XXXXXXX-XXXXXXX "
            "192.0.2.2:7466\n",
            id, listen, data);
    int rc = (fflush(f) == 0 && fsync(fileno(f)) == 0) ? 0 : -EIO;
    if (fclose(f) != 0)
        rc = -EIO;
    return rc;
}

/* The new-node marker (net/config.h): this data directory has never voted. */
static int write_new_node_marker(const char *data)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof(path), "%s/" NET_NEW_NODE_FILE, data);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    static const char text[] = "A new quorumfs node that has never run: its first start votes at "
                               "once. quorumfs removes this file when it starts.\n";
    int rc =
        write(fd, text, sizeof(text) - 1) == (ssize_t)sizeof(text) - 1 && fsync(fd) == 0 ? 0 : -EIO;
    close(fd);
    return rc;
}

int qfs_init_main(int argc, char **argv)
{
    struct init_opts o;
    int a = parse_args(argc, argv, &o);
    if (a != 0) {
        init_usage(a > 0 ? stdout : stderr);
        return a > 0 ? 0 : QFS_EXIT_USAGE;
    }
    if (mkdir(o.data, 0700) < 0 && errno != EEXIST) {
        fprintf(stderr, "qfs init: cannot create %s: %s\n", o.data, strerror(errno));
        return 1;
    }
    char data[PATH_MAX], key[PATH_MAX + 16], crt[PATH_MAX + 16], conf[PATH_MAX + 16];
    if (!realpath(o.data, data)) {
        fprintf(stderr, "qfs init: %s: %s\n", o.data, strerror(errno));
        return 1;
    }
    snprintf(key, sizeof(key), "%s/node.key", data);
    snprintf(crt, sizeof(crt), "%s/node.crt", data);
    snprintf(conf, sizeof(conf), "%s/node.conf", data);
    if (access(conf, F_OK) == 0) {
        fprintf(stderr, "qfs init: %s exists; refusing to overwrite a node\n", conf);
        return 1;
    }
    uint8_t id[NODE_ID_LEN];
    int rc = identity_create(key, crt, id);
    if (rc < 0) {
        fprintf(stderr, "qfs init: %s\n",
                rc == -EEXIST ? "an identity (node.key or node.crt) exists; refusing to overwrite"
                              : strerror(-rc));
        return 1;
    }
    char ids[NODE_ID_STR_LEN + 1];
    node_id_format(id, ids);
    rc = write_new_node_marker(data);
    if (rc < 0) {
        fprintf(stderr, "qfs init: cannot write %s/" NET_NEW_NODE_FILE ": %s\n", data,
                strerror(-rc));
        return 1;
    }
    rc = write_config(conf, ids, o.listen, data);
    if (rc < 0) {
        fprintf(stderr, "qfs init: cannot write %s: %s\n", conf, strerror(-rc));
        return 1;
    }
    printf("%s\n", ids);
    fprintf(stderr, "qfs init: created node in %s (config %s)\n", data, conf);
    return 0;
}
