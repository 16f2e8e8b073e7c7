#include "tests/net/file_store.h"

#include "common/sha256.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct file_store {
    int dirfd;
    const char *full_if;
    atomic_ulong tmp_seq; /* unique temporary names across threads */
    atomic_ulong pushed;  /* chunks reported by chunk_io.pushed */
};

static void remove_tmp(int dirfd)
{
    DIR *d = fdopendir(dup(dirfd));
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strncmp(e->d_name, ".tmp-", 5) == 0)
            unlinkat(dirfd, e->d_name, 0);
    closedir(d);
}

int file_store_open(const char *dir, struct file_store **out)
{
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return -errno;
    struct file_store *fs = calloc(1, sizeof(*fs));
    if (!fs)
        return -ENOMEM;
    fs->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fs->dirfd < 0) {
        int e = errno;
        free(fs);
        return -e;
    }
    remove_tmp(fs->dirfd);
    *out = fs;
    return 0;
}

void file_store_full_if(struct file_store *fs, const char *full_if)
{
    fs->full_if = full_if;
}

void file_store_close(struct file_store *fs)
{
    close(fs->dirfd);
    free(fs);
}

static int fs_has(void *ctx, const uint8_t hash[32])
{
    struct file_store *fs = ctx;
    char hex[SHA256_HEX_LEN + 1];
    sha256_hex(hash, hex);
    if (faccessat(fs->dirfd, hex, F_OK, 0) == 0)
        return 1;
    return errno == ENOENT ? 0 : -errno;
}

/* A scan of the directory: slow for big stores, enough for tests. */
static int fs_has_prefix(void *ctx, const uint8_t prefix[NET_HASH_PREFIX_LEN])
{
    struct file_store *fs = ctx;
    char hex[SHA256_HEX_LEN + 1];
    uint8_t full[32] = {0};
    memcpy(full, prefix, NET_HASH_PREFIX_LEN);
    sha256_hex(full, hex);
    /* Its own open directory, not a dup: threads must not share an offset. */
    int fd = openat(fs->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return -e;
    }
    int found = 0;
    struct dirent *e;
    while (!found && (e = readdir(d)))
        found = strlen(e->d_name) == SHA256_HEX_LEN &&
                strncmp(e->d_name, hex, 2 * NET_HASH_PREFIX_LEN) == 0;
    closedir(d);
    return found;
}

static int fs_get(void *ctx, const uint8_t hash[32], uint8_t *buf, size_t cap, uint32_t *len)
{
    struct file_store *fs = ctx;
    char hex[SHA256_HEX_LEN + 1];
    sha256_hex(hash, hex);
    int fd = openat(fs->dirfd, hex, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    int rc = fstat(fd, &st) < 0 ? -errno : (size_t)st.st_size > cap ? -ENOBUFS : 0;
    ssize_t n = rc == 0 ? pread(fd, buf, (size_t)st.st_size, 0) : 0;
    close(fd);
    if (rc < 0)
        return rc;
    if (n != st.st_size)
        return -EIO;
    uint8_t d[SHA256_LEN];
    if (sha256(buf, (size_t)n, d) < 0 || memcmp(d, hash, SHA256_LEN) != 0)
        return -EIO;
    *len = (uint32_t)n;
    return 0;
}

static int write_tmp(struct file_store *fs, const struct net_chunk *c, char *tmp, size_t tmplen)
{
    char hex[SHA256_HEX_LEN + 1];
    sha256_hex(c->hash, hex);
    snprintf(tmp, tmplen, ".tmp-%lu-%s", (unsigned long)atomic_fetch_add(&fs->tmp_seq, 1), hex);
    int fd = openat(fs->dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    ssize_t n = write(fd, c->data, c->len);
    int rc = n == (ssize_t)c->len ? 0 : n < 0 ? -errno : -EIO;
    close(fd);
    return rc;
}

static int fs_put_batch(void *ctx, const struct net_chunk *chunks, size_t n)
{
    struct file_store *fs = ctx;
    if (fs->full_if && access(fs->full_if, F_OK) == 0)
        return -ENOSPC;
    char(*tmp)[96] = calloc(n ? n : 1, sizeof(*tmp));
    if (!tmp)
        return -ENOMEM;
    int rc = 0;
    size_t w = 0;
    for (; w < n && rc == 0; w++)
        rc = fs_has(ctx, chunks[w].hash) == 1 ? (tmp[w][0] = 0, 0)
                                              : write_tmp(fs, &chunks[w], tmp[w], sizeof(tmp[w]));
    if (rc == 0 && syncfs(fs->dirfd) < 0)
        rc = -errno;
    for (size_t i = 0; i < w; i++) {
        char hex[SHA256_HEX_LEN + 1];
        sha256_hex(chunks[i].hash, hex);
        if (tmp[i][0] && (rc < 0 || renameat(fs->dirfd, tmp[i], fs->dirfd, hex) < 0)) {
            rc = rc < 0 ? rc : -errno;
            unlinkat(fs->dirfd, tmp[i], 0);
        }
    }
    if (rc == 0 && fsync(fs->dirfd) < 0)
        rc = -errno;
    free(tmp);
    return rc;
}

static void fs_pushed(void *ctx, const uint8_t (*hashes)[32], size_t n)
{
    struct file_store *fs = ctx;
    (void)hashes;
    atomic_fetch_add(&fs->pushed, n);
}

unsigned long file_store_pushed(struct file_store *fs)
{
    return atomic_load(&fs->pushed);
}

void file_store_io(struct file_store *fs, struct chunk_io *io)
{
    io->ctx = fs;
    io->has = fs_has;
    io->has_prefix = fs_has_prefix;
    io->get = fs_get;
    io->get_unverified = NULL; /* pushes read through get, which verifies */
    io->put_batch = fs_put_batch;
    io->pushed = fs_pushed;
}
