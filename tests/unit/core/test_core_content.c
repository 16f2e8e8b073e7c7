/* core.h content without FUSE: staging, re-cutting, holes, truncate, punch,
 * copy_file_range by sharing, GC, bounded staging, orphans. */
#include "fs/core/core.h"
#include "helpers.h"

#include "tests/unit/scratch.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char *dir;
static struct core *core;
static const struct core_cred root = {0, 0, 0, 0, NULL};
static const struct core_cred user = {1000, 1000, 0, 0, NULL};

static void open_core(size_t staging_limit)
{
    struct core_config cfg = {.data_dir = dir, .staging_limit = staging_limit};
    ck_assert_int_eq(core_open(&cfg, &core), 0);
}

static void setup(void)
{
    dir = tmpdir_make("content");
    ck_assert_ptr_nonnull(dir);
    open_core(0);
}

static void teardown(void)
{
    core_close(core);
    tmpdir_remove(dir);
}

static uint64_t mkfile(const char *name)
{
    struct stat st;
    ck_assert_int_eq(core_mknod(core, &root, 1, name, S_IFREG | 0644, 0, &st), 0);
    ck_assert_int_eq(core_file_open(core, st.st_ino, O_RDWR), 0);
    return st.st_ino;
}

static void write_all(uint64_t ino, uint64_t off, const uint8_t *buf, size_t len, size_t piece)
{
    for (size_t done = 0; done < len; done += piece) {
        size_t n = len - done < piece ? len - done : piece;
        ck_assert_int_eq(core_write(core, &root, ino, off + done, buf + done, n), (ssize_t)n);
    }
}

static void expect(uint64_t ino, uint64_t off, const uint8_t *want, size_t len)
{
    uint8_t *got = malloc(len + 1);
    size_t done = 0;
    while (done < len) {
        size_t n = len - done < 131072 ? len - done : 131072;
        ck_assert_int_eq(core_read(core, ino, off + done, got + done, n), (ssize_t)n);
        done += n;
    }
    ck_assert_msg(memcmp(got, want, len) == 0, "content differs at offset %llu",
                  (unsigned long long)off);
    free(got);
}

static struct core_stats stats(void)
{
    struct core_stats s;
    ck_assert_int_eq(core_stats(core, &s), 0);
    return s;
}

static off_t size_of(uint64_t ino)
{
    struct stat st;
    ck_assert_int_eq(core_getattr(core, ino, &st), 0);
    return st.st_size;
}

START_TEST(write_read_flush_reopen)
{
    size_t len = 3 << 20;
    uint8_t *data = malloc(len);
    fill_random(data, len, 1);
    uint64_t ino = mkfile("f");
    write_all(ino, 0, data, len, 131072);
    ck_assert_int_eq(size_of(ino), (off_t)len);
    expect(ino, 0, data, len); /* staged, not committed yet */
    ck_assert_uint_eq(stats().chunks_put, 0);
    ck_assert_int_eq(core_flush(core, ino), 0);
    ck_assert_uint_gt(stats().chunks_put, len / (256 << 10));
    ck_assert_uint_eq(stats().staged_bytes, 0);
    expect(ino, 0, data, len);
    /* overwrite a middle piece, unaligned, then read across it before and after commit */
    fill_random(data + 100000, 70000, 2);
    write_all(ino, 100000, data + 100000, 70000, 70000);
    expect(ino, 50000, data + 50000, 200000);
    ck_assert_int_eq(core_file_release(core, ino), 0);
    core_close(core);
    open_core(0);
    ck_assert_int_eq(size_of(ino), (off_t)len);
    expect(ino, 0, data, len);
    uint8_t tail[10];
    ck_assert_int_eq(core_read(core, ino, len - 4, tail, 10), 4);
    ck_assert_int_eq(core_read(core, ino, len + 5, tail, 10), 0);
    free(data);
}
END_TEST

/* An append goes where the file ends, committed or staged, whatever offset
 * a caller would have used (the kernel's cached size lags in a cluster). */
