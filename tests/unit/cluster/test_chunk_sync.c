/* fs/cluster/chunk_sync.h through a fake pull (a peer's chunks in memory),
 * and fs/cluster/chunk_io_store.h with the GC it protects chunks from. */
#include "fs/cluster/chunk_io_store.h"
#include "fs/cluster/chunk_sync.h"
#include "fs/core/gc.h"
#include "fs/store/meta_map.h"
#include "tests/unit/chunk/chunk_testutil.h"

#include "tests/unit/scratch.h"
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define N_CHUNKS  20
#define CHUNK_LEN 3000

static char dir[64];
static struct meta_store *ms;
static struct chunk_store *cs;
static struct chunk_sync *sync_;
static uint8_t bufs[N_CHUNKS][CHUNK_LEN];
static struct chunk_ref chunks[N_CHUNKS]; /* all at the peer */

static struct {
    pthread_mutex_t lock; /* guards the fields below */
    int fail_next;        /* calls still to fail with -ENOTCONN */
    int calls;
    size_t asked, asked_present; /* hashes asked for; of those, already here */
    bool gone[N_CHUNKS];         /* collected at the peer: never sent */
    bool pushed[N_CHUNKS];       /* a push stores it while the pull runs: not sent by it */
} peer = {.lock = PTHREAD_MUTEX_INITIALIZER};

static long fake_pull(void *ctx, const uint8_t (*h)[32], size_t n, int timeout_ms,
                      struct repl_fetched *got)
{
    (void)ctx;
    (void)timeout_ms;
    pthread_mutex_lock(&peer.lock);
    peer.calls++;
    long rc = 0;
    if (peer.fail_next > 0) {
        peer.fail_next--;
        rc = -ENOTCONN;
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        peer.asked++;
        if (chunk_store_has(cs, h[i]) == 1) { /* repl_pull skips it */
            peer.asked_present++;
            continue;
        }
        int j = 0;
        while (j < N_CHUNKS && memcmp(chunks[j].hash, h[i], 32) != 0)
            j++;
        if (j == N_CHUNKS || peer.gone[j] || chunk_store_put_batch(cs, &chunks[j], 1)) {
            rc++; /* stays missing */
        } else if (!peer.pushed[j]) {
            got->chunks++;
            got->bytes += chunks[j].len;
        }
    }
    pthread_mutex_unlock(&peer.lock);
    return rc;
}

/* What cfg.pushing answers for origin 2, and how often it was asked. */
static struct {
    pthread_mutex_t lock; /* guards the fields below */
    bool active;
    int asked;
    int given_up;
} push = {.lock = PTHREAD_MUTEX_INITIALIZER};

static bool fake_pushing(void *ctx, uint64_t origin)
{
    (void)ctx;
    pthread_mutex_lock(&push.lock);
    push.asked++;
    bool active = push.active && origin == 2;
    pthread_mutex_unlock(&push.lock);
    return active;
}

static void set_pushing(bool active)
{
    pthread_mutex_lock(&push.lock);
    push.active = active;
    pthread_mutex_unlock(&push.lock);
}

/* Chunks [0, push.given_up) are those a peer said it will not push here. */
static bool fake_given_up(void *ctx, const uint8_t hash[32])
{
    (void)ctx;
    pthread_mutex_lock(&push.lock);
    bool gone = false;
    for (int i = 0; i < push.given_up && !gone; i++)
        gone = memcmp(chunks[i].hash, hash, 32) == 0;
    pthread_mutex_unlock(&push.lock);
    return gone;
}

static void set_given_up(int n)
{
    pthread_mutex_lock(&push.lock);
    push.given_up = n;
    pthread_mutex_unlock(&push.lock);
}

static int push_asked(void)
{
    pthread_mutex_lock(&push.lock);
    int n = push.asked;
    pthread_mutex_unlock(&push.lock);
    return n;
}

static int pull_calls(void)
{
    pthread_mutex_lock(&peer.lock);
    int n = peer.calls;
    pthread_mutex_unlock(&peer.lock);
    return n;
}

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

static struct chunk_sync_stats stats(void)
{
    struct chunk_sync_stats st;
    chunk_sync_get_stats(sync_, &st);
    return st;
}

/* Polls until the worker has nothing left to do (and did at least
 * min_scans scans). */
static void wait_idle(uint64_t min_scans)
{
    uint64_t deadline = now_ms() + 10000;
    while (!chunk_sync_idle(sync_) || stats().scans < min_scans) {
        ck_assert_msg(now_ms() < deadline, "chunk sync never idle");
        pause_ms(2);
    }
}

