/* Durability: a child process writes (or creates) through the core and
 * reports each fsync (or create) that returned; it is SIGKILLed
 * mid-workload; after reopening, every acknowledged byte and name is there. */
#include "fs/core/core.h"
#include "helpers.h"

#include "tests/unit/scratch.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ROUND_BYTES (300 * 1000)
#define FILES       3

static const struct core_cred root = {0, 0, 0, 0, NULL};

/* Round r writes ROUND_BYTES at r * ROUND_BYTES into file r % FILES, from
 * seed r, fsyncs, and reports r on the pipe. Never returns. */
static void child(const char *dir, int fd)
{
    struct core *c;
    struct core_config cfg = {.data_dir = dir};
    uint64_t ino[FILES];
    uint8_t *buf = malloc(ROUND_BYTES);
    if (core_open(&cfg, &c))
        _exit(2);
    for (int f = 0; f < FILES; f++) {
        char name[16];
        struct stat st;
        snprintf(name, sizeof(name), "f%d", f);
        if (core_mknod(c, &root, 1, name, S_IFREG | 0644, 0, &st) ||
            core_file_open(c, st.st_ino, 0))
            _exit(3);
        ino[f] = st.st_ino;
    }
    for (uint32_t r = 0;; r++) {
        fill_random(buf, ROUND_BYTES, r);
        uint64_t off = (uint64_t)(r / FILES) * ROUND_BYTES;
        for (size_t done = 0; done < ROUND_BYTES; done += 65536) {
            size_t n = ROUND_BYTES - done < 65536 ? ROUND_BYTES - done : 65536;
            if (core_write(c, &root, ino[r % FILES], off + done, buf + done, n) != (ssize_t)n)
                _exit(4);
        }
        if (core_fsync(c, ino[r % FILES], false))
            _exit(5);
        if (write(fd, &r, sizeof(r)) != sizeof(r))
            _exit(6);
        /* and a bit more that is never fsync'd */
        core_write(c, &root, ino[(r + 1) % FILES], 1u << 30, buf, 1000);
    }
}

/* Runs work(dir, fd) in a child, reads what it reports until `want`
 * reports came, SIGKILLs it, and returns the last one reported. */
static uint32_t run_and_kill(void (*work)(const char *, int), const char *dir, int want)
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(p[0]);
        work(dir, p[1]);
    }
    close(p[1]);
    uint32_t r, last = 0;
    int got = 0;
    while (got < want && read(p[0], &r, sizeof(r)) == sizeof(r)) {
        last = r;
        got++;
    }
    ck_assert_int_eq(got, want);
    kill(pid, SIGKILL);
    /* what the child finished after our last read also counts if reported */
    while (read(p[0], &r, sizeof(r)) == sizeof(r))
        last = r;
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFSIGNALED(status));
    close(p[0]);
    return last;
}

START_TEST(fsynced_bytes_survive_sigkill)
{
    char *dir = tmpdir_make("durable");
    uint32_t last = run_and_kill(child, dir, sanitized() ? 6 : 12);

    struct core *c;
    struct core_config cfg = {.data_dir = dir};
    ck_assert_int_eq(core_open(&cfg, &c), 0);
    uint8_t *want_buf = malloc(ROUND_BYTES), *got_buf = malloc(ROUND_BYTES);
    for (uint32_t k = 0; k <= last; k++) {
        char name[16];
        struct stat st;
        snprintf(name, sizeof(name), "f%u", k % FILES);
        ck_assert_int_eq(core_lookup(c, 1, name, &st), 0);
        fill_random(want_buf, ROUND_BYTES, k);
        uint64_t off = (uint64_t)(k / FILES) * ROUND_BYTES;
        ck_assert_int_eq(core_read(c, st.st_ino, off, got_buf, ROUND_BYTES), ROUND_BYTES);
        ck_assert_msg(memcmp(want_buf, got_buf, ROUND_BYTES) == 0, "round %u lost", k);
    }
    core_close(c);
    free(want_buf);
    free(got_buf);
    tmpdir_remove(dir);
}
END_TEST

/* Creates m0, m1, ... one at a time, reporting each that returned. Never
 * returns. Each create is one command: thousands of them cross many store
 * checkpoints and command-log switches (fs/core/sequencer.c). */
static void creator(const char *dir, int fd)
{
    struct core *c;
    struct core_config cfg = {.data_dir = dir};
    if (core_open(&cfg, &c))
        _exit(2);
    for (uint32_t i = 0;; i++) {
        char name[16];
        struct stat st;
        snprintf(name, sizeof(name), "m%u", i);
        if (core_mknod(c, &root, 1, name, S_IFREG | 0644, 0, &st))
            _exit(3);
        if (write(fd, &i, sizeof(i)) != sizeof(i))
            _exit(6);
    }
}

/* Metadata is durable when the call returns: the store commits without
 * syncing, so what survives a kill -9 is its last checkpoint plus the
 * command logs replayed. */
START_TEST(acknowledged_creates_survive_sigkill)
{
    char *dir = tmpdir_make("durable-meta");
    uint32_t last = run_and_kill(creator, dir, sanitized() ? 600 : 3000);

    struct core *c;
    struct core_config cfg = {.data_dir = dir};
    ck_assert_int_eq(core_open(&cfg, &c), 0);
    for (uint32_t k = 0; k <= last; k++) {
        char name[16];
        struct stat st;
        snprintf(name, sizeof(name), "m%u", k);
        ck_assert_msg(core_lookup(c, 1, name, &st) == 0, "create %u of %u lost", k, last);
    }
    core_close(c);
    tmpdir_remove(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("durability");
    TCase *tc = tcase_create("kill9");
    tcase_set_timeout(tc, 200);
    tcase_add_test(tc, fsynced_bytes_survive_sigkill);
    tcase_add_test(tc, acknowledged_creates_survive_sigkill);
    suite_add_tcase(s, tc);
    return scratch_run(s);
}
