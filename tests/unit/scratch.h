/*
 * scratch.h - the unit tests' scratch directories, gone even when a test fails.
 *
 * libcheck runs a checked fixture's teardown in the forked child after the
 * test, and a failed assertion or a crash ends that child first: a teardown
 * alone leaves its directory behind. So the parent makes one root per test
 * binary (scratch_run), every test's directory goes inside it
 * (scratch_mkdir), and the parent removes the whole root after the run,
 * whatever the tests did. With CK_FORK=no a failed assertion still returns
 * to the run, which removes the root; a crash there ends the program first.
 */
#ifndef QFS_TESTS_UNIT_SCRATCH_H
#define QFS_TESTS_UNIT_SCRATCH_H

#include <check.h>
#include <stddef.h>

/* Runs s as check_run() does, inside a fresh root $TMPDIR/qfs-NAME-XXXXXX
 * (TMPDIR unset: /tmp; NAME: the program's name without "test_"), which it
 * then removes. Returns check_run()'s status, or 1 if the root cannot be
 * made. */
int scratch_run(Suite *s);
/* Makes ROOT/TAG-XXXXXX into path (cap bytes). 0, or -1 with errno set:
 * ENAMETOOLONG, EINVAL outside scratch_run(), or mkdtemp()'s. */
int scratch_mkdir(char *path, size_t cap, const char *tag);
/* rm -rf path, following no symbolic links; removes what it can. */
void scratch_rmrf(const char *path);

#endif
