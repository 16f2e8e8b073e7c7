/* Unit tests for fs/chunk/chunk_uncache.c: a bulk put flagged
 * CHUNK_PUT_UNCACHE leaves its bytes out of the page cache, a small one
 * does not, chunks named later (chunk_store_uncache) leave it too, and
 * every chunk reads back whole either way. */
#include "fs/chunk/chunk_store.h"
#include "fs/chunk/chunker.h"
#include "tests/unit/chunk/chunk_testutil.h"

#include "tests/unit/scratch.h"
#include <check.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#define LEN     65520u /* one 16-page piece */
#define NCHUNKS 64     /* 4 MiB a batch */

/* Pages of dir/data.mdb in the page cache (through a mapping of our own,
 * which mincore() reads without faulting anything in). */
static long resident_pages(const char *dir)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/data.mdb", dir);
    int fd = open(path, O_RDONLY);
    ck_assert_int_ge(fd, 0);
    struct stat st;
    ck_assert_int_eq(fstat(fd, &st), 0);
    long psize = sysconf(_SC_PAGESIZE), n = (st.st_size + psize - 1) / psize, count = 0;
    void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    ck_assert_ptr_ne(map, MAP_FAILED);
    unsigned char *vec = malloc((size_t)n);
    ck_assert_ptr_nonnull(vec);
    ck_assert_int_eq(mincore(map, (size_t)st.st_size, vec), 0);
    for (long i = 0; i < n; i++)
        count += vec[i] & 1;
    free(vec);
    munmap(map, (size_t)st.st_size);
    close(fd);
    return count;
}

/* tmpfs keeps its pages whatever the advice: residency says nothing there. */
static int on_tmpfs(const char *dir)
{
    struct statfs sf;
    return statfs(dir, &sf) == 0 && sf.f_type == TMPFS_MAGIC;
}

static struct chunk_ref *make_chunks(uint8_t **mem, uint64_t seed, size_t n)
{
    struct chunk_ref *c = calloc(n, sizeof(*c));
    *mem = malloc(n * LEN);
    ck_assert(c && *mem);
    for (size_t i = 0; i < n; i++)
        tu_make_chunk(&c[i], *mem + i * LEN, LEN, seed + i);
    return c;
}

static void assert_read_back(struct chunk_store *cs, const struct chunk_ref *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t len = 0;
        ck_assert_int_eq(chunk_store_get(cs, c[i].hash, tu.out, CHUNK_MAX, &len), 0);
        ck_assert_uint_eq(len, c[i].len);
        ck_assert(memcmp(tu.out, c[i].data, len) == 0);
    }
}

START_TEST(bulk_put_leaves_the_page_cache)
{
    struct chunk_store *cs;
    uint8_t *mem_a, *mem_b;
    struct chunk_ref *a = make_chunks(&mem_a, 100, NCHUNKS), *b = make_chunks(&mem_b, 900, NCHUNKS);
    ck_assert_int_eq(chunk_store_open(tu.dir, &cs), 0);
    ck_assert_int_eq(chunk_store_put_batch(cs, a, NCHUNKS), 0);
    long kept = resident_pages(tu.dir);
    ck_assert_int_eq(chunk_store_put_batch_flags(cs, b, NCHUNKS, CHUNK_PUT_UNCACHE), 0);
    long after = resident_pages(tu.dir);
    if (on_tmpfs(tu.dir)) {
        fprintf(stderr, "%s is on tmpfs: page cache not checked\n", tu.dir);
    } else {
        /* The unflagged 4 MiB stayed (1,024 pages and the trees'); of the
         * flagged 4 MiB, at most a quarter did. */
        ck_assert_int_ge(kept, NCHUNKS * 16 * 9 / 10);
        ck_assert_int_lt(after, kept + NCHUNKS * 16 / 4);
    }
    assert_read_back(cs, a, NCHUNKS);
    assert_read_back(cs, b, NCHUNKS);
    chunk_store_close(cs);
    free(a);
    free(b);
    free(mem_a);
    free(mem_b);
}
END_TEST

START_TEST(small_put_stays_cached)
{
    struct chunk_store *cs;
    uint8_t *mem;
    struct chunk_ref *c = make_chunks(&mem, 300, 8); /* 512 KiB: under the 1 MiB */
    ck_assert_int_eq(chunk_store_open(tu.dir, &cs), 0);
    long before = resident_pages(tu.dir);
    ck_assert_int_eq(chunk_store_put_batch_flags(cs, c, 8, CHUNK_PUT_UNCACHE), 0);
    if (!on_tmpfs(tu.dir))
        ck_assert_int_ge(resident_pages(tu.dir), before + 8 * 16 * 9 / 10);
    assert_read_back(cs, c, 8);
    chunk_store_close(cs);
    free(c);
    free(mem);
}
END_TEST

START_TEST(uncache_by_name)
{
    struct chunk_store *cs;
    uint8_t *mem;
    struct chunk_ref *c = make_chunks(&mem, 500, NCHUNKS);
    uint8_t(*hashes)[SHA256_LEN] = malloc(NCHUNKS * SHA256_LEN);
    ck_assert_ptr_nonnull(hashes);
    for (size_t i = 0; i < NCHUNKS; i++)
        memcpy(hashes[i], c[i].hash, SHA256_LEN);
    ck_assert_int_eq(chunk_store_open(tu.dir, &cs), 0);
    ck_assert_int_eq(chunk_store_put_batch(cs, c, NCHUNKS), 0);
    long before = resident_pages(tu.dir);
    chunk_store_uncache(cs, hashes, 8); /* 512 KiB: under the 1 MiB, kept */
    long small = resident_pages(tu.dir);
    chunk_store_uncache(cs, hashes, NCHUNKS);
    long after = resident_pages(tu.dir);
    if (!on_tmpfs(tu.dir)) {
        ck_assert_int_ge(small, before - 16);
        ck_assert_int_lt(after, before - NCHUNKS * 16 * 3 / 4);
    }
    assert_read_back(cs, c, NCHUNKS);
    chunk_store_close(cs);
    free(hashes);
    free(c);
    free(mem);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("chunk_uncache");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
    tcase_add_test(tc, bulk_put_leaves_the_page_cache);
    tcase_add_test(tc, small_put_stays_cached);
    tcase_add_test(tc, uncache_by_name);
    suite_add_tcase(s, tc);
    return scratch_run(s);
}
