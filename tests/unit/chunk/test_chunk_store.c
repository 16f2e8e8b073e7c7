/* Unit tests for fs/chunk/chunk_store: round trips, verification, format
 * checks, durability across a SIGKILL and map growth under concurrent reads. */
#include "fs/chunk/chunk_format.h"
#include "fs/chunk/chunk_store.h"
#include "fs/chunk/chunker.h"
#include "tests/unit/chunk/chunk_testutil.h"
#include "tests/unit/chunk/corrupt.h"

#include "tests/unit/addr_space.h"
#include "tests/unit/scratch.h"
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Around the piece sizes of 1-, 4- and 16-page pieces (4080, 16368, 65520). */
static const uint32_t sizes[] = {0, 1, 4081, 16369, 65520, 65543, 131041, CHUNK_MAX};
#define NSIZES (sizeof(sizes) / sizeof(sizes[0])) /* at most TU_NBUFS */

static void make_set(struct chunk_ref *c, uint64_t seed)
{
    for (size_t i = 0; i < NSIZES; i++)
        tu_make_chunk(&c[i], tu.bufs + i * CHUNK_MAX, sizes[i], seed + i);
}

static void assert_reads_back(struct chunk_store *cs, const struct chunk_ref *c)
{
    uint32_t len = 12345;
    ck_assert_int_eq(chunk_store_get(cs, c->hash, tu.out, CHUNK_MAX, &len), 0);
    ck_assert_uint_eq(len, c->len);
    ck_assert(memcmp(tu.out, c->data, len) == 0);
}

START_TEST(test_round_trip)
{
    struct chunk_store *cs;
    struct chunk_ref c[NSIZES];
    struct chunk_store_stats st;
    uint64_t total = 0;
    make_set(c, 1);
    ck_assert_int_eq(chunk_store_open(tu.dir, &cs), 0);
    ck_assert_int_eq(chunk_store_put_batch(cs, c, NSIZES), 0);
    for (size_t i = 0; i < NSIZES; i++) {
        uint32_t len = 0;
        assert_reads_back(cs, &c[i]);
        ck_assert_int_eq(chunk_store_has(cs, c[i].hash), 1);
        ck_assert_int_eq(chunk_store_size(cs, c[i].hash, &len), 0);
        ck_assert_uint_eq(len, sizes[i]);
        total += sizes[i];
    }
    uint32_t len;
    ck_assert_int_eq(chunk_store_get(cs, c[7].hash, tu.out, CHUNK_MAX - 1, &len), -ENOBUFS);
    ck_assert_int_eq(chunk_store_put_batch(cs, c, NSIZES), 0); /* all present: skipped */
    ck_assert_int_eq(chunk_store_stats(cs, &st), 0);
    ck_assert_uint_eq(st.chunks, NSIZES);
    ck_assert_uint_eq(st.bytes, total);
    ck_assert_uint_gt(st.file_bytes, total);
    ck_assert_uint_ge(st.map_bytes, 1u << 30);

    uint8_t del[3][SHA256_LEN];
    memcpy(del[0], c[2].hash, SHA256_LEN);
    memcpy(del[1], c[7].hash, SHA256_LEN);
    memset(del[2], 0xee, SHA256_LEN); /* absent: ignored */
    ck_assert_int_eq(chunk_store_delete_batch(cs, del, 3), 0);
    ck_assert_int_eq(chunk_store_has(cs, c[2].hash), 0);
    ck_assert_int_eq(chunk_store_get(cs, c[7].hash, tu.out, CHUNK_MAX, &len), -ENOENT);
    ck_assert_int_eq(chunk_store_size(cs, del[2], &len), -ENOENT);
    assert_reads_back(cs, &c[6]);
    ck_assert_int_eq(chunk_store_stats(cs, &st), 0);
    ck_assert_uint_eq(st.chunks, NSIZES - 2);
    ck_assert_uint_eq(st.bytes, total - sizes[2] - sizes[7]);
    chunk_store_close(cs);

    ck_assert_int_eq(chunk_store_open(tu.dir, &cs), 0); /* reopen keeps data */
    for (size_t i = 0; i < NSIZES; i++)
        if (i != 2 && i != 7)
            assert_reads_back(cs, &c[i]);
    ck_assert_int_eq(chunk_store_has(cs, c[7].hash), 0);
    chunk_store_close(cs);
}
END_TEST

