/* daemon.c - see daemon.h. */
#include "fs/fuse/daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

static void parent_wait(int fd)
{
    unsigned char status = 1;

    /* EOF without a byte: the child died before it could say. */
    while (read(fd, &status, 1) < 0 && errno == EINTR)
        ;
    _exit(status);
}

static void redirect_stdio(const char *log_path)
{
    int null = open("/dev/null", O_RDWR);
    int log = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

    if (null >= 0) {
        dup2(null, STDIN_FILENO);
        dup2(null, STDOUT_FILENO);
        if (null > STDERR_FILENO)
            close(null);
    }
    if (log >= 0) {
        dup2(log, STDERR_FILENO);
        close(log);
    }
}

int daemon_start(const char *log_path, int *ready_fd)
{
    int p[2];

    if (pipe2(p, O_CLOEXEC) != 0)
        return -errno;
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(p[0]);
        close(p[1]);
        return -e;
    }
    if (pid > 0) {
        close(p[1]);
        parent_wait(p[0]);
    }
    close(p[0]);
    setsid();
    if (chdir("/") != 0) {
        /* "/" always exists; nothing to do */
    }
    redirect_stdio(log_path);
    *ready_fd = p[1];
    return 0;
}

void daemon_ready(int ready_fd, int status)
{
    unsigned char b = (unsigned char)status;

    if (ready_fd < 0)
        return;
    while (write(ready_fd, &b, 1) < 0 && errno == EINTR)
        ;
    close(ready_fd);
}
