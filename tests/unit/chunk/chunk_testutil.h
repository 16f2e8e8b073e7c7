/* chunk_testutil.h - temp dirs and deterministic chunks for the chunk tests. */
#ifndef QFS_TESTS_UNIT_CHUNK_TESTUTIL_H
#define QFS_TESTS_UNIT_CHUNK_TESTUTIL_H

#include "fs/chunk/chunk_store.h"

#include <stddef.h>
#include <stdint.h>

/* A new directory inside the run's scratch root (tests/unit/scratch.h: the
 * suite must run with scratch_run()). Aborts the test on failure. */
void tu_tempdir(char *path, size_t cap);
/* A test's scratch: a directory inside the run's root, TU_NBUFS chunk
 * buffers of CHUNK_MAX bytes each, and one to read back into. Its check
 * fixture: tcase_add_checked_fixture(tc, tu_setup, tu_teardown). */
#define TU_NBUFS 8
struct tu_scratch {
    char dir[96];
    uint8_t *bufs, *out;
};
extern struct tu_scratch tu;
void tu_setup(void);
void tu_teardown(void);

/* Fills buf with len pseudo-random bytes from seed and names the chunk. */
void tu_make_chunk(struct chunk_ref *c, uint8_t *buf, uint32_t len, uint64_t seed);

#endif
