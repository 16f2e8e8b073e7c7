/* core.h namespace through the apply thread (no FUSE): lookups, readdir
 * stability under concurrent unlinks, a 100,000-entry directory, creates/s. */
#include "fs/core/apply.h"
#include "fs/core/core.h"
#include "helpers.h"

#include "tests/unit/scratch.h"
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static char *dir;
static struct core *core;
static const struct core_cred root = {0, 0, 0, 0, NULL};

static void setup(void)
{
    dir = tmpdir_make("corens");
    ck_assert_ptr_nonnull(dir);
    struct core_config cfg = {.data_dir = dir};
    ck_assert_int_eq(core_open(&cfg, &core), 0);
}

static void teardown(void)
{
    core_close(core);
    tmpdir_remove(dir);
}

static void reopen(void)
{
    core_close(core);
    struct core_config cfg = {.data_dir = dir};
    ck_assert_int_eq(core_open(&cfg, &core), 0);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

START_TEST(basic_namespace)
{
    struct stat st, st2;
    ck_assert_int_eq(core_getattr(core, CORE_ROOT_INO, &st), 0);
    ck_assert(S_ISDIR(st.st_mode));
    ck_assert_int_eq(core_mkdir(core, &root, 1, "d", 0750, &st), 0);
    ck_assert_int_eq(core_mknod(core, &root, st.st_ino, "f", S_IFREG | 0600, 0, &st2), 0);
    ck_assert_int_eq(core_lookup(core, st.st_ino, "f", &st), 0);
    ck_assert_uint_eq(st.st_ino, st2.st_ino);
    ck_assert_int_eq(core_lookup(core, 1, "nope", &st), -ENOENT);
    ck_assert_int_eq(core_symlink(core, &root, 1, "s", "d/f", &st), 0);
    char buf[64];
    ck_assert_int_eq(core_readlink(core, st.st_ino, buf, sizeof(buf)), 3);
    ck_assert_mem_eq(buf, "d/f", 3);
    ck_assert_int_eq(core_readlink(core, 1, buf, sizeof(buf)), -EINVAL);
    char longname[300];
    memset(longname, 'x', 299);
    longname[299] = 0;
    ck_assert_int_eq(core_mknod(core, &root, 1, longname, S_IFREG | 0600, 0, &st), -ENAMETOOLONG);
    ck_assert_int_eq(core_lookup(core, 1, longname, &st), -ENAMETOOLONG);
    ck_assert_int_eq(core_setxattr(core, &root, 1, "user.a", "xyz", 3, 0), 0);
    ck_assert_int_eq(core_getxattr(core, 1, "user.a", NULL, 0), 3);
    ck_assert_int_eq(core_getxattr(core, 1, "user.a", buf, 2), -ERANGE);
    ck_assert_int_eq(core_getxattr(core, 1, "user.b", buf, 2), -ENODATA);
    ck_assert_int_eq(core_listxattr(core, 1, buf, sizeof(buf)), 7);
    ck_assert_str_eq(buf, "user.a");
    reopen();
    ck_assert_int_eq(core_lookup(core, 1, "d", &st), 0);
    ck_assert_int_eq(core_lookup(core, st.st_ino, "f", &st), 0);
    ck_assert_uint_eq(st.st_ino, st2.st_ino);
    ck_assert_uint_eq(st.st_mode, S_IFREG | 0600);
    ck_assert_int_eq(core_getxattr(core, 1, "user.a", buf, sizeof(buf)), 3);
    struct statvfs sv;
    ck_assert_int_eq(core_statfs(core, &sv), 0);
    ck_assert_uint_eq(sv.f_namemax, 255);
}
END_TEST

struct listing {
    int stop_every, since_stop;
    uint64_t cookie;
    unsigned char *seen; /* per entry index */
    int count, dups, n;
};

static int collect(void *ctx, const struct core_dirent *e, const struct stat *st)
{
    struct listing *l = ctx;
    (void)st;
    if (l->stop_every && l->since_stop == l->stop_every) {
        l->since_stop = 0;
        return 1;
    }
    l->since_stop++;
    l->cookie = e->cookie;
    l->count++;
    if (e->namelen > 1 && e->namelen < 16 && e->name[0] == 'e') {
        char num[16];
        memcpy(num, e->name + 1, e->namelen - 1);
        num[e->namelen - 1] = 0;
        int i = atoi(num);
        if (i >= 0 && i < l->n) {
            if (l->seen[i])
                l->dups++;
            l->seen[i] = 1;
        }
    }
    return 0;
}

/* Fills directory dir with n entries e0..e(n-1) straight through
 * apply_batch() in batches of 2,000 (the FUSE-free fast path for a fixture). */
static void fill_dir_direct(uint64_t dir_ino, int n)
{
    enum { B = 2000 };
    struct meta_store *ms;
    char path[4096];
    static char names[B][16];
    static struct cmd cmds[B];
    static struct apply_result res[B];
    static struct apply_item items[B];
    snprintf(path, sizeof(path), "%s/meta", dir);
    core_close(core);
    ck_assert_int_eq(meta_store_open(path, &ms), 0);
    uint64_t applied = 0;
    for (int i = 0; i < n; i += B) {
        int k = n - i < B ? n - i : B;
        for (int j = 0; j < k; j++) {
            snprintf(names[j], sizeof(names[j]), "e%d", i + j);
            cmds[j] = (struct cmd){.op = CMD_MKNOD, .ino = dir_ino, .mode = S_IFREG | 0644};
            cmds[j].time.sec = 1;
            cmds[j].name = names[j];
            cmds[j].namelen = (uint32_t)strlen(names[j]);
            items[j] = (struct apply_item){&cmds[j], &res[j]};
        }
        ck_assert_int_eq(apply_batch(ms, items, k, &applied), 0);
        for (int j = 0; j < k; j++)
            ck_assert_int_eq(res[j].err, 0);
    }
    meta_store_close(ms);
    struct core_config cfg = {.data_dir = dir};
    ck_assert_int_eq(core_open(&cfg, &core), 0);
}

START_TEST(readdir_stable_under_unlink)
{
    enum { N = 600 };
    struct stat st;
    char name[32];
    unsigned char removed[N] = {0};
    fill_dir_direct(CORE_ROOT_INO, N);
    struct listing l = {.stop_every = 37, .seen = calloc(N * 2, 1), .n = N * 2};
    int round = 0, rc;
    do {
        int before = l.count;
        rc = core_readdir(core, 1, l.cookie, round % 2, collect, &l);
        ck_assert_int_eq(rc, 0);
        if (l.count == before)
            break;
        /* meanwhile: unlink some listed and some unlisted entries, create new ones */
        for (int k = 0; k < 5; k++) {
            int victim = (round * 131 + k * 17) % N;
            snprintf(name, sizeof(name), "e%d", victim);
            if (!removed[victim]) {
                ck_assert_int_eq(core_unlink(core, &root, 1, name), 0);
                removed[victim] = 1;
            }
        }
        snprintf(name, sizeof(name), "e%d", N + round);
        ck_assert_int_eq(core_mknod(core, &root, 1, name, S_IFREG | 0644, 0, &st), 0);
        round++;
    } while (round < 1000);
    ck_assert_int_eq(l.dups, 0);
    for (int i = 0; i < N; i++)
        if (!removed[i])
            ck_assert_msg(l.seen[i], "entry e%d was skipped", i);
    free(l.seen);
}
END_TEST

struct creator {
    struct core *c;
    int from, to;
    uint64_t parent;
};

static void *create_range(void *arg)
{
    struct creator *cr = arg;
    char name[32];
    struct stat st;
    for (int i = cr->from; i < cr->to; i++) {
        snprintf(name, sizeof(name), "e%d", i);
        int rc = core_mknod(cr->c, &root, cr->parent, name, S_IFREG | 0644, 0, &st);
        if (rc)
            return (void *)(intptr_t)rc;
    }
    return NULL;
}

START_TEST(big_directory_one_pass)
{
    int n = sanitized() ? 20000 : 100000;
    struct stat st;
    ck_assert_int_eq(core_mkdir(core, &root, 1, "big", 0755, &st), 0);
    fill_dir_direct(st.st_ino, n);
    double t1 = now_s();
    struct listing l = {.seen = calloc((size_t)n, 1), .n = n};
    ck_assert_int_eq(core_readdir(core, st.st_ino, 0, true, collect, &l), 0);
    double t2 = now_s();
    printf("readdirplus of %d entries in one pass: %.3f s\n", n, t2 - t1);
    ck_assert_int_eq(l.count, n + 2);
    ck_assert_int_eq(l.dups, 0);
    for (int i = 0; i < n; i++)
        ck_assert(l.seen[i]);
    free(l.seen);
    ck_assert_int_eq(core_lookup(core, st.st_ino, "e99", &st), 0);
}
END_TEST

START_TEST(concurrent_creates)
{
    enum { THREADS = 64 };
    int n = sanitized() ? 500 : 2000;
    struct stat st;
    ck_assert_int_eq(core_mkdir(core, &root, 1, "many", 0755, &st), 0);
    pthread_t t[THREADS];
    struct creator cr[THREADS];
    double t0 = now_s();
    for (int i = 0; i < THREADS; i++) {
        cr[i] = (struct creator){core, n * i / THREADS, n * (i + 1) / THREADS, st.st_ino};
        pthread_create(&t[i], NULL, create_range, &cr[i]);
    }
    for (int i = 0; i < THREADS; i++) {
        void *res;
        pthread_join(t[i], &res);
        ck_assert_ptr_null(res);
    }
    double dt = now_s() - t0;
    printf("creates through core (64 threads, group commit): %d in %.2f s = %.0f/s\n", n, dt,
           n / dt);
    struct listing l = {.seen = calloc((size_t)n, 1), .n = n};
    ck_assert_int_eq(core_readdir(core, st.st_ino, 0, false, collect, &l), 0);
    ck_assert_int_eq(l.count, n + 2);
    free(l.seen);
}
END_TEST

START_TEST(single_thread_creates)
{
    int n = sanitized() ? 50 : 100;
    char name[32];
    struct stat st;
    double t0 = now_s();
    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof(name), "s%d", i);
        ck_assert_int_eq(core_mknod(core, &root, 1, name, S_IFREG | 0644, 0, &st), 0);
        ck_assert_int_eq(core_getattr(core, st.st_ino, &st), 0);
        ck_assert_int_eq(core_unlink(core, &root, 1, name), 0);
    }
    double dt = now_s() - t0;
    printf("create+stat+unlink, one thread: %d in %.2f s = %.0f/s\n", n, dt, n / dt);
}
END_TEST

