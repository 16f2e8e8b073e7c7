/* The core with a remote (core_remote.h): replication before a content
 * commit is proposed, and reads that fetch missing or corrupt chunks. */
#include "fake_peer.h"
#include "fs/chunk/chunk_store.h"
#include "fs/core/core.h"
#include "fs/core/core_cluster.h"
#include "fs/core/gc.h"
#include "helpers.h"
#include "tests/unit/chunk/corrupt.h"

#include "tests/unit/scratch.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FILE_LEN (1u << 20)

static char *dir;
static struct core *core;
static struct fake_peer peer;
static const struct core_cred root = {0, 0, 0, 0, NULL};

/* Opens the core; with a remote when remote is set. */
static void open_core(bool remote)
{
    struct core_config cfg = {.data_dir = dir};
    ck_assert_int_eq(core_open(&cfg, &core), 0);
    pthread_mutex_lock(&peer.lock);
    peer.core = core;
    pthread_mutex_unlock(&peer.lock);
    if (remote) {
        struct core_remote r;
        fake_peer_remote(&peer, &r);
        core_set_remote(core, &r);
    }
}

static void setup(void)
{
    dir = tmpdir_make("remote");
    ck_assert_ptr_nonnull(dir);
    fake_peer_init(&peer, NULL);
    open_core(true);
}

static void teardown(void)
{
    core_close(core);
    fake_peer_free(&peer);
    tmpdir_remove(dir);
}

static void expect(uint64_t ino, const uint8_t *want, size_t len)
{
    uint8_t *got = malloc(len);
    for (size_t done = 0; done < len;) {
        size_t n = len - done < 131072 ? len - done : 131072;
        ck_assert_int_eq(core_read(core, ino, done, got + done, n), (ssize_t)n);
        done += n;
    }
    ck_assert_msg(memcmp(got, want, len) == 0, "content differs");
    free(got);
}

/* A committed file of FILE_LEN random bytes (seed), its chunks at the peer. */
static uint64_t committed_file(uint8_t *data, uint64_t seed)
{
    struct stat st;
    fill_random(data, FILE_LEN, seed);
    ck_assert_int_eq(core_mknod(core, &root, 1, "f", S_IFREG | 0644, 0, &st), 0);
    ck_assert_int_eq(core_file_open(core, st.st_ino, O_RDWR), 0);
    ck_assert_int_eq(core_write(core, &root, st.st_ino, 0, data, FILE_LEN), FILE_LEN);
    ck_assert_int_eq(core_flush(core, st.st_ino), 0);
    ck_assert_int_eq(core_file_release(core, st.st_ino), 0);
    return st.st_ino;
}

/* With the core closed: drops every chunk the peer holds from the local store. */
static void drop_local_chunks(void)
{
    char path[4096];
    struct chunk_store *cs;
    snprintf(path, sizeof(path), "%s/chunks", dir);
    ck_assert_int_eq(chunk_store_open(path, &cs), 0);
    for (size_t i = 0; i < peer.n; i++) {
        ck_assert_int_eq(chunk_store_delete_batch(cs, (const uint8_t(*)[32])peer.chunks[i].hash, 1),
                         0);
        ck_assert_int_eq(chunk_store_has(cs, peer.chunks[i].hash), 0);
    }
    chunk_store_close(cs);
}

START_TEST(replicated_before_commit)
{
    uint8_t *data = malloc(FILE_LEN);
    committed_file(data, 1);
    ck_assert_int_eq(peer.replicate_calls, 1); /* one call per commit, not per chunk */
    ck_assert_uint_ge(peer.n, FILE_LEN / (256 << 10));
    ck_assert_int_eq(peer.not_durable, 0); /* only chunks already durable here */
    free(data);
}
END_TEST

START_TEST(replicate_failure_commits_nothing)
{
    uint8_t *data = malloc(FILE_LEN), patch[10000];
    uint64_t ino = committed_file(data, 2);
    struct core_stats before, after;
    ck_assert_int_eq(core_stats(core, &before), 0);
    fill_random(patch, sizeof(patch), 3);
    ck_assert_int_eq(core_file_open(core, ino, O_RDWR), 0);
    ck_assert_int_eq(core_write(core, &root, ino, 500000, patch, sizeof(patch)), sizeof(patch));
    int errs[] = {-ETIMEDOUT, -EROFS};
    for (int i = 0; i < 2; i++) {
        peer.replicate_err = errs[i];
        ck_assert_int_eq(core_flush(core, ino), errs[i]);
        ck_assert_int_eq(core_stats(core, &after), 0);
        ck_assert_uint_eq(after.applied, before.applied); /* nothing proposed */
    }
    /* Refused for want of a quorum: the next flush within a second (the
     * close() after a failed fsync) answers the same without trying. */
    int calls = peer.replicate_calls;
    peer.replicate_err = 0;
    ck_assert_int_eq(core_flush(core, ino), -EROFS);
    ck_assert_int_eq(peer.replicate_calls, calls);
    core_file_release(core, ino); /* fails the same way: not asserted */
    core_close(core);
    open_core(false);
    expect(ino, data, FILE_LEN); /* the old content, whole */
    free(data);
}
END_TEST

