/*
 * Unit tests of the log-file persistence backend: round trip, overwrite and
 * truncation, torn tails and damaged frames, header checks, compaction, the
 * truncation hook, import from the LMDB backend, a full disk, and a writer
 * killed with SIGKILL between persisting and answering.
 */
#include "consensus/persist_file.h"
#include "consensus/msg_codec.h"
#include "consensus/persist_lmdb.h"
#include "tests/consensus/persist_contract.h"

#include "common/bytes.h"
#include "common/crc32c.h"

#include "tests/unit/scratch.h"
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64], path[96];

static void setup(void)
{
    ck_assert_int_eq(scratch_mkdir(dir, sizeof(dir), "paxfile"), 0);
    snprintf(path, sizeof(path), "%s/paxos.log", dir);
}

static void rm_in_dir(const char *name)
{
    char p[160];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    unlink(p);
}

static void teardown(void)
{
    const char *names[] = {"paxos.log", "paxos.log.tmp", "data.mdb", "lock.mdb", "filler"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        rm_in_dir(names[i]);
    rmdir(dir);
}

static struct seen seen;

static struct cons_persist_state load(struct persist_file *p)
{
    struct cons_persist_state st;
    memset(&seen, 0, sizeof(seen));
    ck_assert_int_eq(persist_file_ops.load(p, &st, seen_collect, &seen), 0);
    return st;
}

static int save(struct persist_file *p, uint64_t promised, uint64_t log_start, uint64_t first,
                uint64_t n, uint8_t flags)
{
    return save_slots(&persist_file_ops, p, promised, log_start, first, n, flags);
}

static struct persist_file *open_file(const struct persist_file_options *o)
{
    struct persist_file *p;
    ck_assert_int_eq(persist_file_open(path, o, &p), 0);
    return p;
}

static off_t file_size(const char *f)
{
    struct stat sb;
    ck_assert_int_eq(stat(f, &sb), 0);
    return sb.st_size;
}

START_TEST(test_roundtrip_overwrite_and_truncation)
{
    struct persist_file *p = open_file(NULL);
    struct cons_persist_state st = load(p);
    ck_assert_uint_eq(st.promised, 0);
    ck_assert_uint_eq(st.log_start, 1);
    ck_assert_uint_eq(seen.n, 0);
    ck_assert_int_eq(save(p, 0x301, 1, 1, 10, 0), 0);
    ck_assert_int_eq(save(p, 0x402, 4, 11, 5, 0), 0);
    ck_assert_int_eq(save(p, 0x402, 4, 8, 2, CONS_REC_CHOSEN), 0); /* 8, 9 again */
    persist_file_close(p);

    p = open_file(NULL);
    st = load(p);
    ck_assert_uint_eq(st.promised, 0x402);
    ck_assert_uint_eq(st.commit, 9);
    ck_assert_uint_eq(st.log_start, 4);
    ck_assert_uint_eq(seen.n, 12); /* slots 4..15, once each */
    for (uint64_t i = 0; i < 12; i++)
        ck_assert_uint_eq(seen.slots[i], 4 + i);
    ck_assert_uint_eq(seen.ballots[0], 0x301);
    ck_assert_uint_eq(seen.ballots[4], 0x402); /* slot 8: the later record */
    ck_assert_uint_eq(seen.flags[4], CONS_REC_CHOSEN);
    ck_assert_uint_eq(seen.flags[3], 0);
    ck_assert_str_eq(seen.data[11], "cmd-15");
    persist_file_close(p);
}
END_TEST

/* The file's bytes, for tests that damage it. */
static uint8_t *read_all(size_t *n)
{
    *n = (size_t)file_size(path);
    uint8_t *b = malloc(*n);
    int fd = open(path, O_RDONLY);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pread(fd, b, *n, 0), (ssize_t)*n);
    close(fd);
    return b;
}

static void write_at(const void *b, size_t n, off_t off)
{
    int fd = open(path, O_WRONLY);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pwrite(fd, b, n, off), (ssize_t)n);
    close(fd);
}