/* Stores of 1..16-page pieces work alike; the piece size of an existing
 * store is its own, whatever a later open asks for. */
START_TEST(test_piece_sizes)
{
    static const uint32_t pages[] = {1, 4, 7};
    for (size_t p = 0; p < 3; p++) {
        char sub[128];
        struct chunk_store *cs;
        struct chunk_store_opts o = {.piece_pages = pages[p]};
        struct chunk_ref c[NSIZES];
        snprintf(sub, sizeof(sub), "%s/p%u", tu.dir, pages[p]);
        make_set(c, 40 + p);
        ck_assert_int_eq(chunk_store_open_opts(sub, &o, &cs), 0);
        ck_assert_int_eq(chunk_store_put_batch(cs, c, NSIZES), 0);
        chunk_store_close(cs);
        ck_assert_int_eq(chunk_store_open(sub, &cs), 0); /* default would be 16 */
        for (size_t i = 0; i < NSIZES; i++)
            assert_reads_back(cs, &c[i]);
        chunk_store_close(cs);
    }
    struct chunk_store *cs;
    struct chunk_store_opts bad = {.piece_pages = 17};
    ck_assert_int_eq(chunk_store_open_opts(tu.dir, &bad, &cs), -EINVAL);
}
END_TEST

START_TEST(test_duplicates_in_one_batch)
{
    struct chunk_store *cs;
    struct chunk_ref c[NSIZES], twice[2];
    struct chunk_store_stats st;
    make_set(c, 5);
    twice[0] = twice[1] = c[6];
    ck_assert_int_eq(chunk_store_open(tu.dir, &cs), 0);
    ck_assert_int_eq(chunk_store_put_batch(cs, twice, 2), 0);
    ck_assert_int_eq(chunk_store_stats(cs, &st), 0);
    ck_assert_uint_eq(st.chunks, 1);
    ck_assert_uint_eq(st.bytes, c[6].len);
    assert_reads_back(cs, &c[6]);
    chunk_store_close(cs);
}
END_TEST

/* A have-query's prefix finds the chunk it starts, and nothing else: not a
 * neighbour in key order sharing 15 of the 16 bytes, not past the last key. */
START_TEST(test_find_by_prefix)
{
    struct chunk_store *cs;
    struct chunk_ref c[NSIZES];
    make_set(c, 11);
    ck_assert_int_eq(chunk_store_open(tu.dir, &cs), 0);
    uint8_t got[SHA256_LEN], p[CHUNK_PREFIX_LEN];
    ck_assert_int_eq(chunk_store_find_prefix(cs, c[0].hash, got), 0); /* empty store */
    ck_assert_int_eq(chunk_store_put_batch(cs, c, NSIZES), 0);
    for (size_t i = 0; i < NSIZES; i++) {
        memset(got, 0, sizeof(got));
        ck_assert_int_eq(chunk_store_find_prefix(cs, c[i].hash, got), 1);
        ck_assert(memcmp(got, c[i].hash, SHA256_LEN) == 0);
        memcpy(p, c[i].hash, CHUNK_PREFIX_LEN);
        p[CHUNK_PREFIX_LEN - 1] ^= 1; /* the next or previous key range */
        ck_assert_int_eq(chunk_store_find_prefix(cs, p, got), 0);
    }
    memset(p, 0xff, sizeof(p)); /* after every key */
    ck_assert_int_eq(chunk_store_find_prefix(cs, p, got), 0);
    chunk_store_close(cs);
}
END_TEST