struct replacer {
    struct core *c;
    int n, rc;
    int done; /* atomic: set when the last rename returned */
};

/* Makes a file and renames it over "x", n times: every rename frees the
 * inode "x" named before, and "x" exists throughout. */
static void *replace_x(void *arg)
{
    struct replacer *r = arg;
    struct stat st;
    for (int i = 0; i < r->n && !r->rc; i++) {
        r->rc = core_mknod(r->c, &root, 1, "tmp", S_IFREG | 0644, 0, &st);
        if (!r->rc)
            r->rc = core_rename(r->c, &root, 1, "tmp", 1, "x", 0);
    }
    __atomic_store_n(&r->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

/* A lookup reads the entry and its inode from one snapshot: read apart, a
 * rename over the name between the two reads freed the inode the entry
 * named, and the lookup of a name that never ceased to exist said ENOENT
 * (the fault suite's "rename n2 n5 -> ENOENT"). */
START_TEST(lookup_during_replacing_renames)
{
    struct stat st;
    ck_assert_int_eq(core_mknod(core, &root, 1, "x", S_IFREG | 0644, 0, &st), 0);
    struct replacer r = {.c = core, .n = sanitized() ? 300 : 2000};
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, replace_x, &r), 0);
    long lookups = 0, missing = 0;
    while (!__atomic_load_n(&r.done, __ATOMIC_ACQUIRE)) {
        int rc = core_lookup(core, 1, "x", &st);
        lookups++;
        if (rc == -ENOENT)
            missing++;
        else
            ck_assert_int_eq(rc, 0);
    }
    pthread_join(t, NULL);
    ck_assert_int_eq(r.rc, 0);
    printf("lookups during %d replacing renames: %ld, %ld said ENOENT\n", r.n, lookups, missing);
    ck_assert_int_eq(missing, 0);
}
END_TEST

