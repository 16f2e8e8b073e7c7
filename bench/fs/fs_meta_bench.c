/*
 * fs_meta_bench DIR N - metadata speed: creates N empty files in DIR (open
 * O_CREAT + close), stats each, unlinks each. Prints one line:
 *   create_per_s stat_per_s unlink_per_s total_ops_per_s
 * where total = 3N operations over the whole run's wall time.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int phase(const char *dir, int n, int what)
{
    char path[4096];
    struct stat st;

    for (int i = 0; i < n; i++) {
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

int main(int argc, char **argv)
{
    double t[4];

    if (argc != 3) {
        fprintf(stderr, "usage: fs_meta_bench DIR N\n");
        return 2;
    }
    int n = atoi(argv[2]);
    if (n <= 0)
        return 2;
    t[0] = now();
    for (int p = 0; p < 3; p++) {
        if (phase(argv[1], n, p) != 0)
            return 1;
        t[p + 1] = now();
    }
    printf("%.0f %.0f %.0f %.0f\n", n / (t[1] - t[0]), n / (t[2] - t[1]), n / (t[3] - t[2]),
           3.0 * n / (t[3] - t[0]));
    return 0;
}
