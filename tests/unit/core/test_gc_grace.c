/* gc.h on its own: immediate deletion without a grace period, pins, and in
 * a cluster the grace period: a touched chunk is kept for it, an untouched
 * dead one goes only after it, whatever the length of the queue; the sweep
 * that finds chunks nothing ever referenced, and the chunks of failed
 * commits, deleted without waiting for it. */
#include "fs/core/gc.h"
#include "fs/store/meta_map.h"
#include "helpers.h"
#include "tests/unit/chunk/chunk_testutil.h"

#include "tests/unit/scratch.h"
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define N_MAX 5000 /* more than one call's share of a pass */

static char *dir;
static struct meta_store *ms;
static struct chunk_store *cs;
static struct gc *g;
static uint8_t hashes[N_MAX][SHA256_LEN];

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void pause_ms(long ms)
{
    struct timespec ts = {0, ms * 1000000};
    nanosleep(&ts, NULL);
}

static void adjust_refs(int n, int delta)
{
    MDB_txn *txn;
    ck_assert_int_eq(meta_txn_write(ms, &txn), 0);
    for (int i = 0; i < n; i++)
        ck_assert_int_eq(meta_ref_adjust(ms, txn, hashes[i], delta), 0);
    ck_assert_int_eq(mdb_txn_commit(txn), 0);
}

/* n small chunks stored (seed picks their bytes), nothing referencing them:
 * strays, which nothing queues. */
static void store_strays(int n, uint64_t seed)
{
    static uint8_t bufs[N_MAX][128];
    static struct chunk_ref c[N_MAX];
    for (int i = 0; i < n; i++) {
        tu_make_chunk(&c[i], bufs[i], sizeof(bufs[i]), seed + (uint64_t)i);
        memcpy(hashes[i], c[i].hash, SHA256_LEN);
    }
    ck_assert_int_eq(chunk_store_put_batch(cs, c, (size_t)n), 0);
}

/* n small chunks stored, referenced once, then dropped: all queued. */
static void queue_dead(int n)
{
    store_strays(n, 1);
    adjust_refs(n, 1);
    adjust_refs(n, -1);
}

static bool has(int i)
{
    int rc = chunk_store_has(cs, hashes[i]);
    ck_assert_int_ge(rc, 0);
    return rc == 1;
}

static void setup(void)
{
    char path[4096];
    dir = tmpdir_make("gc");
    ck_assert_ptr_nonnull(dir);
    snprintf(path, sizeof(path), "%s/meta", dir);
    ck_assert_int_eq(meta_store_open(path, &ms), 0);
    snprintf(path, sizeof(path), "%s/chunks", dir);
    ck_assert_int_eq(chunk_store_open(path, &cs), 0);
    ck_assert_int_eq(gc_open(ms, cs, &g), 0);
}

static void teardown(void)
{
    gc_close(g);
    chunk_store_close(cs);
    meta_store_close(ms);
    tmpdir_remove(dir);
}

START_TEST(no_grace_deletes_at_once)
{
    queue_dead(3);
    gc_touch(g, hashes[0]); /* no effect without a grace period */
    gc_collect(g);
    for (int i = 0; i < 3; i++)
        ck_assert(!has(i));
    ck_assert_uint_eq(gc_deleted(g), 3);
}
END_TEST

START_TEST(pinned_and_resurrected_kept)
{
    queue_dead(3);
    ck_assert_int_eq(gc_pin(g, hashes[0]), 0);
    adjust_refs(2, 1);  /* 0 and 1 referenced again */
    adjust_refs(1, -1); /* 0 dead again, but pinned */
    gc_collect(g);
    ck_assert(has(0));
    ck_assert(has(1));
    ck_assert(!has(2));
    gc_unpin(g, hashes[0]);
    gc_collect(g);
    ck_assert(!has(0));
    ck_assert(has(1));
}
END_TEST

/* Runs collections until chunk i is gone: the time that took from t0. */
static uint64_t collect_until_gone(int i, uint64_t t0)
{
    uint64_t deadline = now_ms() + 10000;
    while (has(i)) {
        ck_assert_msg(now_ms() < deadline, "chunk %d never collected", i);
        gc_collect(g);
        pause_ms(5);
    }
    return now_ms() - t0;
}

