/*
 * Frozen staging sets (committer.h): a writer past half the staging bound,
 * or with a dense run of an eighth of it, hands its staged bytes to the
 * background committer and writes on. The
 * core runs here as in a cluster, under a test orderer whose gate holds
 * content commands back, so a set is on its way and not yet committed for
 * as long as a test needs: reads, sizes and partial-page writes must see
 * its bytes then, and a commit that fails must lose none of them.
 */
#include "fs/core/core.h"
#include "fs/core/core_cluster.h"
#include "helpers.h"

#include "tests/unit/scratch.h"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define LIMIT (1u << 20)  /* staging bound: a set freezes past 512 KiB */
#define DENSE (LIMIT / 8) /* ... or as a dense run of 128 KiB */
#define PIECE (64u << 10)
#define TOTAL (768u << 10)

/* The test orderer: applies each command at once, one at a time; content
 * commands wait while the gate is closed, and the next `fail` of them
 * return -ENOSPC without applying. */
struct gate {
    struct core *c;
    pthread_mutex_t lock; /* guards everything below */
    pthread_cond_t cond;
    bool closed;
    int waiting, fail;
    int contents; /* content commands submitted */
    uint64_t applied;
};

static char *dir;
static struct core *core;
static struct gate gate = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
static const struct core_cred root = {0, 0, 0, 0, NULL};

static int gate_submit(void *impl, const struct cmd *cmd, struct apply_result *res)
{
    struct gate *g = impl;
    pthread_mutex_lock(&g->lock);
    if (cmd->op == CMD_CONTENT) {
        g->contents++;
        g->waiting++;
        pthread_cond_broadcast(&g->cond);
        while (g->closed)
            pthread_cond_wait(&g->cond, &g->lock);
        g->waiting--;
        if (g->fail > 0) {
            g->fail--;
            pthread_mutex_unlock(&g->lock);
            return -ENOSPC;
        }
    }
    struct apply_item it = {cmd, res};
    int rc = core_apply_decided(g->c, &it, 1, &g->applied, NULL);
    pthread_mutex_unlock(&g->lock);
    return rc ? rc : res->err;
}

static uint64_t gate_applied(void *impl)
{
    struct gate *g = impl;
    pthread_mutex_lock(&g->lock);
    uint64_t a = g->applied;
    pthread_mutex_unlock(&g->lock);
    return a;
}

static const struct orderer_ops gate_ops = {gate_submit, gate_applied};

static void set_gate(bool closed, int fail)
{
    pthread_mutex_lock(&gate.lock);
    gate.closed = closed;
    gate.fail = fail;
    pthread_cond_broadcast(&gate.cond);
    pthread_mutex_unlock(&gate.lock);
}

/* Until a content commit waits at the closed gate (a condition, polled by
 * the gate's own signal, never by sleeping). */
static void wait_at_gate(void)
{
    pthread_mutex_lock(&gate.lock);
    while (gate.waiting == 0)
        pthread_cond_wait(&gate.cond, &gate.lock);
    pthread_mutex_unlock(&gate.lock);
}

static void setup(void)
{
    dir = tmpdir_make("frozen");
    ck_assert_ptr_nonnull(dir);
    struct core_config cfg = {.data_dir = dir, .staging_limit = LIMIT, .cluster = true};
    ck_assert_int_eq(core_open(&cfg, &core), 0);
    gate.c = core;
    gate.closed = false;
    gate.waiting = gate.fail = gate.contents = 0;
    ck_assert_int_eq(core_load_applied(core, &gate.applied), 0);
    core_set_orderer(core, &gate_ops, &gate, 1, 0, 0);
}

static void teardown(void)
{
    set_gate(false, 0);
    core_close(core);
    tmpdir_remove(dir);
}

static uint64_t open_file(const char *name)
{
    struct stat st;
    ck_assert_int_eq(core_mknod(core, &root, CORE_ROOT_INO, name, S_IFREG | 0644, 0, &st), 0);
    ck_assert_int_eq(core_file_open(core, st.st_ino, O_RDWR), 0);
    return st.st_ino;
}

