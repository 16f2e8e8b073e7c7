/* control_server.c - the control socket: binding, the thread, one request per connection. */
#include "fs/control/control_internal.h"

#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int64_t control_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A socket file nobody listens on is a dead daemon's: replace it. */
static int clear_stale(const struct sockaddr_un *a)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int rc = connect(fd, (const struct sockaddr *)a, sizeof(*a));
    int err = errno;
    close(fd);
    if (rc == 0)
        return -EADDRINUSE;
    if (err == ENOENT)
        return 0;
    if (err != ECONNREFUSED)
        return -err;
    return unlink(a->sun_path) == 0 || errno == ENOENT ? 0 : -errno;
}

static int bind_socket(struct control_server *s)
{
    int rc = clear_stale(&s->addr);
    if (rc)
        return rc;
    s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (s->listen_fd < 0)
        return -errno;
    /* No connection is accepted before listen(), so the mode is set in time. */
    if (bind(s->listen_fd, (struct sockaddr *)&s->addr, sizeof(s->addr)) < 0)
        return -errno;
    if (chmod(s->addr.sun_path, 0600) < 0 || listen(s->listen_fd, 16) < 0) {
        rc = -errno;
        unlink(s->addr.sun_path);
        return rc;
    }
    return 0;
}

static void set_timeouts(int fd)
{
    struct timeval tv = {CONTROL_IO_TIMEOUT_MS / 1000, (CONTROL_IO_TIMEOUT_MS % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* Reads one request into s->req: its length, or -errno (-E2BIG past the bound). */
static ssize_t read_request(struct control_server *s, int fd)
{
    size_t len = 0;
    while (!ctl_req_complete(s->req, len)) {
        if (len == CTL_REQ_MAX)
            return -E2BIG;
        ssize_t n = recv(fd, s->req + len, CTL_REQ_MAX - len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return -EPROTO; /* the client closed before the empty line */
        len += (size_t)n;
    }
    return (ssize_t)len;
}

static void send_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return; /* the client went away or stalled: its loss */
        p += n;
        len -= (size_t)n;
    }
}

static bool peer_allowed(const struct control_server *s, int fd)
{
    struct ucred cr;
    socklen_t len = sizeof(cr);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
        return false;
    return cr.uid == 0 || cr.uid == s->uid;
}

static void serve_one(struct control_server *s)
{
    int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0)
        return; /* EAGAIN: the client gave up; anything else recurs at the next poll */
    set_timeouts(fd);
    ctl_buf_reset(&s->reply);
    ssize_t len = peer_allowed(s, fd) ? read_request(s, fd) : -EACCES;
    int rc = len < 0 ? (int)len : ctl_req_parse(s->req, (size_t)len, &s->parsed);
    if (rc == -EAGAIN || rc == -EWOULDBLOCK) {
        log_debug("control: a client sent no request within %d ms", CONTROL_IO_TIMEOUT_MS);
    } else if (rc) {
        log_debug("control: bad request: %s", strerror(-rc));
        ctl_put_status(&s->reply, rc,
                       rc == -EPROTONOSUPPORT ? "this daemon speaks control protocol 1" : NULL);
        ctl_buf_add(&s->reply, "end\n", 4);
    } else {
        control_handle(s, &s->parsed);
    }
    send_all(fd, s->reply.p, s->reply.len);
    close(fd);
}

static void *control_thread(void *arg)
{
    pthread_setname_np(pthread_self(), "qfs-control"); /* for top -H, perf, gdb */
    struct control_server *s = arg;
    struct pollfd p[2] = {{.fd = s->listen_fd, .events = POLLIN},
                          {.fd = s->stop_pipe[0], .events = POLLIN}};
    control_sample(s);
    for (;;) {
        int n = poll(p, 2, 1000);
        if (n < 0 && errno != EINTR) {
            log_error("control: poll: %s", strerror(errno));
            break;
        }
        if (p[1].revents)
            break;
        if (control_now_ms() - s->rates.t_ms >= 1000)
            control_sample(s);
        if (n > 0 && (p[0].revents & POLLIN))
            serve_one(s);
    }
    return NULL;
}

static void free_server(struct control_server *s)
{
    if (s->listen_fd >= 0)
        close(s->listen_fd);
    for (int i = 0; i < 2; i++)
        if (s->stop_pipe[i] >= 0)
            close(s->stop_pipe[i]);
    free(s->req);
    free(s->reply.p);
    free(s);
}

static int init_server(struct control_server *s, const struct control_config *cfg)
{
    s->listen_fd = s->stop_pipe[0] = s->stop_pipe[1] = -1;
    s->core = cfg->core;
    s->ops = cfg->ops;
    s->uid = geteuid();
    s->start_ms = control_now_ms();
    snprintf(s->data_dir, sizeof(s->data_dir), "%s", cfg->data_dir);
    snprintf(s->mountpoint, sizeof(s->mountpoint), "%s", cfg->mountpoint ? cfg->mountpoint : "");
    s->addr.sun_family = AF_UNIX;
    int n = snprintf(s->addr.sun_path, sizeof(s->addr.sun_path), "%s/%s", cfg->data_dir,
                     CTL_SOCKET_NAME);
    if (n < 0 || (size_t)n >= sizeof(s->addr.sun_path))
        return -ENAMETOOLONG;
    s->req = malloc(CTL_REQ_MAX);
    s->reply.p = malloc(CTL_REPLY_MAX);
    s->reply.cap = CTL_REPLY_MAX - CONTROL_END_RESERVE;
    if (!s->req || !s->reply.p)
        return -ENOMEM;
    if (pipe2(s->stop_pipe, O_CLOEXEC) < 0)
        return -errno;
    return bind_socket(s);
}

int control_server_start(const struct control_config *cfg, struct control_server **out)
{
    struct control_server *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    int rc = init_server(s, cfg);
    if (!rc) {
        rc = -pthread_create(&s->thread, NULL, control_thread, s);
        if (rc)
            unlink(s->addr.sun_path);
    }
    if (rc) {
        log_error("control socket %s/%s: %s", cfg->data_dir, CTL_SOCKET_NAME, strerror(-rc));
        free_server(s);
        return rc;
    }
    log_info("control socket: %s", s->addr.sun_path);
    *out = s;
    return 0;
}

void control_server_stop(struct control_server *s)
{
    if (!s)
        return;
    ssize_t n;
    do
        n = write(s->stop_pipe[1], "x", 1);
    while (n < 0 && errno == EINTR);
    pthread_join(s->thread, NULL);
    unlink(s->addr.sun_path);
    free_server(s);
}
