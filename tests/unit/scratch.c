#include "tests/unit/scratch.h"

#include "tests/check_run.h"

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Made by the parent before the tests; the forked children inherit it. */
static char root[PATH_MAX];

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0; /* on past what cannot go: the rest still should */
}

void scratch_rmrf(const char *path)
{
    nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int scratch_run(Suite *s)
{
    const char *base = getenv("TMPDIR");
    const char *name = program_invocation_short_name;
    if (strncmp(name, "test_", 5) == 0)
        name += 5; /* short: the tests' paths must fit their buffers */
    int n = snprintf(root, sizeof(root), "%s/qfs-%s-XXXXXX", base && *base ? base : "/tmp", name);
    if (n < 0 || (size_t)n >= sizeof(root) || !mkdtemp(root)) {
        fprintf(stderr, "scratch: cannot make %s: %s\n", root, strerror(errno));
        return 1;
    }
    /* A test's own fork() that returned from the test (CK_FORK=no) would
     * run the rest of the suite and come back here too: only the process
     * that made the root removes it. */
    pid_t owner = getpid();
    int rc = check_run(s);
    if (getpid() == owner)
        scratch_rmrf(root);
    root[0] = 0;
    return rc;
}

int scratch_mkdir(char *path, size_t cap, const char *tag)
{
    if (!root[0]) {
        fprintf(stderr, "scratch_mkdir: no root: main must run its suite with scratch_run()\n");
        errno = EINVAL;
        return -1;
    }
    int n = snprintf(path, cap, "%s/%s-XXXXXX", root, tag);
    if (n < 0 || (size_t)n >= cap) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return mkdtemp(path) ? 0 : -1;
}
