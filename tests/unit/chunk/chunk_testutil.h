/* chunk_testutil.h - temp dirs and deterministic chunks for the chunk tests. */
#ifndef QFS_TESTS_UNIT_CHUNK_TESTUTIL_H
#define QFS_TESTS_UNIT_CHUNK_TESTUTIL_H

#include "fs/chunk/chunk_store.h"

#include <stddef.h>
#include <stdint.h>

/* mkdtemp under TMPDIR (or /tmp); path must hold 64 bytes. Aborts the test on failure. */
void tu_tempdir(char *path, size_t cap);
/* rm -rf path. */
void tu_rmrf(const char *path);
/* Fills buf with len pseudo-random bytes from seed and names the chunk. */
void tu_make_chunk(struct chunk_ref *c, uint8_t *buf, uint32_t len, uint64_t seed);

#endif