START_TEST(test_corrupt_piece_is_eio)
{
    struct chunk_store *cs;
    struct chunk_ref c[NSIZES];
    uint8_t named[SHA256_LEN], first[SHA256_LEN];
    uint32_t len;
    make_set(c, 9);
    ck_assert_int_eq(chunk_store_open(tu.dir, &cs), 0);
    ck_assert_int_eq(chunk_store_put_batch(cs, c, NSIZES), 0);
    chunk_store_close(cs);

    ck_assert_int_eq(corrupt_chunk(tu.dir, c[6].hash, 1, named), 0);
    ck_assert(memcmp(named, c[6].hash, SHA256_LEN) == 0);
    ck_assert_int_eq(corrupt_chunk(tu.dir, NULL, 0, first), 0);
    ck_assert_int_eq(corrupt_drop_piece(tu.dir, c[5].hash, 1), 0);
    ck_assert_int_eq(corrupt_chunk(tu.dir, c[0].hash, 0, named), -ENOENT); /* empty: no piece */

    ck_assert_int_eq(chunk_store_open(tu.dir, &cs), 0);
    ck_assert_int_eq(chunk_store_get(cs, c[6].hash, tu.out, CHUNK_MAX, &len), -EIO);
    ck_assert_int_eq(chunk_store_get(cs, first, tu.out, CHUNK_MAX, &len), -EIO);
    ck_assert_int_eq(chunk_store_get(cs, c[5].hash, tu.out, CHUNK_MAX, &len), -EIO);
    for (size_t i = 0; i < NSIZES; i++)
        if (i != 5 && i != 6 && memcmp(c[i].hash, first, SHA256_LEN))
            assert_reads_back(cs, &c[i]);
    /* a damaged chunk can be deleted and stored again intact */
    uint8_t del[1][SHA256_LEN];
    memcpy(del[0], c[6].hash, SHA256_LEN);
    ck_assert_int_eq(chunk_store_delete_batch(cs, del, 1), 0);
    ck_assert_int_eq(chunk_store_put_batch(cs, &c[6], 1), 0);
    assert_reads_back(cs, &c[6]);
    chunk_store_close(cs);
}
END_TEST

START_TEST(test_format_mismatch_is_eproto)
{
    struct chunk_store *cs;
    struct chunk_ref c[NSIZES];
    make_set(c, 3);
    ck_assert_int_eq(chunk_store_open(tu.dir, &cs), 0);
    ck_assert_int_eq(chunk_store_put_batch(cs, c, 2), 0);
    chunk_store_close(cs);
    ck_assert_int_eq(corrupt_set_meta_u32(tu.dir, CHUNK_META_FORMAT, CHUNK_FORMAT_VERSION + 1), 0);
    ck_assert_int_eq(chunk_store_open(tu.dir, &cs), -EPROTO);
    ck_assert_int_eq(corrupt_set_meta_u32(tu.dir, CHUNK_META_FORMAT, CHUNK_FORMAT_VERSION), 0);
    ck_assert_int_eq(corrupt_set_meta_u32(tu.dir, CHUNK_META_PIECE, 8000), 0);
    ck_assert_int_eq(chunk_store_open(tu.dir, &cs), -EPROTO);
    ck_assert_int_eq(corrupt_set_meta_u32(tu.dir, CHUNK_META_PIECE, 17 * 4096 - 16), 0);
    ck_assert_int_eq(chunk_store_open(tu.dir, &cs), -EPROTO);
    ck_assert_int_eq(corrupt_set_meta_u32(tu.dir, CHUNK_META_PIECE, 4080), 0);
    ck_assert_int_eq(chunk_store_open(tu.dir, &cs), 0);
    assert_reads_back(cs, &c[1]);
    chunk_store_close(cs);
}
END_TEST