START_TEST(missing_chunks_fetched)
{
    uint8_t *data = malloc(FILE_LEN);
    uint64_t ino = committed_file(data, 4);
    core_close(core);
    drop_local_chunks();
    open_core(false); /* without a remote: EIO, as before */
    uint8_t b[4096];
    ck_assert_int_eq(core_read(core, ino, 0, b, sizeof(b)), -EIO);
    core_close(core);
    open_core(true);
    expect(ino, data, FILE_LEN);
    ck_assert_int_eq(peer.fetch_calls, (int)peer.n); /* each chunk once: then local */
    for (size_t i = 0; i < peer.n; i++)
        ck_assert_int_eq(chunk_store_has(core_chunk_store(core), peer.chunks[i].hash), 1);
    free(data);
}
END_TEST

START_TEST(corrupt_chunk_fetched_again)
{
    uint8_t *data = malloc(FILE_LEN), bad[32];
    uint64_t ino = committed_file(data, 5);
    core_close(core);
    char path[4096];
    snprintf(path, sizeof(path), "%s/chunks", dir);
    ck_assert_int_eq(corrupt_chunk(path, peer.chunks[1].hash, 0, bad), 0);
    open_core(false); /* without a remote: EIO, and the bad copy stays */
    uint8_t *all = malloc(FILE_LEN);
    ck_assert_int_eq(core_read(core, ino, 0, all, FILE_LEN), -EIO);
    free(all);
    core_close(core);
    open_core(true);
    expect(ino, data, FILE_LEN);
    ck_assert_int_eq(peer.fetch_calls, 1);
    uint8_t *buf = malloc(256 << 10);
    uint32_t len;
    ck_assert_int_eq(chunk_store_get(core_chunk_store(core), bad, buf, 256 << 10, &len), 0);
    free(buf);
    free(data);
}
END_TEST

START_TEST(recut_fetches_old_chunks)
{
    uint8_t *data = malloc(FILE_LEN);
    uint64_t ino = committed_file(data, 6);
    core_close(core);
    drop_local_chunks();
    open_core(true);
    data[500000] ^= 0xff;
    ck_assert_int_eq(core_file_open(core, ino, O_RDWR), 0);
    ck_assert_int_eq(core_write(core, &root, ino, 500000, data + 500000, 1), 1);
    ck_assert_int_eq(core_flush(core, ino), 0); /* re-cutting reads old chunks */
    ck_assert_int_ge(peer.fetch_calls, 1);
    ck_assert_int_eq(core_file_release(core, ino), 0);
    core_close(core);
    open_core(true);
    expect(ino, data, FILE_LEN);
    free(data);
}
END_TEST

START_TEST(unreachable_peers_fail_the_read)
{
    uint8_t *data = malloc(FILE_LEN);
    uint64_t ino = committed_file(data, 7);
    core_close(core);
    drop_local_chunks();
    for (size_t i = 0; i < peer.n; i++) /* no peer has them either */
        peer.chunks[i].hash[0] ^= 1;
    open_core(true);
    uint8_t b[4096];
    ck_assert_int_eq(core_read(core, ino, 0, b, sizeof(b)), -EIO);
    ck_assert_int_eq(peer.fetch_calls, 1);
    free(data);
}
END_TEST

/* A copy of a file whose chunks have not arrived here: they are fetched,
 * so the copy's command references only chunks this node holds (it used to
 * fail EAGAIN, taking them for chunks the GC had deleted). */
START_TEST(copy_fetches_missing_chunks)
{
    uint8_t *data = malloc(FILE_LEN);
    uint64_t ino = committed_file(data, 8);
    core_close(core);
    drop_local_chunks();
    open_core(true);
    struct stat st;
    ck_assert_int_eq(core_mknod(core, &root, 1, "g", S_IFREG | 0644, 0, &st), 0);
    ck_assert_int_eq(core_copy_file_range(core, &root, ino, 0, st.st_ino, 0, FILE_LEN), FILE_LEN);
    ck_assert_int_eq(peer.fetch_calls, (int)peer.n);
    for (size_t i = 0; i < peer.n; i++)
        ck_assert_int_eq(chunk_store_has(core_chunk_store(core), peer.chunks[i].hash), 1);
    core_close(core);
    open_core(false);
    expect(st.st_ino, data, FILE_LEN);
    free(data);
}
END_TEST

