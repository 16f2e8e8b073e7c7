/*
 * The metadata store's checkpoints (fs/store/meta_checkpoint.h): commits do
 * not sync, so after a power cut the store must open at its last checkpoint
 * whatever the disk kept of the writes after it.
 *
 * A power cut is simulated at its worst: a child process commits, takes a
 * checkpoint, copies the store file as it then is, commits much more, and
 * exits without closing anything. Every page of the file that differs from
 * the copy is then overwritten with garbage (each write after the checkpoint
 * reached the disk torn), and the store must open with exactly the
 * checkpoint's contents. That fails if a commit after the checkpoint reused
 * one of its pages (no pin), or if the meta pages are not put back.
 */
#include "fs/store/meta_store.h"

#include "common/crc32c.h"
#include "tests/unit/scratch.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define NKEYS 2000

static char dir[64];

static void setup(void)
{
    ck_assert_int_eq(scratch_mkdir(dir, sizeof(dir), "ckpt"), 0);
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static void path_of(char *out, const char *name)
{
    snprintf(out, 128, "%s/%s", dir, name);
}

/* Sets keys [from, to) to key index + add, in one commit. */
static int put_keys(struct meta_store *ms, int from, int to, uint64_t add)
{
    MDB_txn *txn;
    int rc = meta_txn_write(ms, &txn);
    char key[16];
    for (int i = from; i < to && !rc; i++) {
        snprintf(key, sizeof(key), "k%05d", i);
        rc = meta_counter_put(ms, txn, key, (uint64_t)i + add);
    }
    if (rc) {
        mdb_txn_abort(txn);
        return rc;
    }
    return meta_commit(ms, txn);
}

static void assert_keys(struct meta_store *ms, uint64_t add)
{
    MDB_txn *txn;
    ck_assert_int_eq(meta_txn_read(ms, &txn), 0);
    char key[16];
    for (int i = 0; i < NKEYS; i++) {
        uint64_t v = 0;
        snprintf(key, sizeof(key), "k%05d", i);
        ck_assert_int_eq(meta_counter_get(ms, txn, key, &v), 0);
        ck_assert_uint_eq(v, (uint64_t)i + add);
    }
    mdb_txn_abort(txn);
}

static void copy_file(const char *from, const char *to)
{
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "cp %s %s", from, to);
    if (system(cmd) != 0)
        _exit(3);
}

/* The child: checkpoint at values +1, copy the file, then many commits of
 * +2 that would reuse the checkpoint's pages if they could; exits unclosed. */
static void child_work(void)
{
    struct meta_store *ms;
    char mdir[128], db[128], img[128];
    path_of(mdir, "meta");
    path_of(db, "meta/data.mdb");
    path_of(img, "at-checkpoint.img");
    if (meta_store_open(mdir, &ms))
        _exit(2);
    if (put_keys(ms, 0, NKEYS, 1) || meta_store_checkpoint(ms))
        _exit(2);
    copy_file(db, img);
    for (int round = 0; round < 300; round++)
        if (put_keys(ms, (round * 37) % NKEYS, (round * 37) % NKEYS + 40, 2))
            _exit(2);
    _exit(0);
}

static size_t read_all(const char *path, unsigned char **out)
{
    int fd = open(path, O_RDONLY);
    ck_assert_int_ge(fd, 0);
    struct stat st;
    ck_assert_int_eq(fstat(fd, &st), 0);
    *out = malloc((size_t)st.st_size);
    ck_assert_int_eq(read(fd, *out, (size_t)st.st_size), st.st_size);
    close(fd);
    return (size_t)st.st_size;
}

/* Every page written after the checkpoint becomes garbage. */
static int tear_later_writes(void)
{
    char db[128], img[128];
    path_of(db, "meta/data.mdb");
    path_of(img, "at-checkpoint.img");
    unsigned char *now, *then;
    size_t n = read_all(db, &now), m = read_all(img, &then);
    int torn = 0;
    for (size_t off = 0; off < n; off += 4096) {
        size_t len = n - off < 4096 ? n - off : 4096;
        if (off + len <= m && !memcmp(now + off, then + off, len))
            continue;
        memset(now + off, 0xa5, len);
        torn++;
    }
    int fd = open(db, O_WRONLY);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, now, n), (ssize_t)n);
    close(fd);
    free(now);
    free(then);
    return torn;
}

START_TEST(power_cut_opens_at_checkpoint)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        child_work();
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    int torn = tear_later_writes();
    ck_assert_int_gt(torn, 10); /* the commits after it did write pages */
    char mdir[128];
    path_of(mdir, "meta");
    struct meta_store *ms;
    ck_assert_int_eq(meta_store_open(mdir, &ms), 0);
    assert_keys(ms, 1);
    /* and it works on from there */
    ck_assert_int_eq(put_keys(ms, 0, NKEYS, 5), 0);
    meta_store_close(ms);
    ck_assert_int_eq(meta_store_open(mdir, &ms), 0);
    assert_keys(ms, 5);
    meta_store_close(ms);
}
END_TEST