/* A chunk is checked against the CRCs in its record: bytes intact but one
 * block's CRC damaged is still -EIO (a get that skipped the check, or
 * checked only the hash, would return them). */
START_TEST(test_crc_in_record_is_checked)
{
    struct chunk_store *cs;
    struct chunk_ref c[NSIZES];
    uint32_t len;
    make_set(c, 11);
    ck_assert_int_eq(chunk_store_open(tu.dir, &cs), 0);
    ck_assert_int_eq(chunk_store_put_batch(cs, c, NSIZES), 0);
    chunk_store_close(cs);
    ck_assert_int_eq(corrupt_record_crc(tu.dir, c[6].hash, 31), 0); /* its last block */
    ck_assert_int_eq(chunk_store_open(tu.dir, &cs), 0);
    ck_assert_int_eq(chunk_store_get(cs, c[6].hash, tu.out, CHUNK_MAX, &len), -EIO);
    ck_assert_int_eq(chunk_store_get_unverified(cs, c[6].hash, tu.out, CHUNK_MAX, &len), 0);
    ck_assert_int_eq(memcmp(tu.out, c[6].data, c[6].len), 0);
    assert_reads_back(cs, &c[5]);
    chunk_store_close(cs);
}
END_TEST

/* A store written by format 1 (records without a CRC) opens, is marked
 * format 3, and its old chunks are checked against their hash. */
START_TEST(test_format1_store_is_read_and_upgraded)
{
    struct chunk_store *cs;
    struct chunk_ref c[NSIZES];
    uint32_t len, version = 0;
    uint8_t named[SHA256_LEN];
    make_set(c, 12);
    ck_assert_int_eq(chunk_store_open(tu.dir, &cs), 0);
    ck_assert_int_eq(chunk_store_put_batch(cs, c, NSIZES), 0);
    chunk_store_close(cs);
    ck_assert_int_eq(corrupt_make_v1(tu.dir, c[6].hash), 0);
    ck_assert_int_eq(corrupt_make_v1(tu.dir, c[3].hash), 0);
    ck_assert_int_eq(corrupt_get_meta_u32(tu.dir, CHUNK_META_FORMAT, &version), 0);
    ck_assert_uint_eq(version, 1);

    ck_assert_int_eq(chunk_store_open(tu.dir, &cs), 0);
    for (size_t i = 0; i < NSIZES; i++)
        assert_reads_back(cs, &c[i]);
    chunk_store_close(cs);
    ck_assert_int_eq(corrupt_get_meta_u32(tu.dir, CHUNK_META_FORMAT, &version), 0);
    ck_assert_uint_eq(version, CHUNK_FORMAT_VERSION);

    ck_assert_int_eq(corrupt_chunk(tu.dir, c[6].hash, 0, named), 0);
    ck_assert_int_eq(chunk_store_open(tu.dir, &cs), 0);
    ck_assert_int_eq(chunk_store_get(cs, c[6].hash, tu.out, CHUNK_MAX, &len), -EIO);
    assert_reads_back(cs, &c[3]);
    chunk_store_close(cs);
}
END_TEST

/* The chunk-corrupt tool (its path in $CHUNK_CORRUPT, set by meson) damages
 * the chunk it names, and a get of it is then -EIO. */