/* Three saves; returns the offsets where frames 2 and 3 start. */
static void three_frames(uint64_t *second, uint64_t *third)
{
    struct persist_file *p = open_file(NULL);
    ck_assert_int_eq(save(p, 0x101, 1, 1, 2, 0), 0);
    *second = 32 + persist_file_bytes(p);
    ck_assert_int_eq(save(p, 0x101, 1, 3, 2, 0), 0);
    *third = 32 + persist_file_bytes(p);
    ck_assert_int_eq(save(p, 0x101, 1, 5, 2, 0), 0);
    persist_file_close(p);
}

/* A crash mid-write: the last frame's tail never reached the disk. */
START_TEST(test_torn_tail_ends_the_log)
{
    uint64_t second, third;
    three_frames(&second, &third);
    uint8_t zeros[16] = {0};
    write_at(zeros, sizeof(zeros), (off_t)third + 20);
    struct persist_file *p = open_file(NULL);
    load(p);
    ck_assert_uint_eq(seen.n, 4); /* slots 1..4 */
    ck_assert_uint_eq(persist_file_bytes(p), third - 32);
    ck_assert_int_eq(save(p, 0x101, 1, 7, 1, 0), 0); /* written over the torn frame */
    persist_file_close(p);
    p = open_file(NULL);
    load(p);
    ck_assert_uint_eq(seen.n, 5);
    ck_assert_uint_eq(seen.slots[4], 7);
    persist_file_close(p);
}
END_TEST

/* A bad frame with a whole frame after it is damage, not a torn write. */
START_TEST(test_damaged_frame_refused)
{
    uint64_t second, third;
    three_frames(&second, &third);
    size_t n;
    uint8_t *b = read_all(&n);
    uint8_t flip = b[second + 40] ^ 0x10;
    free(b);
    write_at(&flip, 1, (off_t)second + 40);
    struct persist_file *p;
    ck_assert_int_eq(persist_file_open(path, NULL, &p), -EIO);
}
END_TEST

/* A lost write in the middle (zeros where frame 2 was, length included):
 * frame 3 after it shows damage, not a torn tail. */
START_TEST(test_zeroed_frame_refused)
{
    uint64_t second, third;
    three_frames(&second, &third);
    static const uint8_t zeros[4096];
    ck_assert_uint_le(third - second, sizeof(zeros));
    write_at(zeros, (size_t)(third - second), (off_t)second);
    struct persist_file *p;
    ck_assert_int_eq(persist_file_open(path, NULL, &p), -EIO);
}
END_TEST

/* The bytes of a torn frame are cleared at open: what lies past the end
 * is zeros again, for the damage check of the next open. */
START_TEST(test_torn_bytes_cleared)
{
    uint64_t second, third;
    three_frames(&second, &third);
    static const uint8_t zeros[4];
    write_at(zeros, sizeof(zeros), (off_t)third); /* frame 3's magic never written */
    struct persist_file *p = open_file(NULL);
    ck_assert_uint_eq(persist_file_bytes(p), third - 32);
    persist_file_close(p);
    size_t n;
    uint8_t *b = read_all(&n);
    size_t nonzero = 0;
    for (size_t i = third; i < n; i++)
        nonzero += b[i] != 0;
    free(b);
    ck_assert_uint_eq(nonzero, 0);
}
END_TEST

START_TEST(test_header_checked)
{
    persist_file_close(open_file(NULL));
    size_t n;
    uint8_t *b = read_all(&n);
    uint8_t h[32];
    memcpy(h, b, 32);
    free(b);
    struct persist_file *p;
    put_u32(h + 8, PAXOS_FILE_VERSION + 1); /* another version, checksum right */
    put_u32(h + 28, crc32c_update(0, h, 28));
    write_at(h, 32, 0);
    ck_assert_int_eq(persist_file_open(path, NULL, &p), -EPROTO);
    h[20] = 1; /* checksum now wrong */
    write_at(h, 32, 0);
    ck_assert_int_eq(persist_file_open(path, NULL, &p), -EIO);
    write_at("NOTPAXOS", 8, 0);
    ck_assert_int_eq(persist_file_open(path, NULL, &p), -EPROTO);
}
END_TEST

/* Rewriting the same slots again and again: the file stays bounded, also
 * across a reopen. */
