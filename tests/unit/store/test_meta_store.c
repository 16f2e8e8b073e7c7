/*
 * Opening the metadata store (fs/store/meta_store.h) where the address space
 * is limited: its 1 TiB map is only virtual, and when a `ulimit -v` (or a
 * sanitizer's layout) refuses it, the store opens with a smaller one.
 *
 * The limit is set in a child process of its own, so that the other tests
 * and the libcheck runner keep their address space.
 */
#include "fs/store/meta_store.h"

#include "tests/unit/addr_space.h"
#include "tests/unit/scratch.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define LIMIT_EXTRA ((size_t)4 << 30) /* room beyond what the process maps now */

static char dir[64];

static void setup(void)
{
    ck_assert_int_eq(scratch_mkdir(dir, sizeof(dir), "open"), 0);
}

/* In the child: opens, writes a counter, closes, opens again and reads it. */
static int open_write_reopen(void)
{
    struct meta_store *ms;
    MDB_txn *txn;
    uint64_t v = 0;
    if (meta_store_open(dir, &ms) || meta_txn_write(ms, &txn) ||
        meta_counter_put(ms, txn, "k", 42) || meta_commit(ms, txn))
        return 1;
    meta_store_close(ms);
    if (meta_store_open(dir, &ms) || meta_txn_read(ms, &txn) || meta_counter_get(ms, txn, "k", &v))
        return 2;
    mdb_txn_abort(txn);
    meta_store_close(ms);
    return v == 42 ? 0 : 3;
}

START_TEST(opens_when_1tib_is_refused)
{
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    /* Their shadow memory needs terabytes of address space: no limit fits. */
    return;
#endif
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        _exit(addr_space_limit(LIMIT_EXTRA) ? 4 : open_write_reopen());
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status), "the child died (signal %d)", WTERMSIG(status));
    ck_assert_int_eq(WEXITSTATUS(status), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("meta_store");
    TCase *tc = tcase_create("open");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, opens_when_1tib_is_refused);
    suite_add_tcase(s, tc);
    return scratch_run(s);
}