START_TEST(test_chunk_corrupt_tool)
{
    const char *tool = getenv("CHUNK_CORRUPT");
    ck_assert_ptr_nonnull(tool);
    struct chunk_store *cs;
    struct chunk_ref c[NSIZES];
    char cmd[512], line[128], want[SHA256_HEX_LEN + 1];
    uint32_t len;
    make_set(c, 21);
    ck_assert_int_eq(chunk_store_open(tu.dir, &cs), 0);
    ck_assert_int_eq(chunk_store_put_batch(cs, c, NSIZES), 0);
    chunk_store_close(cs);
    sha256_hex(c[6].hash, want);
    snprintf(cmd, sizeof(cmd), "'%s' '%s' %s", tool, tu.dir, want);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_nonnull(fgets(line, sizeof(line), p));
    ck_assert_int_eq(pclose(p), 0);
    line[strcspn(line, "\n")] = '\0';
    ck_assert_str_eq(line, want);
    snprintf(cmd, sizeof(cmd), "'%s' '%s' >/dev/null 2>&1", tool, tu.dir); /* first chunk */
    ck_assert_int_eq(system(cmd), 0);
    snprintf(cmd, sizeof(cmd), "'%s' '%s' %064d >/dev/null 2>&1", tool, tu.dir, 0);
    ck_assert_int_ne(system(cmd), 0); /* no such chunk */
    ck_assert_int_eq(chunk_store_open(tu.dir, &cs), 0);
    ck_assert_int_eq(chunk_store_get(cs, c[6].hash, tu.out, CHUNK_MAX, &len), -EIO);
    assert_reads_back(cs, &c[7]);
    chunk_store_close(cs);
}
END_TEST

/* What put_batch acknowledged survives the writer being killed at once. */
START_TEST(test_put_survives_sigkill)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        struct chunk_store *cs;
        struct chunk_ref c[NSIZES];
        make_set(c, 77);
        if (chunk_store_open(tu.dir, &cs) || chunk_store_put_batch(cs, c, NSIZES))
            _exit(1);
        if (write(fds[1], "k", 1) != 1)
            _exit(1);
        for (;;)
            pause();
    }
    char b;
    ck_assert_int_eq(read(fds[0], &b, 1), 1);
    kill(pid, SIGKILL);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFSIGNALED(status));
    close(fds[0]);
    close(fds[1]);

    struct chunk_store *cs;
    struct chunk_ref c[NSIZES];
    make_set(c, 77);
    ck_assert_int_eq(chunk_store_open(tu.dir, &cs), 0);
    for (size_t i = 0; i < NSIZES; i++)
        assert_reads_back(cs, &c[i]);
    chunk_store_close(cs);
}
END_TEST

struct reader_arg {
    struct chunk_store *cs;
    const struct chunk_ref *c; /* chunk to read over and over */
    atomic_int *stop;
    int reads, errors;
};

static void *reader_main(void *p)
{
    struct reader_arg *a = p;
    uint8_t *buf = malloc(CHUNK_MAX);
    while (!atomic_load(a->stop)) {
        uint32_t len;
        if (chunk_store_get(a->cs, a->c->hash, buf, CHUNK_MAX, &len) || len != a->c->len ||
            memcmp(buf, a->c->data, len))
            a->errors++;
        a->reads++;
    }
    free(buf);
    return NULL;
}

/* A 1 MiB map grows to hold 24 MiB while two threads keep reading. */
START_TEST(test_map_grows_under_readers)
{
    struct chunk_store *cs;
    struct chunk_store_opts opts = {.map_initial = 1u << 20};
    struct chunk_ref c[NSIZES], big[4];
    uint8_t *data = malloc(4 * CHUNK_MAX);
    make_set(c, 11);
    ck_assert_int_eq(chunk_store_open_opts(tu.dir, &opts, &cs), 0);
    ck_assert_int_eq(chunk_store_put_batch(cs, c, NSIZES), 0);
    atomic_int stop = 0;
    struct reader_arg ra[2] = {{cs, &c[7], &stop, 0, 0}, {cs, &c[6], &stop, 0, 0}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, reader_main, &ra[i]), 0);
    for (int round = 0; round < 24; round++) {
        for (int j = 0; j < 4; j++)
            tu_make_chunk(&big[j], data + (size_t)j * CHUNK_MAX, CHUNK_MAX, 1000 + round * 4 + j);
        ck_assert_int_eq(chunk_store_put_batch(cs, big, 4), 0);
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_gt(ra[i].reads, 0);
        ck_assert_int_eq(ra[i].errors, 0);
    }
    struct chunk_store_stats st;
    ck_assert_int_eq(chunk_store_stats(cs, &st), 0);
    ck_assert_uint_ge(st.map_bytes, st.file_bytes);
    ck_assert_uint_gt(st.map_bytes, opts.map_initial);
    ck_assert_uint_eq(st.chunks, NSIZES + 96);
    for (int j = 0; j < 4; j++)
        assert_reads_back(cs, &big[j]);
    chunk_store_close(cs);
    free(data);
}
END_TEST