START_TEST(clean_close_keeps_every_commit)
{
    char mdir[128];
    path_of(mdir, "meta");
    struct meta_store *ms;
    ck_assert_int_eq(meta_store_open(mdir, &ms), 0);
    ck_assert_int_eq(put_keys(ms, 0, NKEYS, 1), 0);
    ck_assert_int_eq(meta_store_checkpoint(ms), 0);
    ck_assert_int_eq(put_keys(ms, 0, NKEYS, 7), 0); /* after the last checkpoint */
    meta_store_close(ms);
    ck_assert_int_eq(meta_store_open(mdir, &ms), 0);
    assert_keys(ms, 7);
    meta_store_close(ms);
}
END_TEST

START_TEST(second_opener_is_refused)
{
    char mdir[128];
    path_of(mdir, "meta");
    struct meta_store *ms, *again;
    ck_assert_int_eq(meta_store_open(mdir, &ms), 0);
    ck_assert_int_eq(meta_store_open(mdir, &again), -EBUSY);
    meta_store_close(ms);
    ck_assert_int_eq(meta_store_open(mdir, &again), 0);
    meta_store_close(again);
}
END_TEST

START_TEST(due_after_commits_not_before)
{
    char mdir[128];
    path_of(mdir, "meta");
    struct meta_store *ms;
    ck_assert_int_eq(meta_store_open(mdir, &ms), 0);
    ck_assert_int_eq(meta_store_checkpoint(ms), 0);
    ck_assert(!meta_store_checkpoint_due(ms));
    for (int i = 0; i < 300; i++)
        ck_assert_int_eq(put_keys(ms, i, i + 1, 1), 0);
    ck_assert(meta_store_checkpoint_due(ms));
    ck_assert_int_eq(meta_store_checkpoint(ms), 0);
    ck_assert(!meta_store_checkpoint_due(ms));
    meta_store_close(ms);
}
END_TEST

/* Rewrites a slot's version (layout: docs/on-disk-meta.md) with a valid CRC. */
static void set_slot_version(int fd, int slot, uint32_t version)
{
    static unsigned char b[256 << 10];
    off_t off = (off_t)slot * (256 << 10);
    ck_assert_int_gt(pread(fd, b, sizeof(b), off), 40);
    uint32_t psize = b[8] | b[9] << 8 | (uint32_t)b[10] << 16 | (uint32_t)b[11] << 24;
    memcpy(b + 4, &version, 4); /* the tests run little-endian */
    uint32_t crc = crc32c_update(crc32c_update(0, b, 12), b + 16, 40 - 16 + 2 * (size_t)psize);
    memcpy(b + 12, &crc, 4);
    ck_assert_int_eq(pwrite(fd, b, 40 + 2 * (size_t)psize, off), 40 + 2 * (ssize_t)psize);
}

/* Another format version is refused; a torn newest slot falls back to the
 * other one. */
START_TEST(other_version_refused_torn_slot_skipped)
{
    char mdir[128], ck[128];
    path_of(mdir, "meta");
    path_of(ck, "meta/checkpoint");
    struct meta_store *ms;
    ck_assert_int_eq(meta_store_open(mdir, &ms), 0);
    ck_assert_int_eq(put_keys(ms, 0, NKEYS, 1), 0);
    meta_store_close(ms); /* two checkpoints: at open and at close */
    int fd = open(ck, O_RDWR);
    ck_assert_int_ge(fd, 0);
    set_slot_version(fd, 0, 2);
    set_slot_version(fd, 1, 2);
    ck_assert_int_eq(meta_store_open(mdir, &ms), -EPROTO);
    set_slot_version(fd, 0, 1);
    set_slot_version(fd, 1, 1);
    ck_assert_int_eq(meta_store_open(mdir, &ms), 0);
    assert_keys(ms, 1);
    ck_assert_int_eq(put_keys(ms, 0, NKEYS, 3), 0);
    meta_store_close(ms);
    /* Tear the newest slot (the close's, as if the power went while it was
     * written): the one before it, still pinned then, is whole. */
    uint64_t seq[2];
    ck_assert_int_eq(pread(fd, &seq[0], 8, 16), 8);
    ck_assert_int_eq(pread(fd, &seq[1], 8, (256 << 10) + 16), 8);
    unsigned char junk = 0x5a;
    ck_assert_int_eq(pwrite(fd, &junk, 1, (seq[1] > seq[0] ? 256 << 10 : 0) + 100), 1);
    close(fd);
    ck_assert_int_eq(meta_store_open(mdir, &ms), 0);
    assert_keys(ms, 1);
    meta_store_close(ms);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("meta_checkpoint");
    TCase *tc = tcase_create("checkpoint");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, power_cut_opens_at_checkpoint);
    tcase_add_test(tc, clean_close_keeps_every_commit);
    tcase_add_test(tc, second_opener_is_refused);
    tcase_add_test(tc, due_after_commits_not_before);
    tcase_add_test(tc, other_version_refused_torn_slot_skipped);
    suite_add_tcase(s, tc);
    return scratch_run(s);
}
