#include "tests/unit/chunk/chunk_testutil.h"

#include "fs/chunk/chunker.h"
#include "tests/unit/scratch.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

void tu_tempdir(char *path, size_t cap)
{
    ck_assert_msg(scratch_mkdir(path, cap, "chunk") == 0, "scratch dir: %s", strerror(errno));
}

struct tu_scratch tu;

void tu_setup(void)
{
    tu_tempdir(tu.dir, sizeof(tu.dir));
    tu.bufs = malloc((size_t)TU_NBUFS * CHUNK_MAX);
    tu.out = malloc(CHUNK_MAX);
    ck_assert(tu.bufs && tu.out);
}

void tu_teardown(void)
{
    scratch_rmrf(tu.dir);
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
