#include "fs/fuse/dir_moves.h"

#include "common/log.h"
#include "fs/core/core.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MOVES_QUEUE 256
#define WALK_MS     1000 /* a walk not done by then is given up (the walker may be stuck) */
#define SETTLE_MS   100  /* dir_moves_settle waits at most this */
#define REAP_MS     1000 /* stop waits at most this for the walker to end */

struct move_rec {
    uint64_t dir, parent;
    size_t len;
    char name[NAME_MAX];
};

struct dir_moves {
    struct core *core;
    char mnt[PATH_MAX];
    size_t mntlen;
    int to_walker;   /* non-blocking; a path of at most PIPE_BUF bytes is written whole */
    int from_walker; /* non-blocking; one byte per path walked, in order */
    pid_t walker;
    pthread_t thread;
    uint64_t sent, acked;           /* paths written / walks acknowledged (feeder thread only) */
    pthread_mutex_t lock;           /* guards every field below */
    pthread_cond_t work;            /* records queued, or stop */
    pthread_cond_t walked;          /* a record's walk ended */
    struct move_rec q[MOVES_QUEUE]; /* q[head] is walked next */
    uint32_t head, n;
    uint64_t walking; /* the dir being walked now, 0 if none */
    uint32_t pending; /* n, plus one while walking; read without the lock as a hint */
    uint64_t dropped;
    bool stop, dead; /* dead: the walker is gone; records are dropped */
};

/* The walker: stats each NUL-terminated path read from stdin and writes a
 * byte to stdout for it, until stdin closes. A child forked from a threaded
 * process: async-signal-safe calls only. */
static void walker_main(void)
{
    static char buf[2 * PATH_MAX];
    size_t have = 0;
    for (;;) {
        ssize_t r = read(STDIN_FILENO, buf + have, sizeof(buf) - have);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            _exit(0);
        have += (size_t)r;
        size_t start = 0;
        for (size_t i = 0; i < have; i++) {
            if (buf[i])
                continue;
            struct stat st;
            (void)fstatat(AT_FDCWD, buf + start, &st, AT_SYMLINK_NOFOLLOW);
            while (write(STDOUT_FILENO, "w", 1) < 0 && errno == EINTR)
                ;
            start = i + 1;
        }
        memmove(buf, buf + start, have - start);
        have -= start;
        if (have == sizeof(buf)) /* no NUL in 8 KiB: cannot come from the feeder */
            have = 0;
    }
}

static void close_pair(int p[2])
{
    close(p[0]);
    close(p[1]);
}

static int nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ? -errno : 0;
}

static int fork_walker(struct dir_moves *dm)
{
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) != 0)
        return -errno;
    if (pipe2(out, O_CLOEXEC) != 0) {
        int rc = -errno;
        close_pair(in);
        return rc;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        prctl(PR_SET_NAME, "qfs-dirwalk");
        if (getppid() != parent || dup2(in[0], STDIN_FILENO) < 0 || dup2(out[1], STDOUT_FILENO) < 0)
            _exit(1);
        close_range(3, ~0u, 0);
        walker_main();
    }
    int rc = pid < 0 ? -errno : 0;
    close(in[0]);
    close(out[1]);
    if (!rc && !(rc = nonblock(in[1])) && !(rc = nonblock(out[0]))) {
        dm->to_walker = in[1];
        dm->from_walker = out[0];
        dm->walker = pid;
        return 0;
    }
    close(in[1]);
    close(out[0]);
    if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    return rc;
}

/* The old path of r under the mountpoint, NUL-terminated in buf (PIPE_BUF
 * bytes); its size with the NUL, or 0 if it cannot be named. */
static size_t old_path(struct dir_moves *dm, const struct move_rec *r, char *buf)
{
    memcpy(buf, dm->mnt, dm->mntlen);
    ssize_t n = core_dir_path(dm->core, r->parent, buf + dm->mntlen, PIPE_BUF - dm->mntlen);
    if (n < 0)
        return 0; /* the old parent is gone too, and with it the old name */
    size_t at = dm->mntlen + (size_t)n;
    if (at + 1 + r->len + 1 > PIPE_BUF)
        return 0;
    buf[at++] = '/';
    memcpy(buf + at, r->name, r->len);
    buf[at + r->len] = '\0';
    return at + r->len + 1;
}

/* Waits until the walker acknowledged path number sent; false on timeout
 * or if the walker is gone (*dead). */
static bool await_walk(struct dir_moves *dm, bool *dead)
{
    struct pollfd p = {.fd = dm->from_walker, .events = POLLIN};
    char acks[64];
    while (dm->acked < dm->sent) {
        int r = poll(&p, 1, WALK_MS);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return false;
        ssize_t n = read(dm->from_walker, acks, sizeof(acks));
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            *dead = true;
            return false;
        }
        dm->acked += n > 0 ? (uint64_t)n : 0;
    }
    return true;
}

/* Has the walker stat r's old path; true once it did. */
static bool walk(struct dir_moves *dm, const struct move_rec *r, bool *dead)
{
    char path[PIPE_BUF];
    size_t len = old_path(dm, r, path);
    if (!len)
        return false;
    ssize_t w = write(dm->to_walker, path, len);
    if (w < 0 && errno == EPIPE)
        *dead = true;
    if (w != (ssize_t)len)
        return false;
    dm->sent++;
    return await_walk(dm, dead);
}

static void set_pending(struct dir_moves *dm, uint32_t n)
{
    __atomic_store_n(&dm->pending, n, __ATOMIC_RELEASE);
}

