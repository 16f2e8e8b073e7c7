/* The chunk store on a full disk (an 8 MiB tmpfs): a put that does not fit
 * is -ENOSPC, loses nothing committed, and puts work again once chunks are
 * deleted. Needs root for the mount; exits 77 (skipped) without it. */
#include "fs/chunk/chunk_store.h"
#include "fs/chunk/chunker.h"
#include "tests/unit/chunk/chunk_testutil.h"

#include "tests/unit/scratch.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define CH_LEN  (64u * 1024 + 123)
#define MAX_CH  400
#define SKIPPED 77

static char dir[64], chunks_dir[96];
static uint8_t *data; /* MAX_CH chunks of CH_LEN bytes */
static struct chunk_ref refs[MAX_CH];

/* Unchecked fixture: runs in the parent, so the unmount happens even when
 * the test fails. */
static void setup(void)
{
    tu_tempdir(dir, sizeof(dir));
    if (mount("tmpfs", dir, "tmpfs", 0, "size=8m") < 0)
        abort();
    snprintf(chunks_dir, sizeof(chunks_dir), "%s/chunks", dir);
    data = malloc((size_t)MAX_CH * CH_LEN);
    for (int i = 0; i < MAX_CH; i++)
        tu_make_chunk(&refs[i], data + (size_t)i * CH_LEN, CH_LEN, 500 + i);
}

static void teardown(void)
{
    if (umount2(dir, 0) < 0)
        umount2(dir, MNT_DETACH);
    rmdir(dir);
    free(data);
}

static void assert_intact(struct chunk_store *cs, int i, uint8_t *buf)
{
    uint32_t len;
    ck_assert_int_eq(chunk_store_get(cs, refs[i].hash, buf, CHUNK_MAX, &len), 0);
    ck_assert_uint_eq(len, CH_LEN);
    ck_assert(memcmp(buf, refs[i].data, len) == 0);
}

START_TEST(test_full_disk_then_space_freed)
{
    struct chunk_store *cs;
    uint8_t *buf = malloc(CHUNK_MAX);
    ck_assert_int_eq(chunk_store_open(chunks_dir, &cs), 0);
    int n = 0, rc = 0;
    while (n + 2 <= MAX_CH && (rc = chunk_store_put_batch(cs, &refs[n], 2)) == 0)
        n += 2;
    ck_assert_int_eq(rc, -ENOSPC);
    ck_assert_int_ge(n, 40); /* about 8 MiB of 64 KiB chunks went in first */
    ck_assert_int_eq(chunk_store_put_batch(cs, refs, 8), 0); /* all stored: no space needed */
    for (int i = 0; i < n; i++)
        assert_intact(cs, i, buf);
    ck_assert_int_eq(chunk_store_has(cs, refs[n].hash), 0);

    uint8_t(*del)[SHA256_LEN] = malloc((size_t)n * SHA256_LEN);
    int nd = 0;
    for (int i = 0; i < n; i += 2)
        memcpy(del[nd++], refs[i].hash, SHA256_LEN);
    ck_assert_int_eq(chunk_store_delete_batch(cs, del, (size_t)nd), 0);
    for (int i = n; i < n + 10; i += 2)
        ck_assert_int_eq(chunk_store_put_batch(cs, &refs[i], 2), 0);
    chunk_store_close(cs);

    ck_assert_int_eq(chunk_store_open(chunks_dir, &cs), 0);
    for (int i = 1; i < n; i += 2)
        assert_intact(cs, i, buf);
    for (int i = n; i < n + 10; i++)
        assert_intact(cs, i, buf);
    ck_assert_int_eq(chunk_store_has(cs, refs[0].hash), 0);
    chunk_store_close(cs);
    free(del);
    free(buf);
}
END_TEST

/* A caller's reserve (the metadata's room for a snapshot install) is left
 * free by every put, and puts fit again once it is lowered. */
START_TEST(test_reserve_is_left_free)
{
    struct chunk_store *cs;
    ck_assert_int_eq(chunk_store_open(chunks_dir, &cs), 0);
    chunk_store_set_reserve(cs, 5u << 20); /* of 8 MiB, with the store's own 2 MiB */
    int n = 0, rc = 0;
    while (n + 2 <= MAX_CH && (rc = chunk_store_put_batch(cs, &refs[n], 2)) == 0)
        n += 2;
    ck_assert_int_eq(rc, -ENOSPC);
    ck_assert_int_le(n, 16); /* about 1 MiB of 64 KiB chunks, not 8 */
    struct statvfs vfs;
    ck_assert_int_eq(statvfs(dir, &vfs), 0);
    ck_assert_uint_ge((uint64_t)vfs.f_bavail * vfs.f_frsize, 5u << 20);
    chunk_store_set_reserve(cs, 0);
    ck_assert_int_eq(chunk_store_put_batch(cs, &refs[n], 2), 0);
    chunk_store_close(cs);
}
END_TEST

int main(void)
{
    char probe[64];
    snprintf(probe, sizeof(probe), "/tmp/qfs-probe-XXXXXX");
    if (!mkdtemp(probe))
        return 1;
    int can_mount = mount("tmpfs", probe, "tmpfs", 0, "size=1m") == 0;
    if (can_mount)
        umount2(probe, 0);
    rmdir(probe);
    if (!can_mount) {
        fprintf(stderr, "cannot mount tmpfs (%s): skipped\n", strerror(errno));
        return SKIPPED;
    }
    Suite *s = suite_create("chunk_enospc");
    TCase *tc = tcase_create("core");
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_full_disk_then_space_freed);
    suite_add_tcase(s, tc);
    tc = tcase_create("reserve"); /* a fresh tmpfs */
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_reserve_is_left_free);
    suite_add_tcase(s, tc);
    return scratch_run(s);
}
