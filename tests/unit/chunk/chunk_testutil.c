#include "tests/unit/chunk/chunk_testutil.h"

#include "fs/chunk/chunker.h"

#include <check.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

void tu_tempdir(char *path, size_t cap)
{
    const char *t = getenv("TMPDIR");
    snprintf(path, cap, "%s/qfs-chunk-XXXXXX", t && *t ? t : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(path));
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(p);
}

void tu_rmrf(const char *path)
{
    nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

struct tu_scratch tu;

void tu_root_setup(void)
{
    tu_tempdir(tu.root, sizeof(tu.root));
}

void tu_root_teardown(void)
{
    tu_rmrf(tu.root);
}

void tu_setup(void)
{
    snprintf(tu.dir, sizeof(tu.dir), "%s/t-XXXXXX", tu.root);
    ck_assert_ptr_nonnull(mkdtemp(tu.dir));
    tu.bufs = malloc((size_t)TU_NBUFS * CHUNK_MAX);
    tu.out = malloc(CHUNK_MAX);
    ck_assert(tu.bufs && tu.out);
}

void tu_teardown(void)
{
    tu_rmrf(tu.dir);
    free(tu.bufs);
    free(tu.out);
}

void tu_make_chunk(struct chunk_ref *c, uint8_t *buf, uint32_t len, uint64_t seed)
{
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
    for (uint32_t i = 0; i < len; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        buf[i] = (uint8_t)(s >> 24);
    }
    ck_assert_int_eq(sha256(buf, len, c->hash), 0);
    c->data = buf;
    c->len = len;
}
