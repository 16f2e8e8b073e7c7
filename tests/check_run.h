/*
 * check_run.h - the one way a libcheck test program runs its suite: every
 * test in a forked child (libcheck's default, so a crash fails one test, not
 * the program), normal verbosity, exit status 1 if any test failed.
 */
#ifndef QFS_TESTS_CHECK_RUN_H
#define QFS_TESTS_CHECK_RUN_H

#include <check.h>

static inline int check_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}

#endif
