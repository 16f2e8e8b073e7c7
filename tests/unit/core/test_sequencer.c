/* The sequencer's after hook on request (sequencer_run_after): it runs on
 * the apply thread with nothing to apply, once per call, and the call
 * returns only when that run is over. */
#include "fs/core/sequencer.h"

#include "helpers.h"
#include "tests/unit/scratch.h"

#include <stdio.h>
#include <stdlib.h>

static char *dir;
static struct meta_store *ms;
static struct sequencer *seq;
static int runs; /* written by the apply thread only */

static void count_run(void *ctx)
{
    (void)ctx;
    __atomic_add_fetch(&runs, 1, __ATOMIC_RELEASE);
}

static void setup(void)
{
    char path[4096];
    dir = tmpdir_make("seq");
    ck_assert_ptr_nonnull(dir);
    snprintf(path, sizeof(path), "%s/meta", dir);
    ck_assert_int_eq(meta_store_open(path, &ms), 0);
    snprintf(path, sizeof(path), "%s/meta/cmd.log", dir);
    ck_assert_int_eq(sequencer_start(ms, path, count_run, NULL, &seq), 0);
}

static void teardown(void)
{
    sequencer_stop(seq);
    meta_store_close(ms);
    tmpdir_remove(dir);
}

START_TEST(run_after_runs_the_hook_when_idle)
{
    ck_assert_int_eq(__atomic_load_n(&runs, __ATOMIC_ACQUIRE), 0); /* nothing applied */
    for (int i = 1; i <= 3; i++) {
        ck_assert_int_eq(sequencer_run_after(seq), 0);
        ck_assert_int_eq(__atomic_load_n(&runs, __ATOMIC_ACQUIRE), i);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sequencer");
    TCase *tc = tcase_create("after");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, run_after_runs_the_hook_when_idle);
    suite_add_tcase(s, tc);
    return scratch_run(s);
}