START_TEST(append_goes_at_the_end)
{
    uint8_t data[300];
    fill_random(data, sizeof(data), 3);
    uint64_t ino = mkfile("log");
    write_all(ino, 0, data, 100, 100);
    ck_assert_int_eq(core_flush(core, ino), 0);
    ck_assert_int_eq(core_write_append(core, &root, ino, data + 100, 100), 100); /* committed end */
    ck_assert_int_eq(core_write_append(core, &root, ino, data + 200, 100), 100); /* staged end */
    ck_assert_int_eq(size_of(ino), 300);
    expect(ino, 0, data, 300);
    ck_assert_int_eq(core_flush(core, ino), 0);
    expect(ino, 0, data, 300);
    ck_assert_int_eq(core_file_release(core, ino), 0);
}
END_TEST

START_TEST(holes_store_nothing)
{
    uint64_t ino = mkfile("sparse");
    uint8_t a[4096], b[4096], z[65536];
    fill_random(a, sizeof(a), 3);
    fill_random(b, sizeof(b), 4);
    memset(z, 0, sizeof(z));
    write_all(ino, 0, a, sizeof(a), 4096);
    write_all(ino, 10 << 20, b, sizeof(b), 4096);
    ck_assert_int_eq(core_fsync(core, ino, false), 0);
    struct stat st;
    ck_assert_int_eq(core_getattr(core, ino, &st), 0);
    ck_assert_int_eq(st.st_size, (10 << 20) + 4096);
    ck_assert_int_le(st.st_blocks * 512, 3 * 65536); /* only the written blocks */
    expect(ino, 0, a, sizeof(a));
    expect(ino, 5 << 20, z, sizeof(z));
    expect(ino, 10 << 20, b, sizeof(b));
    ck_assert_int_le(stats().chunks, 2);
    ck_assert_int_eq(core_lseek(core, ino, 0, SEEK_DATA), 0);
    ck_assert_int_le(core_lseek(core, ino, 0, SEEK_HOLE), 65536);
    ck_assert_int_ge(core_lseek(core, ino, 0, SEEK_HOLE), 4096);
    int64_t d = core_lseek(core, ino, 100000, SEEK_DATA);
    ck_assert_int_gt(d, (10 << 20) - 65536);
    ck_assert_int_le(d, 10 << 20);
    ck_assert_int_eq(core_lseek(core, ino, (10 << 20) + 1, SEEK_HOLE), (10 << 20) + 4096);
    ck_assert_int_eq(core_lseek(core, ino, 20 << 20, SEEK_DATA), -ENXIO);
    ck_assert_int_eq(core_file_release(core, ino), 0);
}
END_TEST

/* The headline case: small edits of a big file commit a handful of chunks. */
START_TEST(edits_commit_few_chunks)
{
    size_t len = (sanitized() ? 16u : 64u) << 20;
    uint8_t *data = malloc(len + 4096);
    fill_random(data, len + 4096, 5);
    uint64_t ino = mkfile("big");
    write_all(ino, 0, data, len, 1 << 20);
    ck_assert_int_eq(core_fsync(core, ino, false), 0);
    uint64_t chunks0 = stats().chunks, put0 = stats().chunks_put;
    ck_assert_uint_gt(chunks0, len / (256 << 10));

    write_all(ino, len, data + len, 4096, 4096); /* append 4 KiB */
    ck_assert_int_eq(core_fsync(core, ino, false), 0);
    uint64_t append_put = stats().chunks_put - put0;
    printf("append 4 KiB to %zu MiB: %llu chunks committed (file has %llu)\n", len >> 20,
           (unsigned long long)append_put, (unsigned long long)chunks0);
    ck_assert_uint_le(append_put, 3);
    expect(ino, len - 100000, data + len - 100000, 104096);

    uint64_t put1 = stats().chunks_put, chunks1 = stats().chunks;
    data[len / 2] ^= 0x5a; /* overwrite 1 byte in the middle */
    write_all(ino, len / 2, data + len / 2, 1, 1);
    ck_assert_int_eq(core_fsync(core, ino, false), 0);
    uint64_t edit_put = stats().chunks_put - put1;
    printf("overwrite 1 byte in the middle: %llu chunks committed\n", (unsigned long long)edit_put);
    ck_assert_uint_le(edit_put, 3);
    ck_assert_uint_le(stats().chunks, chunks1 + 3);
    expect(ino, len / 2 - 300000, data + len / 2 - 300000, 600000);

    /* scattered 1-byte edits: each costs about one chunk */
    uint64_t put2 = stats().chunks_put;
    for (int i = 1; i <= 8; i++) {
        size_t at = len / 9 * (size_t)i + 12345;
        data[at] ^= 0xff;
        write_all(ino, at, data + at, 1, 1);
    }
    ck_assert_int_eq(core_flush(core, ino), 0);
    ck_assert_uint_le(stats().chunks_put - put2, 8 * 3);
    ck_assert_int_eq(core_file_release(core, ino), 0);
    core_close(core);
    open_core(0);
    expect(ino, 0, data, len + 4096);
    free(data);
}
END_TEST