START_TEST(touched_kept_for_the_grace_period)
{
    const uint64_t grace = 800;
    queue_dead(2);
    gc_set_grace(g, grace);
    uint64_t t0 = now_ms();
    while (now_ms() - t0 < grace / 2) { /* both wait: neither is old enough */
        gc_collect(g);
        ck_assert(has(0) && has(1));
        pause_ms(5);
    }
    uint64_t t1 = now_ms();
    gc_touch(g, hashes[0]); /* a peer pushed chunk 0 again */
    ck_assert_uint_ge(collect_until_gone(1, t0), grace);
    if (now_ms() - t1 < grace)
        ck_assert(has(0)); /* the untouched one went; the touched one stays */
    ck_assert_uint_ge(collect_until_gone(0, t1), grace);
    ck_assert_uint_eq(gc_deleted(g), 2);
}
END_TEST

START_TEST(long_queue_walked_past_waiting_entries)
{
    int n = N_MAX;
    queue_dead(n);
    gc_set_grace(g, 200);
    gc_touch(g, hashes[n - 1]);
    uint64_t t0 = now_ms();
    gc_collect(g);
    ck_assert(has(0) && has(n / 2) && has(n - 1));
    for (int i = 0; i < n; i++)
        collect_until_gone(i, t0);
    ck_assert_uint_eq(gc_deleted(g), (uint64_t)n);
    ck_assert_uint_ge(now_ms() - t0, 200);
}
END_TEST

/* More strays than one slice of the sweep; one pinned (being written), one
 * referenced meanwhile (its commit applied): only the others go. */
START_TEST(strays_swept_without_grace)
{
    int n = N_MAX;
    store_strays(n, 7001);
    ck_assert_int_eq(gc_pin(g, hashes[0]), 0);
    adjust_refs(2, 1);  /* 0 and 1 referenced ... */
    adjust_refs(1, -1); /* ... and 0 dropped again: 1 stays referenced */
    uint64_t t0 = now_ms();
    for (int i = 2; i < n; i++)
        collect_until_gone(i, t0);
    ck_assert(has(0) && has(1));
    gc_unpin(g, hashes[0]);
    collect_until_gone(0, t0);
    ck_assert(has(1));
    ck_assert_uint_eq(gc_deleted(g), (uint64_t)n - 1);
}
END_TEST

/* A failed commit hands its chunks over (gc_unpin_unused): the next
 * collection deletes the unreferenced ones, with no sweep due; one another
 * writer still pins and one a commit referenced meanwhile stay. */
START_TEST(failed_commit_chunks_deleted_at_next_collection)
{
    gc_collect(g); /* the sweep at the first collection: the next is an hour away */
    store_strays(5, 9001);
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(gc_pin(g, hashes[i]), 0);
    ck_assert_int_eq(gc_pin(g, hashes[0]), 0); /* a second writer of chunk 0 */
    adjust_refs(2, 1);
    adjust_refs(1, -1); /* chunk 1 referenced */
    for (int i = 0; i < 5; i++)
        gc_unpin_unused(g, hashes[i]);
    gc_collect(g);
    ck_assert(has(0) && has(1));
    for (int i = 2; i < 5; i++)
        ck_assert(!has(i));
    ck_assert_uint_eq(gc_deleted(g), 3);
    gc_unpin(g, hashes[0]); /* queued though pinned: goes once unpinned */
    gc_collect(g);
    ck_assert(!has(0) && has(1));
    ck_assert_uint_eq(gc_deleted(g), 4);
}
END_TEST

/* In a cluster a stray is a pushed chunk whose commit may still come: it
 * waits a grace period after its last touch. */
START_TEST(stray_kept_for_the_grace_period)
{
    const uint64_t grace = 600;
    gc_set_grace(g, grace);
    store_strays(2, 7001);
    uint64_t t0 = now_ms();
    gc_touch(g, hashes[0]);
    gc_touch(g, hashes[1]);
    while (now_ms() - t0 < grace / 2) {
        gc_collect(g);
        ck_assert(has(0) && has(1));
        pause_ms(5);
    }
    ck_assert_uint_ge(collect_until_gone(0, t0), grace);
    ck_assert_uint_ge(collect_until_gone(1, t0), grace);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("gc_grace");
    TCase *tc = tcase_create("gc");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, no_grace_deletes_at_once);
    tcase_add_test(tc, pinned_and_resurrected_kept);
    tcase_add_test(tc, touched_kept_for_the_grace_period);
    tcase_add_test(tc, long_queue_walked_past_waiting_entries);
    tcase_add_test(tc, strays_swept_without_grace);
    tcase_add_test(tc, stray_kept_for_the_grace_period);
    tcase_add_test(tc, failed_commit_chunks_deleted_at_next_collection);
    suite_add_tcase(s, tc);
    return scratch_run(s);
}