/* self: this node's origin, or -1 to note every command. */
static void make_sync_capped(size_t queue_cap, int64_t self, size_t retry_cap)
{
    struct chunk_sync_config cfg = {.ms = ms,
                                    .cs = cs,
                                    .pull = fake_pull,
                                    .skip_self = self >= 0,
                                    .self_origin = self >= 0 ? (uint64_t)self : 0,
                                    .queue_cap = queue_cap,
                                    .retry_cap = retry_cap,
                                    .backoff_min_ms = 5,
                                    .backoff_max_ms = 20,
                                    .rescan_delay_ms = 10};
    ck_assert_int_eq(chunk_sync_create(&cfg, &sync_), 0);
}

static void make_sync(size_t queue_cap, int64_t self)
{
    make_sync_capped(queue_cap, self, 0);
}

static void setup(void)
{
    char path[128];
    tu_tempdir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/meta", dir);
    ck_assert_int_eq(meta_store_open(path, &ms), 0);
    snprintf(path, sizeof(path), "%s/chunks", dir);
    ck_assert_int_eq(chunk_store_open(path, &cs), 0);
    for (int i = 0; i < N_CHUNKS; i++)
        tu_make_chunk(&chunks[i], bufs[i], CHUNK_LEN - (uint32_t)i, (uint64_t)i + 100);
    peer.fail_next = peer.calls = 0;
    peer.asked = peer.asked_present = 0;
    memset(peer.gone, 0, sizeof(peer.gone));
    memset(peer.pushed, 0, sizeof(peer.pushed));
    sync_ = NULL;
}

static void teardown(void)
{
    chunk_sync_destroy(sync_);
    chunk_store_close(cs);
    meta_store_close(ms);
    scratch_rmrf(dir);
}

/* A content command from origin whose extents are chunks [from, to). */
static struct cmd content_cmd(uint8_t *raw, int from, int to, uint64_t origin)
{
    struct cmd c = {.op = CMD_CONTENT, .origin = origin, .ino = 5};
    for (int i = from; i < to; i++) {
        struct meta_extent e = {.off = (uint64_t)i * CHUNK_LEN, .coff = 0, .len = chunks[i].len};
        memcpy(e.hash, chunks[i].hash, 32);
        cmd_extent_put(raw, (uint32_t)(i - from), &e);
    }
    c.n_ext = (uint32_t)(to - from);
    c.extents = raw;
    return c;
}

/* What applying commands would do to the reference counts. */
static void adjust_refs(int from, int to, int delta)
{
    MDB_txn *txn;
    ck_assert_int_eq(meta_txn_write(ms, &txn), 0);
    for (int i = from; i < to; i++)
        ck_assert_int_eq(meta_ref_adjust(ms, txn, chunks[i].hash, delta), 0);
    ck_assert_int_eq(mdb_txn_commit(txn), 0);
}

static void reference(int from, int to)
{
    adjust_refs(from, to, 1);
}

/* A started chunk sync that asks fake_pushing, and defers at most
 * defer_max_ms; chunks [0, N_CHUNKS) referenced and noted from origin 2. */
static void note_while_pushing(uint8_t *raw, int defer_max_ms)
{
    struct chunk_sync_config cfg = {.ms = ms,
                                    .cs = cs,
                                    .pull = fake_pull,
                                    .pushing = fake_pushing,
                                    .given_up = fake_given_up,
                                    .defer_check_ms = 5,
                                    .defer_max_ms = defer_max_ms,
                                    .backoff_min_ms = 5,
                                    .backoff_max_ms = 20,
                                    .rescan_delay_ms = 10};
    ck_assert_int_eq(chunk_sync_create(&cfg, &sync_), 0);
    ck_assert_int_eq(chunk_sync_start(sync_), 0);
    wait_idle(1);
    reference(0, N_CHUNKS);
    struct cmd c = content_cmd(raw, 0, N_CHUNKS, 2);
    chunk_sync_note(sync_, &c);
}

/* Waits until fake_pushing was asked n more times than at asked0. */
static void wait_push_asked(int asked0, int n)
{
    uint64_t deadline = now_ms() + 10000;
    while (push_asked() < asked0 + n) {
        ck_assert_msg(now_ms() < deadline, "never asked whether the origin pushes");
        pause_ms(2);
    }
}