START_TEST(truncate_down_and_up)
{
    size_t len = 300000;
    uint8_t *data = calloc(1, 1 << 20);
    fill_random(data, len, 6);
    uint64_t ino = mkfile("t");
    write_all(ino, 0, data, len, 65536);
    struct stat in = {.st_size = 100001}, st;
    ck_assert_int_eq(core_setattr(core, &root, ino, &in, CORE_SET_SIZE, &st), 0);
    ck_assert_int_eq(st.st_size, 100001);
    memset(data + 100001, 0, len - 100001);
    expect(ino, 0, data, 100001);
    in.st_size = 1 << 20;
    ck_assert_int_eq(core_setattr(core, &root, ino, &in, CORE_SET_SIZE, &st), 0);
    expect(ino, 0, data, 1 << 20); /* the old tail does not come back */
    in.st_size = 0;
    ck_assert_int_eq(core_setattr(core, &root, ino, &in, CORE_SET_SIZE, &st), 0);
    ck_assert_int_eq(st.st_blocks, 0);
    ck_assert_int_eq(core_file_release(core, ino), 0);
    free(data);
}
END_TEST

START_TEST(punch_hole_and_fallocate)
{
    size_t len = 1 << 20;
    uint8_t *data = malloc(len);
    fill_random(data, len, 7);
    uint64_t ino = mkfile("p");
    write_all(ino, 0, data, len, 131072);
    ck_assert_int_eq(core_flush(core, ino), 0);
    struct stat before, after;
    ck_assert_int_eq(core_getattr(core, ino, &before), 0);
    ck_assert_int_eq(core_fallocate(core, &root, ino, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                                    200000, 300000),
                     0);
    memset(data + 200000, 0, 300000);
    expect(ino, 0, data, len);
    ck_assert_int_eq(core_getattr(core, ino, &after), 0);
    ck_assert_int_eq(after.st_size, (off_t)len);
    long freed = (long)(before.st_blocks - after.st_blocks) * 512;
    ck_assert_int_le(labs(freed - 300000), 512);
    ck_assert_int_eq(core_fallocate(core, &root, ino, FALLOC_FL_KEEP_SIZE, 0, 4 << 20), 0);
    ck_assert_int_eq(size_of(ino), (off_t)len);
    ck_assert_int_eq(core_fallocate(core, &root, ino, 0, len, 1 << 20), 0);
    ck_assert_int_eq(size_of(ino), (off_t)(2 * len));
    ck_assert_int_eq(core_fallocate(core, &root, ino, FALLOC_FL_COLLAPSE_RANGE, 0, 4096),
                     -EOPNOTSUPP);
    ck_assert_int_eq(core_file_release(core, ino), 0);
    free(data);
}
END_TEST

START_TEST(copy_file_range_shares_chunks)
{
    size_t len = 8 << 20;
    uint8_t *data = malloc(len);
    fill_random(data, len, 8);
    uint64_t a = mkfile("a"), b = mkfile("b"), c = mkfile("c");
    write_all(a, 0, data, len, 1 << 20); /* still staged: the copy commits it first */
    ck_assert_int_eq(core_copy_file_range(core, &root, a, 0, b, 0, len + 100), (ssize_t)len);
    struct core_stats s0 = stats();
    ck_assert_int_eq(core_copy_file_range(core, &root, a, 1000, c, 5, 3 << 20), 3 << 20);
    struct core_stats s1 = stats();
    ck_assert_uint_eq(s1.chunks_put, s0.chunks_put); /* no byte copied */
    ck_assert_uint_eq(s1.chunks, s0.chunks);
    expect(b, 0, data, len);
    expect(c, 5, data + 1000, 3 << 20);
    ck_assert_int_eq(size_of(c), (3 << 20) + 5);
    ck_assert_int_eq(core_copy_file_range(core, &root, a, len, c, 0, 10), 0);
    ck_assert_int_eq(core_copy_file_range(core, &root, a, 0, a, 100, 1000), -EINVAL);
    /* the copies outlive the original */
    ck_assert_int_eq(core_file_release(core, a), 0);
    ck_assert_int_eq(core_unlink(core, &root, 1, "a"), 0);
    expect(b, 0, data, len);
    ck_assert_int_eq(core_file_release(core, b), 0);
    ck_assert_int_eq(core_file_release(core, c), 0);
    free(data);
}
END_TEST

