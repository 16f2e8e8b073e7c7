/* addr_space.c - RLIMIT_AS for unit tests (addr_space.h). */
#include "tests/unit/addr_space.h"

#include <errno.h>
#include <stdio.h>
#include <sys/resource.h>

/* The bytes this process maps now, or 0 if /proc cannot say. */
static unsigned long long mapped_now(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    unsigned long long kib = 0;
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "VmSize: %llu kB", &kib) == 1)
            break;
    if (f)
        fclose(f);
    return kib << 10;
}

int addr_space_limit(size_t headroom)
{
    unsigned long long now = mapped_now();
    if (!now)
        return -EIO;
    struct rlimit lim = {(rlim_t)(now + headroom), (rlim_t)(now + headroom)};
    return setrlimit(RLIMIT_AS, &lim) ? -errno : 0;
}
