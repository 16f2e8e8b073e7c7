/* qfs_request.c - one request to the daemon's control socket, one reply. */
#include "tools/qfs.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define CLIENT_TIMEOUT_S 5 /* the daemon answers within its own 2 s bounds */

static void say_not_running(const struct qfs_node *n)
{
    char conf[PATH_MAX + 16];
    struct stat st;
    snprintf(conf, sizeof(conf), "%s/node.conf", n->data_dir);
    if (stat(conf, &st) == 0)
        fprintf(n->err,
                "qfs: no quorumfs daemon is running for %s; start it with: "
                "quorumfs -c %s MOUNTPOINT\n",
                n->data_dir, conf);
    else
        fprintf(n->err,
                "qfs: no quorumfs daemon is running for %s; start it with: "
                "quorumfs --data %s MOUNTPOINT\n",
                n->data_dir, n->data_dir);
}

static int dial(const struct qfs_node *n)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    struct timeval tv = {CLIENT_TIMEOUT_S, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(fd, (const struct sockaddr *)&n->addr, sizeof(n->addr)) < 0) {
        int err = errno;
        close(fd);
        return -err;
    }
    return fd;
}

/* Request text into buf (cap CTL_REQ_MAX): its length. */
static size_t format_request(char *buf, const char *verb, const uint64_t *args, size_t nargs)
{
    size_t len = (size_t)snprintf(buf, CTL_REQ_MAX, "%s %d %s\n", CTL_MAGIC, CTL_VERSION, verb);
    for (size_t i = 0; i < nargs && len + 24 < CTL_REQ_MAX; i++)
        len += (size_t)snprintf(buf + len, CTL_REQ_MAX - len, "%" PRIu64 "\n", args[i]);
    buf[len++] = '\n';
    return len;
}

static int send_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t w = send(fd, p, len, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -errno;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* Reads until the daemon closes: the reply's length, or -errno. */
static ssize_t read_all(int fd, char *buf, size_t cap)
{
    size_t len = 0;
    for (;;) {
        if (len == cap)
            return -E2BIG;
        ssize_t r = recv(fd, buf + len, cap - len, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (r == 0)
            return (ssize_t)len;
        len += (size_t)r;
    }
}

static int exchange(struct qfs_node *n, const char *verb, const uint64_t *args, size_t nargs,
                    struct ctl_reply *r)
{
    int fd = dial(n);
    if (fd < 0)
        return fd;
    /* the request is formatted into the reply buffer: it is sent before any reply arrives */
    size_t len = format_request(n->buf, verb, args, nargs);
    int rc = send_all(fd, n->buf, len);
    ssize_t got = rc ? rc : read_all(fd, n->buf, CTL_REPLY_MAX);
    close(fd);
    if (got < 0)
        return (int)got;
    return ctl_reply_parse(n->buf, (size_t)got, r);
}

int qfs_request(struct qfs_node *n, const char *verb, const uint64_t *args, size_t nargs,
                struct ctl_reply *r)
{
    memset(r, 0, sizeof(*r)); /* freeable whatever happens below */
    if (nargs > CTL_ARGS_MAX) {
        fprintf(n->err, "qfs: internal: %zu arguments in one request\n", nargs);
        return QFS_EXIT_UNREACHABLE;
    }
    int rc = exchange(n, verb, args, nargs, r);
    if (rc == -ENOENT || rc == -ECONNREFUSED)
        say_not_running(n);
    else if (rc == -EACCES || rc == -EPERM)
        fprintf(n->err, "qfs: %s: permission denied (run as the daemon's user or root)\n",
                n->addr.sun_path);
    else if (rc == -EPROTONOSUPPORT)
        fprintf(n->err, "qfs: the daemon speaks another control protocol version than %d\n",
                CTL_VERSION);
    else if (rc)
        fprintf(n->err, "qfs: %s: %s\n", n->addr.sun_path,
                rc == -EPROTO ? "malformed reply" : strerror(-rc));
    if (rc)
        ctl_reply_free(r);
    return rc ? QFS_EXIT_UNREACHABLE : 0;
}

int qfs_request_ok(struct qfs_node *n, const char *verb, const uint64_t *args, size_t nargs,
                   struct ctl_reply *r)
{
    int rc = qfs_request(n, verb, args, nargs, r);
    if (!rc && r->err) {
        fprintf(n->err, "qfs: the daemon could not answer: %s\n", r->message);
        ctl_reply_free(r);
        rc = QFS_EXIT_UNREACHABLE;
    }
    return rc;
}

int qfs_ask(const struct qfs_target *t, struct qfs_node *n, const char *verb, struct ctl_reply *r)
{
    int rc = qfs_node_find(t, NULL, n);
    return rc ? rc : qfs_request_ok(n, verb, NULL, 0, r);
}