/* Polls (10 s deadline) until the GC has brought the store down. */
static void wait_freed(uint64_t want_chunks, uint64_t want_freed)
{
    for (int i = 0; i < 1000; i++) {
        struct core_stats s = stats();
        if (s.chunks <= want_chunks && s.chunks_freed >= want_freed)
            break;
        usleep(10000);
    }
    ck_assert_uint_le(stats().chunks, want_chunks);
    ck_assert_uint_ge(stats().chunks_freed, want_freed);
}

START_TEST(gc_deletes_unreferenced)
{
    size_t len = 2 << 20;
    uint8_t *data = malloc(len);
    fill_random(data, len, 9);
    uint64_t a = mkfile("a");
    write_all(a, 0, data, len, 1 << 20);
    ck_assert_int_eq(core_file_release(core, a), 0);
    uint64_t n = stats().chunks;
    ck_assert_uint_gt(n, 4);
    ck_assert_int_eq(core_unlink(core, &root, 1, "a"), 0);
    wait_freed(0, n);
    /* the same bytes again: stored again, readable */
    uint64_t b = mkfile("b");
    write_all(b, 0, data, len, 1 << 20);
    ck_assert_int_eq(core_file_release(core, b), 0);
    ck_assert_int_eq(core_file_open(core, b, O_RDONLY), 0);
    expect(b, 0, data, len);
    ck_assert_int_eq(core_file_release(core, b), 0);
    free(data);
}
END_TEST

START_TEST(staging_is_bounded)
{
    core_close(core);
    open_core(4 << 20);
    size_t piece = 1 << 20, total = (sanitized() ? 24u : 64u) << 20;
    uint8_t *data = malloc(piece);
    uint64_t ino = mkfile("stream");
    uint64_t peak = 0;
    for (size_t off = 0; off < total; off += piece) {
        fill_random(data, piece, off);
        ck_assert_int_eq(core_write(core, &root, ino, off, data, piece), (ssize_t)piece);
        uint64_t s = stats().staged_bytes;
        peak = s > peak ? s : peak;
    }
    ck_assert_uint_le(peak, (4 << 20) + piece + 65536);
    ck_assert_int_eq(core_file_release(core, ino), 0);
    ck_assert_int_eq(size_of(ino), (off_t)total);
    fill_random(data, piece, total - piece);
    ck_assert_int_eq(core_file_open(core, ino, O_RDONLY), 0);
    expect(ino, total - piece, data, piece);
    ck_assert_int_eq(core_file_release(core, ino), 0);
    free(data);
}
END_TEST

START_TEST(unlinked_open_file_stays_readable)
{
    uint8_t data[5000];
    fill_random(data, sizeof(data), 10);
    uint64_t ino = mkfile("o");
    write_all(ino, 0, data, sizeof(data), 5000);
    ck_assert_int_eq(core_flush(core, ino), 0);
    ck_assert_int_eq(core_unlink(core, &root, 1, "o"), 0);
    expect(ino, 0, data, sizeof(data));
    struct stat st;
    ck_assert_int_eq(core_getattr(core, ino, &st), 0);
    ck_assert_int_eq(st.st_nlink, 0);
    ck_assert_int_eq(core_file_release(core, ino), 0);
    ck_assert_int_eq(core_getattr(core, ino, &st), -ENOENT);
}
END_TEST