START_TEST(test_compaction_bounds_the_file)
{
    struct persist_file_options o = {.grow_bytes = 4096, .compact_bytes = 8192};
    struct persist_file *p = open_file(&o);
    uint64_t most = 0;
    bool reopened = false;
    for (uint64_t round = 1; round <= 2000; round++) {
        uint64_t start = round > 20 ? round - 20 : 1;
        ck_assert_int_eq(save(p, round << 8, start, round, 3, 0), 0);
        if (persist_file_bytes(p) > most)
            most = persist_file_bytes(p);
        if (!reopened && round > 1000 && persist_file_bytes(p) > 6000) {
            persist_file_close(p); /* a restart: what is live counts, not the file */
            p = open_file(&o);
            reopened = true;
        }
    }
    ck_assert_uint_le(most, 8192 + 4096);
    ck_assert_int_le(file_size(path), 16384 + 4096);
    persist_file_close(p);
    p = open_file(&o);
    struct cons_persist_state st = load(p);
    ck_assert_uint_eq(st.promised, 2000u << 8);
    ck_assert_uint_eq(st.log_start, 1980);
    ck_assert_uint_eq(seen.n, 23); /* 1980..2002 */
    ck_assert_uint_eq(seen.slots[0], 1980);
    ck_assert_uint_eq(seen.ballots[22], 2000u << 8);
    ck_assert_str_eq(seen.data[22], "cmd-2002");
    persist_file_close(p);
    char tmp[128];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    ck_assert_int_ne(access(tmp, F_OK), 0);
}
END_TEST

struct hook {
    int calls, fail;
};

static int before_truncate(void *ctx)
{
    struct hook *h = ctx;
    h->calls++;
    return h->fail;
}

START_TEST(test_truncation_waits_for_the_hook)
{
    struct hook h = {0, 0};
    struct persist_file_options o = {.before_truncate = before_truncate, .before_truncate_ctx = &h};
    struct persist_file *p = open_file(&o);
    ck_assert_int_eq(save(p, 0x101, 1, 1, 5, 0), 0);
    ck_assert_int_eq(save(p, 0x101, 1, 6, 1, 0), 0);
    ck_assert_int_eq(h.calls, 0);
    ck_assert_int_eq(save(p, 0x101, 3, 7, 1, 0), 0);
    ck_assert_int_eq(h.calls, 1);
    h.fail = -EIO; /* the store could not be made durable: nothing may go */
    ck_assert_int_eq(save(p, 0x101, 6, 8, 1, 0), -EIO);
    ck_assert_int_eq(h.calls, 2);
    persist_file_close(p);
    p = open_file(&o);
    struct cons_persist_state st = load(p);
    ck_assert_uint_eq(st.log_start, 3);
    ck_assert_uint_eq(seen.n, 5); /* 3..7 */
    persist_file_close(p);
}
END_TEST

static MDB_env *open_env(void)
{
    MDB_env *env;
    ck_assert_int_eq(mdb_env_create(&env), 0);
    ck_assert_int_eq(mdb_env_set_maxdbs(env, 4), 0);
    ck_assert_int_eq(mdb_env_set_mapsize(env, 64u << 20), 0);
    ck_assert_int_eq(mdb_env_open(env, dir, 0, 0600), 0);
    return env;
}

/* A node that kept its Paxos state in LMDB: a new file starts with it. */
START_TEST(test_import_from_lmdb)
{
    MDB_env *env = open_env();
    struct persist_lmdb *l;
    ck_assert_int_eq(persist_lmdb_open(&l, env), 0);
    struct cons_rec recs[3];
    const char *data[3] = {"a", "bb", "ccc"};
    for (int i = 0; i < 3; i++)
        recs[i] = (struct cons_rec){
            7 + (uint64_t)i,
            0x502,
            (uint8_t)(i == 0),
            {2, 40 + (uint64_t)i, CONS_KIND_CMD, (uint32_t)i + 1, (const uint8_t *)data[i]}};
    struct cons_persist_batch b = {{0x602, 7, 7}, 3, recs};
    ck_assert_int_eq(persist_lmdb_ops.save(l, &b), 0);
    struct persist_file_options o = {.import = &persist_lmdb_ops, .import_ctx = l};
    struct persist_file *p = open_file(&o);
    persist_lmdb_close(l);
    mdb_env_close(env);
    persist_file_close(p);
    p = open_file(NULL); /* nothing to import now: the file is there */
    struct cons_persist_state st = load(p);
    ck_assert_uint_eq(st.promised, 0x602);
    ck_assert_uint_eq(st.commit, 7);
    ck_assert_uint_eq(st.log_start, 7);
    ck_assert_uint_eq(seen.n, 3);
    ck_assert_uint_eq(seen.slots[2], 9);
    ck_assert_uint_eq(seen.flags[0], CONS_REC_CHOSEN);
    ck_assert_str_eq(seen.data[1], "bb");
    persist_file_close(p);
}
END_TEST

