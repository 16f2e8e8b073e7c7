/*
 * conflicts_double.h - a test double of core_conflicts_list() for
 * test_control, until the conflicts branch puts the real one in fs/core.
 * It reports the records the test sets, which name real files of the test's
 * core, so that the control server's paths, ordering and node names are
 * checked. WHEN MERGING THE CONFLICTS BRANCH: delete this file, its .c and
 * the test that uses it (or make it create a real conflict through the core).
 */
#ifndef QFS_TESTS_STATUS_CONFLICTS_DOUBLE_H
#define QFS_TESTS_STATUS_CONFLICTS_DOUBLE_H

#include "fs/control/control_conflicts.h"

#include <stddef.h>

/* Records listed from now on (copied pointers: they must outlive the test). */
void conflicts_double_set(const struct core_conflict *records, size_t n);

#endif
