#include "common/file_io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int file_pwrite_all(int fd, const void *buf, size_t n, uint64_t off)
{
    const uint8_t *p = buf;
    while (n) {
        ssize_t w = pwrite(fd, p, n, (off_t)off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w < 0 ? -errno : -EIO;
        p += w, n -= (size_t)w, off += (uint64_t)w;
    }
    return 0;
}

int file_pread_all(int fd, void *buf, size_t n, uint64_t off)
{
    uint8_t *p = buf;
    while (n) {
        ssize_t r = pread(fd, p, n, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) /* EOF: the file shrank under us */
            return r < 0 ? -errno : -EIO;
        p += r, n -= (size_t)r, off += (uint64_t)r;
    }
    return 0;
}

int file_zero_fill(int fd, uint64_t from, uint64_t to)
{
    static const uint8_t zeros[65536];
    for (uint64_t off = from; off < to;) {
        size_t n = to - off < sizeof(zeros) ? (size_t)(to - off) : sizeof(zeros);
        int rc = file_pwrite_all(fd, zeros, n, off);
        if (rc)
            return rc;
        off += n;
    }
    return 0;
}

int file_sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = fsync(fd) ? -errno : 0;
    close(fd);
    return rc;
}

int file_sync_parent(const char *path)
{
    char *dir = strdup(path);
    if (!dir)
        return -ENOMEM;
    char *slash = strrchr(dir, '/');
    if (!slash)
        strcpy(dir, ".");
    else if (slash == dir)
        dir[1] = '\0'; /* "/name": the root */
    else
        *slash = '\0';
    int rc = file_sync_dir(dir);
    free(dir);
    return rc;
}
