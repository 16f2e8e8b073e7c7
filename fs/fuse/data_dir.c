/* data_dir.c - see data_dir.h. */
#include "fs/fuse/data_dir.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"

static int default_dir(char *buf, size_t cap)
{
    const char *xdg = getenv("XDG_DATA_HOME");
    const char *home = getenv("HOME");
    int n;

    if (geteuid() == 0)
        n = snprintf(buf, cap, "/var/lib/quorumfs/default");
    else if (xdg && xdg[0] == '/')
        n = snprintf(buf, cap, "%s/quorumfs", xdg);
    else if (home && home[0] == '/')
        n = snprintf(buf, cap, "%s/.local/share/quorumfs", home);
    else
        return -ENOENT;
    return n > 0 && (size_t)n < cap ? 0 : -ENAMETOOLONG;
}

/* mkdir -p; the last component gets mode 0700 (node data is private). */
static int mkdir_parents(char *path)
{
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        int rc = mkdir(path, 0755);
        *p = '/';
        if (rc != 0 && errno != EEXIST)
            return -errno;
    }
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
        return -errno;
    return 0;
}

int data_dir_resolve(const char *given, char **out, bool *is_default)
{
    char path[PATH_MAX];
    int rc = 0;

    *is_default = given == NULL;
    if (given)
        rc = snprintf(path, sizeof(path), "%s", given) < (int)sizeof(path) ? 0 : -ENAMETOOLONG;
    else
        rc = default_dir(path, sizeof(path));
    if (rc == 0)
        rc = mkdir_parents(path);
    if (rc == 0 && !(*out = realpath(path, NULL)))
        rc = -errno;
    if (rc < 0)
        log_error("data directory %s: %s", given ? given : "(default)", strerror(-rc));
    return rc;
}
