/*
 * addr_space.h - for unit tests that run code under a limited address space
 * (RLIMIT_AS), as a `ulimit -v` limits the daemon. Call it only in a child
 * process of its own: the limit cannot be raised again, and the other tests
 * and libcheck's runner must keep theirs. Sanitizer builds cannot run under
 * such a limit (their shadow memory takes terabytes of address space).
 */
#ifndef QFS_TESTS_UNIT_ADDR_SPACE_H
#define QFS_TESTS_UNIT_ADDR_SPACE_H

#include <stddef.h>

/* Limits this process's address space to what it maps now (VmSize) plus
 * headroom bytes. 0, or -errno (-EIO when VmSize cannot be read). */
int addr_space_limit(size_t headroom);

#endif