static void pattern(uint8_t *buf, size_t len, uint64_t seed)
{
    for (size_t i = 0; i < len; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        buf[i] = (uint8_t)(seed >> 56);
    }
}

static void write_pieces(uint64_t ino, const uint8_t *buf, size_t from, size_t to)
{
    for (size_t off = from; off < to; off += PIECE)
        ck_assert_int_eq(core_write(core, &root, ino, off, buf + off, PIECE), (ssize_t)PIECE);
}

static void expect(uint64_t ino, const uint8_t *want, size_t len)
{
    uint8_t *got = malloc(len);
    for (size_t off = 0; off < len; off += PIECE)
        ck_assert_int_eq(core_read(core, ino, off, got + off, PIECE), (ssize_t)PIECE);
    size_t i = 0;
    while (i < len && got[i] == want[i]) /* one assertion, not one per byte */
        i++;
    ck_assert_msg(i == len, "byte %zu: %u, want %u", i, i < len ? got[i] : 0,
                  i < len ? want[i] : 0);
    free(got);
}

static int count_conflict(void *ctx, const struct core_conflict *cf)
{
    (void)cf;
    ++*(int *)ctx;
    return 0;
}

/* What a writer staged after freezing builds on the set: committing it
 * must not look like someone else's write (a conflict copy). */
static void expect_no_conflict(void)
{
    int n = 0;
    ck_assert_int_eq(core_conflicts_list(core, count_conflict, &n), 0);
    ck_assert_int_eq(n, 0);
}

static uint64_t size_of(uint64_t ino)
{
    struct stat st;
    ck_assert_int_eq(core_getattr(core, ino, &st), 0);
    return (uint64_t)st.st_size;
}

/* While a frozen set is on its way: reads and the size include it, and a
 * write into one of its pages fills the rest of the page from it (not from
 * the committed file, which is empty), so the next commit does not write
 * zeros over it. */
START_TEST(frozen_set_is_read_and_filled_from)
{
    uint8_t *data = malloc(TOTAL);
    pattern(data, TOTAL, 1);
    uint64_t ino = open_file("f");
    set_gate(true, 0);
    /* The write that completes a dense run of DENSE bytes freezes
     * everything staged: then only the set knows the size. */
    write_pieces(ino, data, 0, DENSE);
    wait_at_gate(); /* the set's chunks are stored; its command waits */
    ck_assert_uint_eq(size_of(ino), DENSE);
    write_pieces(ino, data, DENSE, TOTAL);
    ck_assert_uint_eq(size_of(ino), TOTAL);
    expect(ino, data, TOTAL);
    /* Two writes into one page of the set: the second leaves a gap after
     * the first, which is filled from the set. */
    const uint8_t patch[] = "0123456789";
    ck_assert_int_eq(core_write(core, &root, ino, 0, patch, 10), 10);
    ck_assert_int_eq(core_write(core, &root, ino, 100, patch, 10), 10);
    memcpy(data, patch, 10);
    memcpy(data + 100, patch, 10);
    expect(ino, data, TOTAL);
    set_gate(false, 0);
    ck_assert_int_eq(core_flush(core, ino), 0);
    expect(ino, data, TOTAL);
    ck_assert_int_eq(core_file_release(core, ino), 0);
    struct core_stats s;
    ck_assert_int_eq(core_stats(core, &s), 0);
    ck_assert_uint_eq(s.staged_bytes, 0);
    ck_assert_int_eq(core_file_open(core, ino, O_RDONLY), 0);
    expect(ino, data, TOTAL); /* committed bytes alone now */
    ck_assert_uint_eq(size_of(ino), TOTAL);
    expect_no_conflict();
    ck_assert_int_eq(core_file_release(core, ino), 0);
    free(data);
}
END_TEST

/* A set whose background commit fails stays readable, and the next flush
 * commits it again: once more failing (the error reaches the caller, the
 * bytes stay), then succeeding. */