START_TEST(orphan_reaped_at_restart)
{
    size_t len = 1 << 20;
    uint8_t *data = malloc(len);
    fill_random(data, len, 11);
    uint64_t ino = mkfile("gone");
    write_all(ino, 0, data, len, 1 << 20);
    ck_assert_int_eq(core_flush(core, ino), 0);
    ck_assert_uint_gt(stats().chunks, 0);
    ck_assert_int_eq(core_unlink(core, &root, 1, "gone"), 0);
    core_close(core); /* as if the daemon died with the file open */
    open_core(0);
    struct stat st;
    ck_assert_int_eq(core_getattr(core, ino, &st), -ENOENT);
    wait_freed(0, 1);
    free(data);
}
END_TEST

struct worker {
    int id, rounds, failed;
};

/* Each worker rewrites its own file with shared and private content, then
 * reads it back; shared chunks are dropped and re-referenced constantly, so
 * the GC runs against in-flight commits all the time. */
static void *worker_run(void *arg)
{
    struct worker *w = arg;
    size_t len = 300000;
    uint8_t *data = malloc(len), *got = malloc(len);
    char name[16];
    snprintf(name, sizeof(name), "w%d", w->id);
    for (int r = 0; r < w->rounds && !w->failed; r++) {
        struct stat st;
        fill_random(data, len, (uint64_t)(r % 3)); /* shared between workers */
        fill_random(data + 1000 * w->id, 1000, 1000 + (uint64_t)w->id);
        if (core_mknod(core, &root, 1, name, S_IFREG | 0644, 0, &st) ||
            core_file_open(core, st.st_ino, O_RDWR) ||
            core_write(core, &root, st.st_ino, 0, data, len) != (ssize_t)len ||
            core_file_release(core, st.st_ino) || core_file_open(core, st.st_ino, O_RDONLY) ||
            core_read(core, st.st_ino, 0, got, len) != (ssize_t)len ||
            memcmp(got, data, len) != 0 || core_file_release(core, st.st_ino) ||
            core_unlink(core, &root, 1, name))
            w->failed = r + 1;
    }
    free(data);
    free(got);
    return NULL;
}

START_TEST(concurrent_writers_and_gc)
{
    enum { N = 4 };
    pthread_t t[N];
    struct worker w[N];
    for (int i = 0; i < N; i++) {
        w[i] = (struct worker){i, sanitized() ? 5 : 12, 0};
        pthread_create(&t[i], NULL, worker_run, &w[i]);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        ck_assert_msg(w[i].failed == 0, "worker %d failed in round %d", i, w[i].failed);
    }
    wait_freed(0, 1); /* everything unlinked: the store empties */
}
END_TEST

START_TEST(nonroot_write_clears_setuid)
{
    struct stat st, in = {.st_mode = 06755};
    uint64_t ino = mkfile("suid");
    ck_assert_int_eq(core_setattr(core, &root, ino, &in, CORE_SET_MODE, &st), 0);
    ck_assert_uint_eq(st.st_mode & 07777, 06755);
    ck_assert_int_eq(core_write(core, &root, ino, 0, "x", 1), 1);
    ck_assert_int_eq(core_flush(core, ino), 0);
    ck_assert_int_eq(core_getattr(core, ino, &st), 0);
    ck_assert_uint_eq(st.st_mode & 07777, 06755); /* root keeps them */
    ck_assert_int_eq(core_write(core, &user, ino, 1, "y", 1), 1);
    ck_assert_int_eq(core_flush(core, ino), 0);
    ck_assert_int_eq(core_getattr(core, ino, &st), 0);
    ck_assert_uint_eq(st.st_mode & 07777, 0755);
    ck_assert_int_eq(core_file_release(core, ino), 0);
}
END_TEST