static void set_unreachable(bool down)
{
    pthread_mutex_lock(&peer.lock);
    peer.fail_next = down ? INT_MAX : 0;
    pthread_mutex_unlock(&peer.lock);
}

static void wait_failures(uint64_t n)
{
    uint64_t deadline = now_ms() + 10000;
    while (stats().pull_failures < n) {
        ck_assert_msg(now_ms() < deadline, "no retries");
        pause_ms(2);
    }
}

/* Notes a remote commit of chunks [0, n) while the peers are unreachable,
 * then waits for that many failed pulls of them. raw: room for n extents. */
static void note_unreachable(uint8_t *raw, int n, uint64_t failures)
{
    make_sync(0, -1);
    ck_assert_int_eq(chunk_sync_start(sync_), 0);
    wait_idle(1);
    set_unreachable(true);
    reference(0, n);
    struct cmd c = content_cmd(raw, 0, n, 2);
    chunk_sync_note(sync_, &c);
    wait_failures(failures);
}

static int present(int from, int to)
{
    int n = 0;
    for (int i = from; i < to; i++)
        n += chunk_store_has(cs, chunks[i].hash) == 1;
    return n;
}

static uint64_t sum_len(int from, int to)
{
    uint64_t bytes = 0;
    for (int i = from; i < to; i++)
        bytes += chunks[i].len;
    return bytes;
}

START_TEST(noted_chunks_pulled)
{
    uint8_t raw[N_CHUNKS * CMD_EXTENT_LEN];
    make_sync(0, -1);
    ck_assert_int_eq(chunk_sync_start(sync_), 0);
    wait_idle(1);
    ck_assert_int_eq(chunk_store_put_batch(cs, &chunks[0], 1), 0); /* one pushed already */
    reference(0, N_CHUNKS);
    struct cmd c = content_cmd(raw, 0, N_CHUNKS, 2);
    chunk_sync_note(sync_, &c);
    wait_idle(1);
    ck_assert_int_eq(present(0, N_CHUNKS), N_CHUNKS);
    struct chunk_sync_stats st = stats();
    ck_assert_uint_eq(st.fetched_chunks, N_CHUNKS - 1);
    ck_assert_uint_eq(st.fetched_bytes, sum_len(1, N_CHUNKS));
    ck_assert_uint_eq(st.missing_chunks, 0);
    ck_assert_uint_eq(peer.asked_present, 0); /* the pushed one was not asked for */
}
END_TEST

/* While the command's origin pushes, its chunks are waited for, not pulled:
 * what the push delivers never travels twice. */
START_TEST(pushed_chunks_not_pulled)
{
    uint8_t raw[N_CHUNKS * CMD_EXTENT_LEN];
    set_pushing(true);
    note_while_pushing(raw, 10000);
    wait_push_asked(0, 3); /* the noted batch, then two checks of the deferred ones */
    ck_assert_int_eq(pull_calls(), 0);
    ck_assert_uint_eq(stats().missing_chunks, N_CHUNKS);
    ck_assert_int_eq(chunk_store_put_batch(cs, chunks, N_CHUNKS / 2), 0); /* the push */
    wait_push_asked(push_asked(), 2);
    ck_assert_int_eq(pull_calls(), 0);
    ck_assert_int_eq(chunk_store_put_batch(cs, chunks + N_CHUNKS / 2, N_CHUNKS / 2), 0);
    wait_idle(1);
    ck_assert_int_eq(pull_calls(), 0);
    ck_assert_uint_eq(stats().fetched_chunks, 0);
    set_pushing(false);
}
END_TEST

/* Once the push goes quiet, what it did not bring is pulled. */
START_TEST(pulled_when_push_goes_quiet)
{
    uint8_t raw[N_CHUNKS * CMD_EXTENT_LEN];
    set_pushing(true);
    note_while_pushing(raw, 10000);
    wait_push_asked(0, 2);
    ck_assert_int_eq(chunk_store_put_batch(cs, chunks, 5), 0);
    ck_assert_int_eq(pull_calls(), 0);
    set_pushing(false);
    wait_idle(1);
    ck_assert_int_eq(present(0, N_CHUNKS), N_CHUNKS);
    ck_assert_uint_eq(stats().fetched_chunks, N_CHUNKS - 5);
}
END_TEST

/* A peer that gave up pushing some chunks here (it dropped their job to
 * start newer ones, and keeps pushing those) gets them pulled at once; the
 * rest still wait for the push. */