/* Chunks no peer has either: EIO, as a read of them gets. */
START_TEST(copy_of_lost_chunks_fails_eio)
{
    uint8_t *data = malloc(FILE_LEN);
    uint64_t ino = committed_file(data, 9);
    core_close(core);
    drop_local_chunks();
    for (size_t i = 0; i < peer.n; i++)
        peer.chunks[i].hash[0] ^= 1;
    open_core(true);
    struct stat st;
    ck_assert_int_eq(core_mknod(core, &root, 1, "g", S_IFREG | 0644, 0, &st), 0);
    ck_assert_int_eq(core_copy_file_range(core, &root, ino, 0, st.st_ino, 0, FILE_LEN), -EIO);
    ck_assert_int_eq(core_getattr(core, st.st_ino, &st), 0);
    ck_assert_int_eq(st.st_size, 0);
    free(data);
}
END_TEST

START_TEST(cluster_gc_waits_for_the_grace_period)
{
    uint8_t *data = malloc(FILE_LEN);
    committed_file(data, 8);
    ck_assert_int_eq(core_unlink(core, &root, 1, "f"), 0);
    ck_assert_int_eq(core_collect(core), 0);
    struct core_stats cs;
    ck_assert_int_eq(core_stats(core, &cs), 0);
    ck_assert_uint_eq(cs.chunks_freed, 0); /* a peer may still push them for a commit */
    ck_assert_int_eq(chunk_store_has(core_chunk_store(core), peer.chunks[0].hash), 1);
    gc_set_grace(core_gc(core), 0);
    ck_assert_int_eq(core_collect(core), 0);
    ck_assert_int_eq(core_stats(core, &cs), 0);
    ck_assert_uint_eq(cs.chunks_freed, peer.n);
    ck_assert_int_eq(chunk_store_has(core_chunk_store(core), peer.chunks[0].hash), 0);
    free(data);
}
END_TEST

/* Writes data[0, len) to ino from offset 0 after truncating it, as an editor
 * without a backup copy saves (O_TRUNC, then the whole file). */
static void rewrite(uint64_t ino, const uint8_t *data, size_t len)
{
    struct stat in = {.st_size = 0}, st;
    ck_assert_int_eq(core_file_open(core, ino, O_RDWR), 0);
    ck_assert_int_eq(core_setattr(core, &root, ino, &in, CORE_SET_SIZE, &st), 0);
    ck_assert_int_eq(core_write(core, &root, ino, 0, data, len), (ssize_t)len);
    ck_assert_int_eq(core_flush(core, ino), 0);
    ck_assert_int_eq(core_file_release(core, ino), 0);
}

/* One byte inserted at the start: the chunks after the first are the old
 * ones, which this node's own truncate removed a moment ago, so a majority
 * still holds them (recent_refs.h): only the new first chunk is listed for
 * the peers, none is asked about. */
START_TEST(rewrite_after_truncate_lists_only_new_chunks)
{
    uint8_t *data = malloc(FILE_LEN + 1);
    uint64_t ino = committed_file(data + 1, 9);
    size_t old_chunks = peer.n;
    ck_assert_uint_ge(old_chunks, 4);
    data[0] = 'Z';
    rewrite(ino, data, FILE_LEN + 1);
    ck_assert_uint_le(peer.last_n, 2);
    expect(ino, data, FILE_LEN + 1);
    free(data);
}
END_TEST

/* The same bytes in a new file after the old one was unlinked: no truncate
 * of this node vouches for the old chunks, so they are listed (asked about
 * first, core_remote_int.h) as before. */
START_TEST(rewrite_after_unlink_lists_old_chunks)
{
    uint8_t *data = malloc(FILE_LEN + 1);
    committed_file(data + 1, 10);
    size_t old_chunks = peer.n;
    ck_assert_int_eq(core_unlink(core, &root, 1, "f"), 0);
    struct stat st;
    ck_assert_int_eq(core_mknod(core, &root, 1, "g", S_IFREG | 0644, 0, &st), 0);
    data[0] = 'Z';
    rewrite(st.st_ino, data, FILE_LEN + 1);
    ck_assert_uint_ge(peer.last_n, old_chunks - 1);
    expect(st.st_ino, data, FILE_LEN + 1);
    free(data);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("core_remote");
    TCase *tc = tcase_create("remote");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, replicated_before_commit);
    tcase_add_test(tc, replicate_failure_commits_nothing);
    tcase_add_test(tc, missing_chunks_fetched);
    tcase_add_test(tc, corrupt_chunk_fetched_again);
    tcase_add_test(tc, recut_fetches_old_chunks);
    tcase_add_test(tc, unreachable_peers_fail_the_read);
    tcase_add_test(tc, copy_fetches_missing_chunks);
    tcase_add_test(tc, copy_of_lost_chunks_fails_eio);
    tcase_add_test(tc, cluster_gc_waits_for_the_grace_period);
    tcase_add_test(tc, rewrite_after_truncate_lists_only_new_chunks);
    tcase_add_test(tc, rewrite_after_unlink_lists_old_chunks);
    suite_add_tcase(s, tc);
    return scratch_run(s);
}