#define LIMITED_CHUNKS 2048 /* 128 MiB: more than the address space lets the map reach */

/* In the child, under a 48 MiB headroom of address space: puts until the map
 * cannot grow, then checks what was put and that deletes make room. */
static int fill_limited_store(struct chunk_ref *c)
{
    struct chunk_store *cs;
    struct chunk_store_opts opts = {.map_initial = 16u << 20};
    if (chunk_store_open_opts(tu.dir, &opts, &cs))
        return 10;
    if (addr_space_limit(48u << 20))
        return 11;
    int n = 0, rc = 0;
    while (n < LIMITED_CHUNKS && (rc = chunk_store_put_batch(cs, &c[n], 1)) == 0)
        n++;
    static uint8_t buf[CHUNK_MAX];
    uint32_t len;
    for (int i = 0; i < n; i++)
        if (chunk_store_get(cs, c[i].hash, buf, sizeof(buf), &len) || len != c[i].len ||
            memcmp(buf, c[i].data, len))
            return 13; /* a committed chunk lost or unreadable */
    if (rc != -ENOSPC || n < 16)
        return 12; /* the map never filled, or failed otherwise */
    for (int i = 0; i < n / 2; i++)
        if (chunk_store_delete_batch(cs, (const uint8_t(*)[SHA256_LEN])c[i].hash, 1))
            return 14;
    if (chunk_store_put_batch(cs, &c[n], 1))
        return 15; /* the space freed is not reused */
    chunk_store_close(cs);
    return 0;
}

/* A map that the address space (ulimit -v) does not let grow: puts get
 * ENOSPC, nothing committed is lost, deletes make room. LMDB left with no map
 * after a failed remap crashed the daemon at the next read. */
START_TEST(test_map_limited_by_address_space)
{
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    return; /* their shadow memory needs terabytes of address space */
#endif
    struct chunk_ref *c = malloc(sizeof(*c) * (LIMITED_CHUNKS + 1));
    uint8_t *data = malloc((size_t)(LIMITED_CHUNKS + 1) << 16);
    ck_assert_ptr_nonnull(c);
    ck_assert_ptr_nonnull(data);
    for (int i = 0; i <= LIMITED_CHUNKS; i++)
        tu_make_chunk(&c[i], data + ((size_t)i << 16), 1u << 16, 7000 + i);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        _exit(fill_limited_store(c));
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status), "the child died (signal %d)", WTERMSIG(status));
    ck_assert_int_eq(WEXITSTATUS(status), 0);
    free(data);
    free(c);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("chunk_store");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_piece_sizes);
    tcase_add_test(tc, test_duplicates_in_one_batch);
    tcase_add_test(tc, test_find_by_prefix);
    tcase_add_test(tc, test_corrupt_piece_is_eio);
    tcase_add_test(tc, test_format_mismatch_is_eproto);
    tcase_add_test(tc, test_put_survives_sigkill);
    tcase_add_test(tc, test_crc_in_record_is_checked);
    tcase_add_test(tc, test_format1_store_is_read_and_upgraded);
    tcase_add_test(tc, test_chunk_corrupt_tool);
    tcase_add_test(tc, test_map_grows_under_readers);
    tcase_add_test(tc, test_map_limited_by_address_space);
    suite_add_tcase(s, tc);
    return scratch_run(s);
}