START_TEST(given_up_chunks_pulled_while_pushing)
{
    uint8_t raw[N_CHUNKS * CMD_EXTENT_LEN];
    set_pushing(true);
    set_given_up(3);
    note_while_pushing(raw, 10000);
    uint64_t deadline = now_ms() + 10000;
    while (present(0, 3) < 3) {
        ck_assert_msg(now_ms() < deadline, "the chunks given up were never pulled");
        pause_ms(2);
    }
    ck_assert_uint_eq(stats().fetched_chunks, 3);
    wait_push_asked(push_asked(), 2); /* two more checks: the others still wait */
    ck_assert_int_eq(present(3, N_CHUNKS), 0);
    ck_assert_int_eq(chunk_store_put_batch(cs, chunks + 3, N_CHUNKS - 3), 0); /* the push */
    wait_idle(1);
    ck_assert_uint_eq(stats().fetched_chunks, 3);
    set_given_up(0);
    set_pushing(false);
}
END_TEST

/* A push that never brings them (lost, or the origin pushes other files
 * for ever) delays the pull by defer_max_ms at most. */
START_TEST(pulled_after_defer_max)
{
    uint8_t raw[N_CHUNKS * CMD_EXTENT_LEN];
    set_pushing(true);
    uint64_t t0 = now_ms();
    note_while_pushing(raw, 200);
    wait_idle(1);
    ck_assert_uint_ge(now_ms() - t0, 200);
    ck_assert_int_eq(present(0, N_CHUNKS), N_CHUNKS);
    ck_assert_uint_eq(stats().fetched_chunks, N_CHUNKS);
    set_pushing(false);
}
END_TEST

START_TEST(retried_until_peers_answer)
{
    uint8_t raw[5 * CMD_EXTENT_LEN];
    note_unreachable(raw, 5, 3);
    struct chunk_sync_stats st = stats();
    ck_assert_uint_eq(st.missing_chunks, 5);
    ck_assert_uint_eq(st.missing_bytes, sum_len(0, 5));
    ck_assert(!chunk_sync_idle(sync_));
    ck_assert_int_eq(present(0, 5), 0);
    set_unreachable(false); /* the partition heals */
    wait_idle(1);
    ck_assert_int_eq(present(0, 5), 5);
    ck_assert_uint_eq(stats().fetched_chunks, 5);
}
END_TEST

/* A slow peer applies a commit before the writer's push has delivered its
 * chunks, and some of what it pulls arrives by that push meanwhile. Only
 * what the pull itself received is fetched. */
START_TEST(pushed_while_pulling_not_fetched)
{
    uint8_t raw[10 * CMD_EXTENT_LEN];
    make_sync(0, -1);
    ck_assert_int_eq(chunk_sync_start(sync_), 0);
    wait_idle(1);
    pthread_mutex_lock(&peer.lock);
    for (int i = 0; i < 7; i++)
        peer.pushed[i] = true;
    pthread_mutex_unlock(&peer.lock);
    reference(0, 10);
    struct cmd c = content_cmd(raw, 0, 10, 2);
    chunk_sync_note(sync_, &c);
    wait_idle(1);
    ck_assert_int_eq(present(0, 10), 10);
    struct chunk_sync_stats st = stats();
    ck_assert_uint_eq(st.fetched_chunks, 3);
    ck_assert_uint_eq(st.fetched_bytes, sum_len(7, 10));
}
END_TEST

/* Chunks waiting for a retry that a push stores meanwhile leave the retry
 * list without counting as fetched. */
START_TEST(pushed_while_retrying_not_fetched)
{
    uint8_t raw[5 * CMD_EXTENT_LEN];
    note_unreachable(raw, 5, 2);
    ck_assert_int_eq(chunk_store_put_batch(cs, &chunks[0], 3), 0); /* the push gets through */
    set_unreachable(false);
    wait_idle(1);
    ck_assert_int_eq(present(0, 5), 5);
    struct chunk_sync_stats st = stats();
    ck_assert_uint_eq(st.fetched_chunks, 2);
    ck_assert_uint_eq(st.fetched_bytes, sum_len(3, 5));
}
END_TEST

