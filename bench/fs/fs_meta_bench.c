/*
 * fs_meta_bench DIR N [BATCH [WORKERS]] - metadata speed: creates N empty
 * files (open O_CREAT + close), stats each, unlinks each, BATCH files at a
 * time (default N: passthrough_ll keeps a descriptor per live inode, and a
 * machine's descriptor limit may be lower than N). With WORKERS > 1, that
 * many processes split the N files, each in its own subdirectory of DIR
 * (a filesystem with group commit only shows it under concurrency).
 * Prints one line: create_per_s stat_per_s unlink_per_s total_ops_per_s,
 * where total = 3N operations over the whole run's wall time (the per-phase
 * rates are those of worker 0, times WORKERS).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int phase(const char *dir, int from, int n, int what)
{
    char path[4096];
    struct stat st;

    for (int i = from; i < from + n; i++) {
        snprintf(path, sizeof(path), "%s/f%07d", dir, i);
        int rc = 0;
        if (what == 0) {
            int fd = open(path, O_CREAT | O_WRONLY | O_EXCL, 0644);
            rc = fd < 0 ? -1 : close(fd);
        } else if (what == 1) {
            rc = stat(path, &st);
        } else {
            rc = unlink(path);
        }
        if (rc != 0) {
            perror(path);
            return -1;
        }
    }
    return 0;
}

/* One worker's run over n files; spent[] gets each phase's seconds. */
static int run(const char *dir, int n, int batch, double spent[3])
{
    for (int from = 0; from < n; from += batch) {
        int m = n - from < batch ? n - from : batch;
        for (int p = 0; p < 3; p++) {
            double t0 = now();
            if (phase(dir, from, m, p) != 0)
                return -1;
            spent[p] += now() - t0;
        }
    }
    return 0;
}

/* Forks workers 1..w-1 (each in DIR/wK); worker 0 runs here. */
static int run_workers(const char *dir, int n, int batch, int w, double spent[3])
{
    char sub[4096];
    int failed = 0;

    for (int k = 0; k < w; k++) {
        snprintf(sub, sizeof(sub), "%s/w%d", dir, k);
        if (mkdir(sub, 0755) != 0) {
            perror(sub);
            return -1;
        }
    }
    for (int k = 1; k < w; k++) {
        pid_t pid = fork();
        if (pid == 0) {
            double s[3] = {0, 0, 0};
            snprintf(sub, sizeof(sub), "%s/w%d", dir, k);
            _exit(run(sub, n / w, batch / w, s) == 0 ? 0 : 1);
        }
        if (pid < 0)
            return -1;
    }
    snprintf(sub, sizeof(sub), "%s/w0", dir);
    failed = run(sub, n / w, batch / w, spent) != 0;
    int status;
    while (wait(&status) > 0)
        failed |= !WIFEXITED(status) || WEXITSTATUS(status) != 0;
    return failed ? -1 : 0;
}

int main(int argc, char **argv)
{
    double spent[3] = {0, 0, 0}, start, total;

    if (argc < 3 || argc > 5) {
        fprintf(stderr, "usage: fs_meta_bench DIR N [BATCH [WORKERS]]\n");
        return 2;
    }
    int n = atoi(argv[2]);
    int batch = argc >= 4 ? atoi(argv[3]) : n;
    int w = argc == 5 ? atoi(argv[4]) : 1;
    if (n <= 0 || batch <= 0 || w <= 0 || batch < w)
        return 2;
    start = now();
    int rc = w == 1 ? run(argv[1], n, batch, spent) : run_workers(argv[1], n, batch, w, spent);
    if (rc != 0)
        return 1;
    total = now() - start;
    int per = n / w;
    printf("%.0f %.0f %.0f %.0f\n", per * w / spent[0], per * w / spent[1], per * w / spent[2],
           3.0 * per * w / total);
    return 0;
}