START_TEST(relatime_on_close)
{
    uint64_t ino = mkfile("at");
    ck_assert_int_eq(core_write(core, &root, ino, 0, "data", 4), 4);
    ck_assert_int_eq(core_flush(core, ino), 0);
    struct stat in = {.st_atim = {946684800, 0}}, st; /* 2000-01-01 */
    ck_assert_int_eq(core_setattr(core, &root, ino, &in, CORE_SET_ATIME, &st), 0);
    ck_assert_int_eq(st.st_atim.tv_sec, 946684800);
    char b[4];
    ck_assert_int_eq(core_read(core, ino, 0, b, 4), 4);
    ck_assert_int_eq(core_getattr(core, ino, &st), 0);
    ck_assert_int_eq(st.st_atim.tv_sec, 946684800); /* not on the read path */
    ck_assert_int_eq(core_flush(core, ino), 0);
    ck_assert_int_eq(core_getattr(core, ino, &st), 0);
    ck_assert_int_gt(st.st_atim.tv_sec, 946684800); /* by close */
    /* a fresh atime (after mtime, under a day) is left alone */
    struct timespec a1 = st.st_atim;
    ck_assert_int_eq(core_read(core, ino, 0, b, 4), 4);
    ck_assert_int_eq(core_flush(core, ino), 0);
    ck_assert_int_eq(core_getattr(core, ino, &st), 0);
    ck_assert_int_eq(st.st_atim.tv_nsec, a1.tv_nsec);
    ck_assert_int_eq(core_file_release(core, ino), 0);
    /* noatime: never */
    core_close(core);
    struct core_config cfg = {.data_dir = dir, .atime_mode = CORE_ATIME_NOATIME};
    ck_assert_int_eq(core_open(&cfg, &core), 0);
    ck_assert_int_eq(core_setattr(core, &root, ino, &in, CORE_SET_ATIME, &st), 0);
    ck_assert_int_eq(core_file_open(core, ino, O_RDONLY), 0);
    ck_assert_int_eq(core_read(core, ino, 0, b, 4), 4);
    ck_assert_int_eq(core_file_release(core, ino), 0);
    ck_assert_int_eq(core_getattr(core, ino, &st), 0);
    ck_assert_int_eq(st.st_atim.tv_sec, 946684800);
}
END_TEST

/* A read's queued atime update never lands after a later explicit one. */
START_TEST(queued_atime_before_utimens)
{
    uint64_t ino = mkfile("at2");
    ck_assert_int_eq(core_write(core, &root, ino, 0, "data", 4), 4);
    ck_assert_int_eq(core_flush(core, ino), 0);
    char b[4];
    struct stat in = {.st_atim = {978307200, 0}}, st; /* 2001-01-01 */
    for (int i = 0; i < 50; i++) {
        struct stat old = {.st_atim = {946684800, 0}};
        ck_assert_int_eq(core_setattr(core, &root, ino, &old, CORE_SET_ATIME, &st), 0);
        ck_assert_int_eq(core_read(core, ino, 0, b, 4), 4);
        core_flush_reader(core, ino); /* queues an update to now */
        ck_assert_int_eq(core_setattr(core, &root, ino, &in, CORE_SET_ATIME, &st), 0);
        ck_assert_int_eq(core_getattr(core, ino, &st), 0); /* waits for one in flight */
        ck_assert_int_eq(st.st_atim.tv_sec, 978307200);
    }
    ck_assert_int_eq(core_file_release(core, ino), 0);
    core_close(core); /* drains the queue */
    struct core_config cfg = {.data_dir = dir};
    ck_assert_int_eq(core_open(&cfg, &core), 0);
    ck_assert_int_eq(core_getattr(core, ino, &st), 0);
    ck_assert_int_eq(st.st_atim.tv_sec, 978307200);
}
END_TEST

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    Suite *s = suite_create("core_content");
    TCase *tc = tcase_create("content");
    tcase_set_timeout(tc, 200);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, write_read_flush_reopen);
    tcase_add_test(tc, append_goes_at_the_end);
    tcase_add_test(tc, holes_store_nothing);
    tcase_add_test(tc, edits_commit_few_chunks);
    tcase_add_test(tc, truncate_down_and_up);
    tcase_add_test(tc, punch_hole_and_fallocate);
    tcase_add_test(tc, copy_file_range_shares_chunks);
    tcase_add_test(tc, gc_deletes_unreferenced);
    tcase_add_test(tc, staging_is_bounded);
    tcase_add_test(tc, unlinked_open_file_stays_readable);
    tcase_add_test(tc, nonroot_write_clears_setuid);
    tcase_add_test(tc, relatime_on_close);
    tcase_add_test(tc, queued_atime_before_utimens);
    tcase_add_test(tc, orphan_reaped_at_restart);
    tcase_add_test(tc, concurrent_writers_and_gc);
    suite_add_tcase(s, tc);
    return scratch_run(s);
}