START_TEST(startup_scan_finds_missing)
{
    reference(0, 10);
    for (int i = 0; i < 4; i++) /* stored before the restart */
        ck_assert_int_eq(chunk_store_put_batch(cs, &chunks[i], 1), 0);
    make_sync(0, -1);
    ck_assert(stats().scanning == false);
    ck_assert_int_eq(chunk_sync_start(sync_), 0);
    wait_idle(1);
    ck_assert_int_eq(present(0, 10), 10);
    ck_assert_int_eq(present(10, N_CHUNKS), 0); /* unreferenced: not pulled */
    ck_assert_uint_eq(peer.asked, 6);
    ck_assert_uint_eq(peer.asked_present, 0);
    ck_assert_uint_eq(stats().fetched_chunks, 6);
}
END_TEST

START_TEST(overflow_falls_back_to_rescan)
{
    uint8_t raw[N_CHUNKS * CMD_EXTENT_LEN];
    make_sync(4, -1);
    ck_assert_int_eq(chunk_sync_start(sync_), 0);
    wait_idle(1);
    reference(0, N_CHUNKS);
    struct cmd c = content_cmd(raw, 0, N_CHUNKS, 2);
    chunk_sync_note(sync_, &c); /* 4 queued, the rest dropped */
    ck_assert(stats().scanning);
    wait_idle(2);
    ck_assert_int_eq(present(0, N_CHUNKS), N_CHUNKS);
}
END_TEST

/* A file deleted while its chunks could not be pulled: the peers collect
 * them, so they leave the retry list instead of holding it for ever. */
START_TEST(unreferenced_chunks_dropped)
{
    uint8_t raw[5 * CMD_EXTENT_LEN];
    note_unreachable(raw, 5, 2);
    ck_assert_uint_eq(stats().missing_chunks, 5);
    adjust_refs(0, 3, -1); /* the file that held 0..2 is deleted */
    pthread_mutex_lock(&peer.lock);
    for (int i = 0; i < 3; i++)
        peer.gone[i] = true;
    pthread_mutex_unlock(&peer.lock);
    set_unreachable(false);
    wait_idle(1);
    ck_assert_int_eq(present(0, 3), 0);
    ck_assert_int_eq(present(3, 5), 2);
    struct chunk_sync_stats st = stats();
    ck_assert_uint_eq(st.dropped, 3);
    ck_assert_uint_eq(st.missing_chunks, 0);
    ck_assert_uint_eq(st.fetched_chunks, 2);
}
END_TEST

/* The retry list full of chunks deleted since: the scan it paused resumes
 * and pulls the live ones (slow-link's long run never got in sync). */
START_TEST(full_retry_list_of_deleted_chunks_drains)
{
    uint8_t raw[N_CHUNKS * CMD_EXTENT_LEN];
    make_sync_capped(0, -1, 4);
    ck_assert_int_eq(chunk_sync_start(sync_), 0);
    wait_idle(1);
    set_unreachable(true);
    reference(0, N_CHUNKS);
    struct cmd c = content_cmd(raw, 0, N_CHUNKS, 2);
    chunk_sync_note(sync_, &c); /* 0..3 fill the retry list, the rest wait for a rescan */
    wait_failures(2);
    ck_assert_uint_eq(stats().missing_chunks, 4);
    adjust_refs(0, 4, -1);
    pthread_mutex_lock(&peer.lock);
    for (int i = 0; i < 4; i++)
        peer.gone[i] = true;
    pthread_mutex_unlock(&peer.lock);
    set_unreachable(false);
    wait_idle(2);
    ck_assert_int_eq(present(0, 4), 0);
    ck_assert_int_eq(present(4, N_CHUNKS), N_CHUNKS - 4);
    ck_assert_uint_eq(stats().dropped, 4);
}
END_TEST

START_TEST(only_remote_content_noted)
{
    uint8_t raw[3 * CMD_EXTENT_LEN];
    make_sync(0, 0); /* no worker: the queue stays as noted */
    struct cmd c = content_cmd(raw, 0, 3, 0);
    chunk_sync_note(sync_, &c);
    ck_assert_uint_eq(stats().queued, 0); /* our own commit (origin 0): pushed from here */
    c.op = CMD_SETATTR;
    c.origin = 2;
    chunk_sync_note(sync_, &c);
    ck_assert_uint_eq(stats().queued, 0);
    c.op = CMD_CONTENT;
    chunk_sync_note(sync_, &c);
    ck_assert_uint_eq(stats().queued, 3);
    struct meta_extent e = {.off = 0, .len = 100}; /* a run of one chunk: queued once */
    memcpy(e.hash, chunks[9].hash, 32);
    for (uint32_t i = 0; i < 3; i++, e.off += 100)
        cmd_extent_put(raw, i, &e);
    chunk_sync_note(sync_, &c);
    ck_assert_uint_eq(stats().queued, 4);
}
END_TEST