START_TEST(failed_frozen_commit_is_retried)
{
    uint8_t *data = malloc(TOTAL);
    pattern(data, TOTAL, 2);
    uint64_t ino = open_file("g");
    set_gate(true, 2);
    write_pieces(ino, data, 0, TOTAL);
    wait_at_gate();
    set_gate(false, 2); /* the background commit and the first retry fail */
    ck_assert_int_eq(core_flush(core, ino), -ENOSPC);
    expect(ino, data, TOTAL);
    ck_assert_int_eq(core_flush(core, ino), 0);
    ck_assert_int_eq(core_file_release(core, ino), 0);
    ck_assert_int_eq(core_file_open(core, ino, O_RDONLY), 0);
    expect(ino, data, TOTAL);
    ck_assert_int_eq(core_file_release(core, ino), 0);
    free(data);
}
END_TEST

static int contents_submitted(void)
{
    pthread_mutex_lock(&gate.lock);
    int n = gate.contents;
    pthread_mutex_unlock(&gate.lock);
    return n;
}

/* Twice DENSE written in sequence goes out in more than one commit; as many
 * bytes scattered one page per block (well under half the bound) stay
 * staged until the flush commits them at once: their commit re-cuts a
 * chunk for every page, so the more pages one commit covers the better. */
START_TEST(dense_runs_freeze_early_sparse_pages_do_not)
{
    uint8_t *data = malloc(2 * DENSE);
    pattern(data, 2 * DENSE, 4);
    uint64_t seq = open_file("seq"), sparse = open_file("sparse");
    write_pieces(seq, data, 0, 2 * DENSE);
    ck_assert_int_eq(core_flush(core, seq), 0);
    ck_assert_int_ge(contents_submitted(), 2);
    expect(seq, data, 2 * DENSE);
    int before = contents_submitted();
    size_t pages = 2 * DENSE / 4096;
    for (size_t i = 0; i < pages; i++)
        ck_assert_int_eq(core_write(core, &root, sparse, i * PIECE, data + i * 4096, 4096), 4096);
    ck_assert_int_eq(core_flush(core, sparse), 0);
    ck_assert_int_eq(contents_submitted() - before, 1);
    uint8_t got[4096];
    ck_assert_int_eq(core_read(core, sparse, (pages - 1) * PIECE, got, 4096), 4096);
    ck_assert_int_eq(memcmp(got, data + (pages - 1) * 4096, 4096), 0);
    ck_assert_int_eq(core_file_release(core, seq), 0);
    ck_assert_int_eq(core_file_release(core, sparse), 0);
    free(data);
}
END_TEST

/* Many sets in a row: memory stays within the bound plus one write, and
 * the file is whole at the end. */
START_TEST(stream_through_frozen_sets)
{
    size_t total = 12u << 20;
    uint8_t *data = malloc(total);
    pattern(data, total, 3);
    uint64_t ino = open_file("s");
    uint64_t peak = 0;
    for (size_t off = 0; off < total; off += PIECE) {
        ck_assert_int_eq(core_write(core, &root, ino, off, data + off, PIECE), (ssize_t)PIECE);
        struct core_stats s;
        ck_assert_int_eq(core_stats(core, &s), 0);
        peak = s.staged_bytes > peak ? s.staged_bytes : peak;
        ck_assert_uint_eq(size_of(ino), off + PIECE);
    }
    ck_assert_uint_le(peak, LIMIT + PIECE + 65536);
    ck_assert_int_eq(core_file_release(core, ino), 0);
    ck_assert_int_eq(core_file_open(core, ino, O_RDONLY), 0);
    expect(ino, data, total);
    ck_assert_int_eq(core_file_release(core, ino), 0);
    expect_no_conflict();
    free(data);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("core-frozen");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, frozen_set_is_read_and_filled_from);
    tcase_add_test(tc, failed_frozen_commit_is_retried);
    tcase_add_test(tc, stream_through_frozen_sets);
    tcase_add_test(tc, dense_runs_freeze_early_sparse_pages_do_not);
    suite_add_tcase(s, tc);
    return scratch_run(s);
}
