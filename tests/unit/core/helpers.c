#include "helpers.h"

#include "tests/unit/scratch.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

char *tmpdir_make(const char *tag)
{
    char *p = malloc(PATH_MAX);
    if (p && scratch_mkdir(p, PATH_MAX, tag) < 0) {
        free(p);
        return NULL;
    }
    return p;
}

void tmpdir_remove(char *path)
{
    if (!path)
        return;
    scratch_rmrf(path);
    free(path);
}

void fill_random(uint8_t *buf, size_t len, uint64_t seed)
{
    uint64_t x = seed * 2654435761u + 88172645463325252ull;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        buf[i] = (uint8_t)(x >> 24);
    }
}

int sanitized(void)
{
    const char *s = getenv("QFS_SANITIZED");
    return s && *s && strcmp(s, "0") != 0;
}
