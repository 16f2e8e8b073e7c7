/*
 * qfs_wait - waits for a mount or a process, without sleeping: it polls
 * /proc/self/mountinfo (which signals POLLPRI on every mount table change)
 * and a pidfd (readable when the process exits).
 *
 *   qfs_wait mounted MOUNTPOINT PID SECONDS   until MOUNTPOINT is a mount;
 *                                             fails early if PID exits
 *   qfs_wait unmounted MOUNTPOINT SECONDS     until it is not a mount
 *   qfs_wait exit PID SECONDS                 until PID has exited
 *   qfs_wait stopped PID SECONDS              until every thread of PID is
 *                                             stopped (kill -STOP returns
 *                                             before they are; no event says
 *                                             when, so /proc is polled)
 * Exit status 0 when the condition holds, 1 on timeout or early exit.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 1 if mnt is the mount point (5th field) of a line of mountinfo. */
static int is_mounted(const char *mnt)
{
    FILE *f = fopen("/proc/self/mountinfo", "r");
    char line[8192], point[4096];
    int found = 0;

    if (!f)
        return 0;
    while (!found && fgets(line, sizeof(line), f))
        if (sscanf(line, "%*s %*s %*s %*s %4095s", point) == 1 && strcmp(point, mnt) == 0)
            found = 1;
    fclose(f);
    return found;
}

/* quiet: a process already gone (and reaped) is not an error for "exit". */
static int pid_fd(const char *pid, int quiet)
{
    int fd = (int)syscall(SYS_pidfd_open, atoi(pid), 0);
    if (fd < 0 && !(quiet && errno == ESRCH))
        fprintf(stderr, "qfs_wait: process %s: %s\n", pid, strerror(errno));
    return fd;
}

/* want: 1 mounted, 0 unmounted. pidfd < 0: no process to watch. */
static int wait_mount(const char *mnt, int want, int pidfd, double secs)
{
    int mfd = open("/proc/self/mountinfo", O_RDONLY);
    double end = now() + secs;

    while (is_mounted(mnt) != want) {
        struct pollfd p[2] = {{.fd = mfd, .events = POLLPRI}, {.fd = pidfd, .events = POLLIN}};
        double left = end - now();
        if (left <= 0) {
            fprintf(stderr, "qfs_wait: %s not %s after %.0f s\n", mnt,
                    want ? "mounted" : "unmounted", secs);
            return 1;
        }
        int n = poll(p, pidfd >= 0 ? 2 : 1, (int)(left * 1000) + 1);
        if (n > 0 && pidfd >= 0 && (p[1].revents & POLLIN) && is_mounted(mnt) != want) {
            fprintf(stderr, "qfs_wait: the daemon exited before mounting %s\n", mnt);
            return 1;
        }
        if (n > 0 && (p[0].revents & (POLLPRI | POLLERR))) {
            close(mfd); /* re-open to re-arm the change notification */
            mfd = open("/proc/self/mountinfo", O_RDONLY);
        }
    }
    return 0;
}

static int wait_exit(int pidfd, double secs)
{
    struct pollfd p = {.fd = pidfd, .events = POLLIN};
    return poll(&p, 1, (int)(secs * 1000)) == 1 ? 0 : 1;
}

/* 1 if every thread of pid is in state T (or t), 0 if one is not, -1 gone. */
static int all_stopped(const char *pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof(path), "/proc/%s/task", pid);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int all = 1;
    struct dirent *de;
    while (all && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "/proc/%s/task/%.16s/stat", pid, de->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue; /* the thread exited meanwhile */
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = 0;
        const char *rp = strrchr(buf, ')'); /* the name may hold spaces */
        all = rp && (rp[2] == 'T' || rp[2] == 't');
    }
    closedir(d);
    return all;
}

static int wait_stopped(const char *pid, double secs)
{
    double end = now() + secs;
    const struct timespec tick = {0, 1000000};
    int st;
    while ((st = all_stopped(pid)) == 0 && now() < end)
        nanosleep(&tick, NULL);
    if (st != 1)
        fprintf(stderr, "qfs_wait: process %s %s\n", pid,
                st < 0 ? "is gone" : "not stopped in time");
    return st == 1 ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[1], "mounted") == 0) {
        int fd = pid_fd(argv[3], 0);
        return fd < 0 ? 1 : wait_mount(argv[2], 1, fd, atof(argv[4]));
    }
    if (argc == 4 && strcmp(argv[1], "unmounted") == 0)
        return wait_mount(argv[2], 0, -1, atof(argv[3]));
    if (argc == 4 && strcmp(argv[1], "exit") == 0) {
        int fd = pid_fd(argv[2], 1);
        return fd < 0 ? 0 : wait_exit(fd, atof(argv[3])); /* already gone: done */
    }
    if (argc == 4 && strcmp(argv[1], "stopped") == 0)
        return wait_stopped(argv[2], atof(argv[3]));
    fprintf(stderr, "usage: qfs_wait mounted MNT PID SECS | unmounted MNT SECS | exit PID SECS"
                    " | stopped PID SECS\n");
    return 2;
}
