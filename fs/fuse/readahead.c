/* readahead.c - see readahead.h. */
#include "fs/fuse/readahead.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"

/* The "MAJ:MIN" of the mount at mountpoint (last match wins: the newest). */
static int mount_dev(const char *mountpoint, char *dev, size_t cap)
{
    FILE *f = fopen("/proc/self/mountinfo", "r");
    char line[8192], point[4096], d[64];
    int found = 0;

    if (!f)
        return -errno;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "%*s %*s %63s %*s %4095s", d, point) == 2 &&
            strcmp(point, mountpoint) == 0) {
            snprintf(dev, cap, "%s", d);
            found = 1;
        }
    fclose(f);
    return found ? 0 : -ENOENT;
}

int readahead_raise(const char *mountpoint, unsigned kib)
{
    char dev[64], path[128];
    int rc = mount_dev(mountpoint, dev, sizeof(dev));

    if (rc == 0) {
        snprintf(path, sizeof(path), "/sys/class/bdi/%s/read_ahead_kb", dev);
        FILE *f = fopen(path, "w");
        if (!f)
            rc = -errno;
        else if (fprintf(f, "%u\n", kib) < 0 || fclose(f) != 0)
            rc = -EIO;
    }
    if (rc < 0)
        log_debug("readahead of %s stays at the kernel default: %s", mountpoint, strerror(-rc));
    return rc;
}
