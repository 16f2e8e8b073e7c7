/* members_file.c - the member list a node's consensus state was built with
 * (DATA/members, docs/on-disk-meta.md "Member list"); see members.h. */
#include "fs/cluster/members.h"

#include "common/file_io.h"
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define MEMBERS_MAGIC "quorumfs-members"
#define MEMBERS_FILE  "members"

/* The file's text for m: a header line, then one ID per line in engine
 * index order. */
static size_t format_list(const struct members *m, char *buf, size_t cap)
{
    size_t n = (size_t)snprintf(buf, cap, MEMBERS_MAGIC " %d\n", MEMBERS_FILE_VERSION);
    for (uint32_t i = 0; i < m->n && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s\n", m->human[i]);
    return n;
}

static int write_list(const char *path, const char *text, size_t len)
{
    char tmp[PATH_MAX + 8];
    snprintf(tmp, sizeof(tmp), "%s.new", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    int rc = file_pwrite_all(fd, text, len, 0);
    if (!rc && fsync(fd) != 0)
        rc = -errno;
    close(fd);
    if (!rc && rename(tmp, path) != 0)
        rc = -errno;
    if (!rc)
        rc = file_sync_parent(path);
    if (rc)
        unlink(tmp);
    return rc;
}

/* Reads path into buf (NUL-terminated); -ENOENT when there is none. */
static int read_list(const char *path, char *buf, size_t cap, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t r = read(fd, buf, cap - 1);
    int rc = r < 0 ? -errno : 0;
    close(fd);
    if (rc)
        return rc;
    *len = (size_t)r;
    buf[*len] = '\0';
    return 0;
}

static int check_version(const char *path, const char *text)
{
    int v;
    if (sscanf(text, MEMBERS_MAGIC " %d\n", &v) != 1) {
        log_error("cluster: %s is not a quorumfs member list", path);
        return -EPROTO;
    }
    if (v != MEMBERS_FILE_VERSION) {
        log_error("cluster: %s has format version %d; this build reads %d", path, v,
                  MEMBERS_FILE_VERSION);
        return -EPROTO;
    }
    return 0;
}

int members_check_file(const struct members *m, const char *data_dir)
{
    char path[PATH_MAX], want[CONS_MAX_NODES * (NODE_ID_STR_LEN + 1) + 64];
    char have[sizeof(want) + 1];
    if (snprintf(path, sizeof(path), "%s/" MEMBERS_FILE, data_dir) >= (int)sizeof(path))
        return -ENAMETOOLONG;
    size_t wlen = format_list(m, want, sizeof(want)), hlen = 0;
    int rc = read_list(path, have, sizeof(have), &hlen);
    if (rc == -ENOENT) {
        rc = write_list(path, want, wlen);
        if (rc)
            log_error("cluster: cannot write %s: %s", path, strerror(-rc));
        return rc;
    }
    if (!rc)
        rc = check_version(path, have);
    if (rc) {
        if (rc != -EPROTO)
            log_error("cluster: cannot read %s: %s", path, strerror(-rc));
        return rc;
    }
    if (hlen == wlen && !memcmp(have, want, wlen))
        return 0;
    log_error("cluster: the config names other members than this node's consensus state was "
              "built with (%s). Membership changes are not supported: restore the peer lines "
              "(and node IDs) of every node's config. Built with:\n%sConfig now:\n%s",
              path, have, want);
    return -EINVAL;
}