START_TEST(io_store_roundtrip)
{
    struct chunk_io_store s;
    struct chunk_io io;
    chunk_io_store_init(&s, cs, NULL, &io);
    struct net_chunk nc[2];
    for (int i = 0; i < 2; i++) {
        memcpy(nc[i].hash, chunks[i].hash, 32);
        nc[i].data = chunks[i].data;
        nc[i].len = chunks[i].len;
    }
    ck_assert_int_eq(io.has(io.ctx, nc[0].hash), 0);
    ck_assert_int_eq(io.put_batch(io.ctx, nc, 2), 0);
    ck_assert_int_eq(io.has(io.ctx, nc[1].hash), 1);
    uint8_t buf[CHUNK_LEN];
    uint32_t len;
    ck_assert_int_eq(io.get(io.ctx, nc[1].hash, buf, sizeof(buf), &len), 0);
    ck_assert_uint_eq(len, chunks[1].len);
    ck_assert_mem_eq(buf, chunks[1].data, len);
    ck_assert_int_eq(io.get(io.ctx, chunks[5].hash, buf, sizeof(buf), &len), -ENOENT);
}
END_TEST

/* Collects until chunk i is gone: the ms that took from t0. */
static uint64_t collect_until_gone(struct gc *g, int i, uint64_t t0)
{
    uint64_t deadline = now_ms() + 10000;
    while (chunk_store_has(cs, chunks[i].hash) == 1) {
        ck_assert_msg(now_ms() < deadline, "never collected");
        gc_collect(g);
        pause_ms(5);
    }
    return now_ms() - t0;
}

START_TEST(io_store_touches_pushed_chunks)
{
    const uint64_t grace = 400;
    struct gc *g;
    ck_assert_int_eq(gc_open(ms, cs, &g), 0);
    gc_set_grace(g, grace);
    struct chunk_io_store s;
    struct chunk_io io;
    chunk_io_store_init(&s, cs, g, &io);
    ck_assert_int_eq(chunk_store_put_batch(cs, chunks, 2), 0);
    reference(0, 2);
    MDB_txn *txn; /* both dead and queued */
    ck_assert_int_eq(meta_txn_write(ms, &txn), 0);
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(meta_ref_adjust(ms, txn, chunks[i].hash, -1), 0);
    ck_assert_int_eq(mdb_txn_commit(txn), 0);
    uint64_t t0 = now_ms();
    gc_collect(g); /* seen dead from now on */
    while (now_ms() - t0 < grace + 50)
        pause_ms(5);
    uint64_t t1 = now_ms();
    ck_assert_int_eq(io.has(io.ctx, chunks[0].hash), 1); /* a push finds 0 present */
    struct net_chunk nc = {.data = chunks[1].data, .len = chunks[1].len};
    memcpy(nc.hash, chunks[1].hash, 32);
    ck_assert_int_eq(io.put_batch(io.ctx, &nc, 1), 0); /* and stores 1 (present) */
    ck_assert_uint_ge(collect_until_gone(g, 0, t1), grace);
    ck_assert_uint_ge(collect_until_gone(g, 1, t1), grace);
    gc_close(g);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("chunk_sync");
    TCase *tc = tcase_create("sync");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, noted_chunks_pulled);
    tcase_add_test(tc, pushed_chunks_not_pulled);
    tcase_add_test(tc, pulled_when_push_goes_quiet);
    tcase_add_test(tc, pulled_after_defer_max);
    tcase_add_test(tc, given_up_chunks_pulled_while_pushing);
    tcase_add_test(tc, retried_until_peers_answer);
    tcase_add_test(tc, pushed_while_pulling_not_fetched);
    tcase_add_test(tc, pushed_while_retrying_not_fetched);
    tcase_add_test(tc, startup_scan_finds_missing);
    tcase_add_test(tc, overflow_falls_back_to_rescan);
    tcase_add_test(tc, unreferenced_chunks_dropped);
    tcase_add_test(tc, full_retry_list_of_deleted_chunks_drains);
    tcase_add_test(tc, only_remote_content_noted);
    tcase_add_test(tc, io_store_roundtrip);
    tcase_add_test(tc, io_store_touches_pushed_chunks);
    suite_add_tcase(s, tc);
    return scratch_run(s);
}
