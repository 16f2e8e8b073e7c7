/* helpers.h - temp directories and small fixtures shared by the core tests. */
#ifndef QFS_TESTS_UNIT_CORE_HELPERS_H
#define QFS_TESTS_UNIT_CORE_HELPERS_H

#include <stddef.h>
#include <stdint.h>

/* A new directory inside the run's scratch root (tests/unit/scratch.h: the
 * suite must run with scratch_run()); the path is malloc'ed, NULL on error. */
char *tmpdir_make(const char *tag);
/* rm -rf path, then free it. */
void tmpdir_remove(char *path);
/* Deterministic pseudo-random bytes (xorshift) from seed. */
void fill_random(uint8_t *buf, size_t len, uint64_t seed);
/* Heavy loops scale down under sanitizers (QFS_SANITIZED=1). */
int sanitized(void);

#endif