static void *feeder(void *arg)
{
    struct dir_moves *dm = arg;
    /* A walker that died makes the next write EPIPE, which must not end the
     * daemon as SIGPIPE would (libfuse ignores it only once it has mounted). */
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, NULL);
    pthread_mutex_lock(&dm->lock);
    for (;;) {
        while (!dm->n && !dm->stop)
            pthread_cond_wait(&dm->work, &dm->lock);
        if (dm->stop)
            break;
        struct move_rec r = dm->q[dm->head];
        dm->head = (dm->head + 1) % MOVES_QUEUE;
        dm->n--;
        dm->walking = r.dir;
        pthread_mutex_unlock(&dm->lock);
        bool dead = false;
        bool ok = walk(dm, &r, &dead);
        pthread_mutex_lock(&dm->lock);
        dm->walking = 0;
        dm->dropped += !ok;
        if (dead && !dm->dead) {
            dm->dead = true;
            log_warn("dir moves: the walker is gone; moved directories may rename ESTALE here");
        }
        set_pending(dm, dm->n);
        pthread_cond_broadcast(&dm->walked);
    }
    pthread_mutex_unlock(&dm->lock);
    return NULL;
}

int dir_moves_start(struct core *core, const char *mnt, struct dir_moves **out)
{
    struct dir_moves *dm = calloc(1, sizeof(*dm));
    if (!dm)
        return -ENOMEM;
    dm->core = core;
    dm->mntlen = strlen(mnt);
    if (dm->mntlen >= PIPE_BUF / 2) {
        free(dm);
        return -ENAMETOOLONG;
    }
    memcpy(dm->mnt, mnt, dm->mntlen);
    pthread_mutex_init(&dm->lock, NULL);
    pthread_cond_init(&dm->work, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&dm->walked, &ca);
    pthread_condattr_destroy(&ca);
    int rc = fork_walker(dm);
    if (!rc && (rc = -pthread_create(&dm->thread, NULL, feeder, dm)) != 0) {
        close(dm->to_walker);
        close(dm->from_walker);
        kill(dm->walker, SIGKILL);
        waitpid(dm->walker, NULL, 0);
    }
    if (rc) {
        pthread_cond_destroy(&dm->walked);
        pthread_cond_destroy(&dm->work);
        pthread_mutex_destroy(&dm->lock);
        free(dm);
        return rc;
    }
    *out = dm;
    return 0;
}

void dir_moves_note(struct dir_moves *dm, uint64_t dir, uint64_t parent, const char *name,
                    size_t len)
{
    if (len == 0 || len > NAME_MAX)
        return;
    pthread_mutex_lock(&dm->lock);
    if (dm->n == MOVES_QUEUE || dm->dead) {
        dm->dropped++;
    } else {
        struct move_rec *r = &dm->q[(dm->head + dm->n++) % MOVES_QUEUE];
        *r = (struct move_rec){.dir = dir, .parent = parent, .len = len};
        memcpy(r->name, name, len);
        set_pending(dm, dm->n + (dm->walking != 0));
        pthread_cond_signal(&dm->work);
    }
    pthread_mutex_unlock(&dm->lock);
}

static bool is_pending(const struct dir_moves *dm, uint64_t dir)
{
    if (dm->walking == dir)
        return true;
    for (uint32_t i = 0; i < dm->n; i++)
        if (dm->q[(dm->head + i) % MOVES_QUEUE].dir == dir)
            return true;
    return false;
}

void dir_moves_settle(struct dir_moves *dm, uint64_t dir, pid_t pid)
{
    if (!__atomic_load_n(&dm->pending, __ATOMIC_ACQUIRE) || pid == dm->walker)
        return;
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_nsec += SETTLE_MS * 1000000L;
    until.tv_sec += until.tv_nsec / 1000000000L;
    until.tv_nsec %= 1000000000L;
    pthread_mutex_lock(&dm->lock);
    while (!dm->stop && is_pending(dm, dir))
        if (pthread_cond_timedwait(&dm->walked, &dm->lock, &until) == ETIMEDOUT)
            break;
    pthread_mutex_unlock(&dm->lock);
}

/* A walker stuck in the kernel ends once this process is gone (see the
 * header): stop waits for it at most REAP_MS. */
static void end_walker(pid_t pid)
{
    int fd = (int)syscall(SYS_pidfd_open, pid, 0);
    kill(pid, SIGKILL);
    if (fd >= 0) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        while (poll(&p, 1, REAP_MS) < 0 && errno == EINTR)
            ;
        close(fd);
    }
    if (waitpid(pid, NULL, WNOHANG) == 0)
        log_warn("dir moves: the walker (pid %ld) did not end; it will once the mount is gone",
                 (long)pid);
}

void dir_moves_stop(struct dir_moves *dm)
{
    if (!dm)
        return;
    pthread_mutex_lock(&dm->lock);
    dm->stop = true;
    pthread_cond_signal(&dm->work);
    pthread_cond_broadcast(&dm->walked);
    pthread_mutex_unlock(&dm->lock);
    pthread_join(dm->thread, NULL);
    close(dm->to_walker);
    close(dm->from_walker);
    end_walker(dm->walker);
    if (dm->dropped)
        log_info("dir moves: %llu old directory names not revalidated",
                 (unsigned long long)dm->dropped);
    pthread_cond_destroy(&dm->walked);
    pthread_cond_destroy(&dm->work);
    pthread_mutex_destroy(&dm->lock);
    free(dm);
}