/* core_dir_path names a directory by its path, follows renames, refuses
 * what is no directory and what does not fit. */
START_TEST(dir_path)
{
    struct stat a, b, f, x;
    char buf[64];
    ck_assert_int_eq(core_dir_path(core, CORE_ROOT_INO, buf, sizeof(buf)), 0);
    ck_assert_str_eq(buf, "");
    ck_assert_int_eq(core_mkdir(core, &root, 1, "a", 0755, &a), 0);
    ck_assert_int_eq(core_mknod(core, &root, a.st_ino, "zz", S_IFREG | 0644, 0, &f), 0);
    ck_assert_int_eq(core_mkdir(core, &root, a.st_ino, "bee", 0755, &b), 0);
    ck_assert_int_eq(core_dir_path(core, b.st_ino, buf, sizeof(buf)), 6);
    ck_assert_str_eq(buf, "/a/bee");
    ck_assert_int_eq(core_mkdir(core, &root, 1, "x", 0755, &x), 0);
    ck_assert_int_eq(core_rename(core, &root, a.st_ino, "bee", x.st_ino, "b2", 0), 0);
    ck_assert_int_eq(core_dir_path(core, b.st_ino, buf, sizeof(buf)), 5);
    ck_assert_str_eq(buf, "/x/b2");
    ck_assert_int_eq(core_dir_path(core, b.st_ino, buf, 6), 5);
    ck_assert_int_eq(core_dir_path(core, b.st_ino, buf, 5), -ENAMETOOLONG);
    ck_assert_int_eq(core_dir_path(core, f.st_ino, buf, sizeof(buf)), -ENOTDIR);
    ck_assert_int_eq(core_rmdir(core, &root, x.st_ino, "b2"), 0);
    ck_assert_int_lt(core_dir_path(core, b.st_ino, buf, sizeof(buf)), 0);
}
END_TEST

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    Suite *s = suite_create("core_ns");
    const struct {
        const char *name;
        const TTest *test;
    } tests[] = {
        {"basic", basic_namespace},
        {"readdir_stable", readdir_stable_under_unlink},
        {"big_dir", big_directory_one_pass},
        {"concurrent", concurrent_creates},
        {"single", single_thread_creates},
        {"lookup_replace", lookup_during_replacing_renames},
        {"dir_path", dir_path},
    };
    for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
        TCase *tc = tcase_create(tests[i].name);
        tcase_set_timeout(tc, 120);
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, tests[i].test);
        suite_add_tcase(s, tc);
    }
    return scratch_run(s);
}