static void *file_open(void)
{
    struct persist_file_options o = {.grow_bytes = 8192, .compact_bytes = 16384};
    struct persist_file *p;
    return persist_file_open(path, &o, &p) ? NULL : p;
}

static void file_close(void *ctx)
{
    persist_file_close(ctx);
}

/* Also across compactions and growth steps (small ones here). */
START_TEST(test_sigkill_loses_nothing_acknowledged)
{
    struct backend b = {&persist_file_ops, file_open, file_close};
    check_sigkill_loses_nothing(&b, 300);
}
END_TEST

/* A full disk: the save that does not fit fails with ENOSPC and tears
 * nothing; once space is freed, saves work again. (A 1 MiB tmpfs.) */
START_TEST(test_full_disk)
{
    struct persist_file_options o = {.grow_bytes = 65536};
    struct persist_file *p = open_file(&o);
    char filler[96];
    snprintf(filler, sizeof(filler), "%s/filler", dir);
    int fd = open(filler, O_WRONLY | O_CREAT, 0600);
    ck_assert_int_ge(fd, 0);
    static uint8_t block[65536];
    while (write(fd, block, sizeof(block)) > 0)
        ;
    uint64_t slot = 1;
    int rc;
    while ((rc = save(p, 0x101, 1, slot, 64, 0)) == 0)
        slot += 64;
    ck_assert_int_eq(rc, -ENOSPC);
    ck_assert_uint_gt(slot, 1); /* the preallocated step held some */
    persist_file_close(p);
    p = open_file(&o);
    load(p);
    ck_assert_uint_eq(seen.n, slot - 1);
    ck_assert_int_eq(ftruncate(fd, 0), 0);
    close(fd);
    ck_assert_int_eq(save(p, 0x101, 1, slot, 64, 0), 0);
    persist_file_close(p);
    p = open_file(&o);
    load(p);
    ck_assert_uint_eq(seen.n, slot + 63);
    persist_file_close(p);
}
END_TEST

/* Unchecked fixture: runs in the parent, so the unmount happens even when
 * the test fails. */
static void setup_full(void)
{
    setup();
    if (mount("tmpfs", dir, "tmpfs", 0, "size=1m") < 0)
        abort();
}

static void teardown_full(void)
{
    if (umount2(dir, 0) < 0)
        umount2(dir, MNT_DETACH);
    rmdir(dir);
}

static int can_mount_tmpfs(void)
{
    char probe[64] = "/tmp/qfs-probe-XXXXXX";
    if (!mkdtemp(probe))
        return 0;
    int ok = mount("tmpfs", probe, "tmpfs", 0, "size=1m") == 0;
    if (ok)
        umount2(probe, 0);
    rmdir(probe);
    return ok;
}

int main(void)
{
    Suite *s = suite_create("consensus-file");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_roundtrip_overwrite_and_truncation);
    tcase_add_test(tc, test_torn_tail_ends_the_log);
    tcase_add_test(tc, test_damaged_frame_refused);
    tcase_add_test(tc, test_zeroed_frame_refused);
    tcase_add_test(tc, test_torn_bytes_cleared);
    tcase_add_test(tc, test_header_checked);
    tcase_add_test(tc, test_compaction_bounds_the_file);
    tcase_add_test(tc, test_truncation_waits_for_the_hook);
    tcase_add_test(tc, test_import_from_lmdb);
    tcase_add_test(tc, test_sigkill_loses_nothing_acknowledged);
    suite_add_tcase(s, tc);
    if (can_mount_tmpfs()) {
        TCase *full = tcase_create("full");
        tcase_add_unchecked_fixture(full, setup_full, teardown_full);
        tcase_add_test(full, test_full_disk);
        suite_add_tcase(s, full);
    } else {
        fprintf(stderr, "cannot mount a tmpfs: test_full_disk not run\n");
    }
    return scratch_run(s);
}
