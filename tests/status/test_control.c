/* The control server and its protocol against a real core (no FUSE): request
 * bounds and errors, the socket's life cycle, and the figures it reports,
 * including a chunk the store lacks. */
#include "fs/control/control.h"
#include "fs/control/control_conflicts.h"
#include "fs/control/control_proto.h"
#include "fs/core/core.h"
#include "fs/core/core_internal.h"
#include "fs/core/core_sync.h"
#include "fs/store/meta_map.h"
#include "tests/unit/core/helpers.h"

#include "tests/unit/scratch.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static char *dir;
static struct core *core;
static struct control_server *srv;
static char sock[sizeof(((struct sockaddr_un *)0)->sun_path)];
static char reply[CTL_REPLY_MAX];
static const struct core_cred root = {0, 0, 0, 0, NULL};

static void start_server(void)
{
    struct control_config cc = {.data_dir = dir,
                                .mountpoint = "/mnt/test",
                                .core = core,
                                .ops = control_single_node_ops(core)};
    ck_assert_int_eq(control_server_start(&cc, &srv), 0);
}

static void setup(void)
{
    dir = tmpdir_make("control");
    ck_assert_ptr_nonnull(dir);
    struct core_config cfg = {.data_dir = dir, .node_tag = "NODEAAA"};
    ck_assert_int_eq(core_open(&cfg, &core), 0);
    snprintf(sock, sizeof(sock), "%s/control.sock", dir);
    start_server();
}

static void teardown(void)
{
    control_server_stop(srv);
    core_close(core);
    tmpdir_remove(dir);
}

static int dial(void)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    memcpy(a.sun_path, sock, sizeof(sock));
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    return fd;
}

/* Sends raw bytes, reads the whole reply into `reply`, parses it into *r. */
static int ask_raw(const char *req, size_t len, struct ctl_reply *r)
{
    int fd = dial();
    size_t got = 0;
    ck_assert_int_eq(send(fd, req, len, MSG_NOSIGNAL), (ssize_t)len);
    for (ssize_t n; (n = recv(fd, reply + got, sizeof(reply) - got, 0)) > 0;)
        got += (size_t)n;
    close(fd);
    return ctl_reply_parse(reply, got, r);
}

static int ask(const char *req, struct ctl_reply *r)
{
    return ask_raw(req, strlen(req), r);
}

START_TEST(escaping_round_trips)
{
    char text[512];
    struct ctl_buf b = {text, 0, sizeof(text), false};
    struct ctl_reply r;
    const char *odd = "a b%c\nd\te\x7f\xc3\xa9";
    ctl_put_status(&b, 0, NULL);
    ctl_put(&b, "odd", odd);
    ctl_put(&b, "empty", "");
    ctl_put_i64(&b, "neg", -42);
    ctl_buf_add(&b, "end\n", 4);
    ck_assert(!b.overflow);
    ck_assert_int_eq(ctl_reply_parse(text, b.len, &r), 0);
    ck_assert_int_eq(r.err, 0);
    ck_assert_str_eq(ctl_get(&r, "odd"), odd);
    ck_assert_str_eq(ctl_get(&r, "empty"), "");
    int64_t v;
    ck_assert_int_eq(ctl_get_i64(&r, "neg", &v), 0);
    ck_assert_int_eq(v, -42);
    ck_assert_ptr_null(ctl_get(&r, "absent"));
    ctl_reply_free(&r);
}
END_TEST

START_TEST(a_full_buffer_never_holds_half_a_line)
{
    char text[24];
    struct ctl_buf b = {text, 0, sizeof(text), false};
    ctl_put(&b, "k", "short");
    size_t len = b.len;
    ctl_put(&b, "key", "a value that does not fit");
    ck_assert(b.overflow);
    ck_assert_uint_eq(b.len, len);
    ctl_put(&b, "k", "x"); /* would fit, but overflow is sticky */
    ck_assert_uint_eq(b.len, len);
}
END_TEST

START_TEST(requests_are_checked)
{
    static struct ctl_req r;
    static char big[CTL_ARGS_MAX * 3 + 64];
    const char *good = "qfs-control 1 sync\n7\n18446744073709551615\n\n";
    ck_assert_int_eq(ctl_req_parse(good, strlen(good), &r), 0);
    ck_assert_str_eq(r.verb, "sync");
    ck_assert_uint_eq(r.nargs, 2);
    ck_assert(r.args[1] == UINT64_MAX);
    const char *bad[] = {
        "qfs-control 1 sync\n18446744073709551616\n\n", /* overflows */
        "qfs-control 1 sync\n-1\n\n",
        "qfs-control 1 Status\n\n",
        "qfs-control 1 status\n\n\n", /* empty line before the end */
        "qfs-control 1 status\n",     /* no end */
        "qfs-control  1 status\n\n",
        "qfs-contrl 1 status\n\n",
        "\n\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(ctl_req_parse(bad[i], strlen(bad[i]), &r) == -EPROTO, "accepted: %s", bad[i]);
    ck_assert_int_eq(ctl_req_parse("qfs-control 2 status\n\n", 22, &r), -EPROTONOSUPPORT);
    size_t len = (size_t)sprintf(big, "qfs-control 1 sync\n");
    for (int i = 0; i <= CTL_ARGS_MAX; i++)
        len += (size_t)sprintf(big + len, "1\n");
    big[len++] = '\n';
    ck_assert_int_eq(ctl_req_parse(big, len, &r), -E2BIG);
    memset(big, 'a', CTL_LINE_MAX + 1);
    memcpy(big + CTL_LINE_MAX + 1, "\n\n", 2);
    ck_assert_int_eq(ctl_req_parse(big, CTL_LINE_MAX + 3, &r), -EPROTO);
}
END_TEST

START_TEST(replies_are_checked)
{
    struct ctl_reply r;
    char t1[] = "qfs-control 1 ok\nk v\n"; /* no end */
    char t2[] = "qfs-control 1 ok\nk %0\nend\n";
    char t3[] = "qfs-control 1 ok\nk a%00b\nend\n";
    char t4[] = "qfs-control 1 ok\nnovalue\nend\n";
    char t5[] = "qfs-control 1 ok\nend\nk v\n";
    char t6[] = "qfs-control 3 ok\nend\n";
    char ok[] = "qfs-control 1 error EROFS no%20quorum\nend\n";
    ck_assert_int_eq(ctl_reply_parse(t1, strlen(t1), &r), -EPROTO);
    ctl_reply_free(&r);
    ck_assert_int_eq(ctl_reply_parse(t2, strlen(t2), &r), -EPROTO);
    ctl_reply_free(&r);
    ck_assert_int_eq(ctl_reply_parse(t3, strlen(t3), &r), -EPROTO);
    ctl_reply_free(&r);
    ck_assert_int_eq(ctl_reply_parse(t4, strlen(t4), &r), -EPROTO);
    ctl_reply_free(&r);
    ck_assert_int_eq(ctl_reply_parse(t5, strlen(t5), &r), -EPROTO);
    ctl_reply_free(&r);
    ck_assert_int_eq(ctl_reply_parse(t6, strlen(t6), &r), -EPROTONOSUPPORT);
    ctl_reply_free(&r);
    ck_assert_int_eq(ctl_reply_parse(ok, strlen(ok), &r), 0);
    ck_assert_int_eq(r.err, -EROFS);
    ck_assert_str_eq(r.message, "no quorum");
    ctl_reply_free(&r);
}
END_TEST

START_TEST(status_reports_the_node)
{
    struct ctl_reply r;
    struct core_stats cs;
    struct stat st;
    uint64_t v;
    ck_assert_int_eq(stat(sock, &st), 0);
    ck_assert(S_ISSOCK(st.st_mode));
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    ck_assert_int_eq(ask("qfs-control 1 status\n\n", &r), 0);
    ck_assert_int_eq(r.err, 0);
    ck_assert_int_eq(core_stats(core, &cs), 0);
    ck_assert_int_eq(ctl_get_u64(&r, "applied", &v), 0);
    ck_assert_uint_eq(v, cs.applied);
    ck_assert_int_eq(ctl_get_u64(&r, "quorum", &v), 0);
    ck_assert_uint_eq(v, 1);
    ck_assert_int_eq(ctl_get_u64(&r, "n_members", &v), 0);
    ck_assert_uint_eq(v, 1);
    ck_assert_str_eq(ctl_get(&r, "data_dir"), dir);
    ck_assert_str_eq(ctl_get(&r, "mountpoint"), "/mnt/test");
    ck_assert_str_eq(ctl_get(&r, "conflicts.count"), "0");
    ck_assert_str_eq(ctl_get(&r, "sync.missing_chunks"), "0");
    ctl_reply_free(&r);
}
END_TEST

static void expect_error(const char *req, size_t len, int err)
{
    struct ctl_reply r;
    ck_assert_int_eq(ask_raw(req, len, &r), 0);
    ck_assert_msg(r.err == err, "%.*s: got %d, want %d", (int)len, req, r.err, err);
    ctl_reply_free(&r);
}

START_TEST(bad_requests_get_an_error_and_the_server_goes_on)
{
    static char big[CTL_REQ_MAX + 16];
    expect_error("qfs-control 1 frobnicate\n\n", 26, -EOPNOTSUPP);
    expect_error("qfs-control 1 status\n5\n\n", 24, -EINVAL);
    expect_error("qfs-control 9 status\n\n", 22, -EPROTONOSUPPORT);
    expect_error("GET / HTTP/1.0\r\n\r\n\n\n", 20, -EPROTO);
    memset(big, '1', sizeof(big));
    expect_error(big, sizeof(big), -E2BIG);
    /* a client that hangs up half-way */
    int fd = dial();
    ck_assert_int_eq(send(fd, "qfs-control 1 sta", 17, 0), 17);
    close(fd);
    struct ctl_reply r;
    ck_assert_int_eq(ask("qfs-control 1 read-index\n\n", &r), 0);
    ck_assert_int_eq(r.err, 0);
    ck_assert_ptr_nonnull(ctl_get(&r, "read_index"));
    ctl_reply_free(&r);
}
END_TEST

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

START_TEST(a_silent_client_delays_others_by_the_timeout_at_most)
{
    struct ctl_reply r;
    int silent = dial();
    double t0 = now_s();
    ck_assert_int_eq(ask("qfs-control 1 status\n\n", &r), 0);
    ck_assert_int_eq(r.err, 0);
    ctl_reply_free(&r);
    ck_assert(now_s() - t0 < CONTROL_IO_TIMEOUT_MS / 1000.0 + 2.0);
    close(silent);
}
END_TEST

/* A file of n bytes through the core; its inode number. */
static uint64_t make_file(const char *name, size_t n)
{
    struct stat st;
    uint8_t *buf = malloc(n);
    ck_assert_ptr_nonnull(buf);
    fill_random(buf, n, 7);
    ck_assert_int_eq(core_mknod(core, &root, CORE_ROOT_INO, name, S_IFREG | 0644, 0, &st), 0);
    ck_assert_int_eq(core_file_open(core, st.st_ino, O_WRONLY), 0);
    ck_assert_int_eq(core_write(core, &root, st.st_ino, 0, buf, n), (ssize_t)n);
    ck_assert_int_eq(core_file_release(core, st.st_ino), 0);
    free(buf);
    return st.st_ino;
}

static void sync_of(uint64_t ino, struct ctl_reply *r)
{
    char req[96];
    snprintf(req, sizeof(req), "qfs-control 1 sync\n%llu\n999999\n\n", (unsigned long long)ino);
    ck_assert_int_eq(ask(req, r), 0);
    ck_assert_int_eq(r->err, 0);
    ck_assert_str_eq(ctl_get(r, "ino.1.error"), "ENOENT");
}

START_TEST(sync_counts_the_chunks_a_file_lacks)
{
    struct ctl_reply r;
    uint64_t ino = make_file("f", 300000), v;
    sync_of(ino, &r);
    ck_assert_int_eq(ctl_get_u64(&r, "ino.0.chunks", &v), 0);
    ck_assert_uint_ge(v, 2);
    ck_assert_str_eq(ctl_get(&r, "ino.0.bytes"), "300000");
    ck_assert_str_eq(ctl_get(&r, "ino.0.missing_chunks"), "0");
    ctl_reply_free(&r);

    /* lose the chunk holding byte 0, as a node whose fetch has not happened yet */
    struct meta_extent e;
    MDB_txn *txn;
    ck_assert_int_eq(meta_txn_read(core->ms, &txn), 0);
    ck_assert_int_eq(meta_map_find(core->ms, txn, ino, 0, &e), 0);
    mdb_txn_abort(txn);
    ck_assert_int_eq(chunk_store_delete_batch(core->cs, (const uint8_t(*)[32])e.hash, 1), 0);
    sync_of(ino, &r);
    ck_assert_str_eq(ctl_get(&r, "ino.0.missing_chunks"), "1");
    ck_assert_int_eq(ctl_get_u64(&r, "ino.0.missing_bytes", &v), 0);
    ck_assert_uint_eq(v, e.len);
    ctl_reply_free(&r);
    ck_assert_int_eq(ask("qfs-control 1 status\n\n", &r), 0);
    ck_assert_str_eq(ctl_get(&r, "sync.missing_chunks"), "1");
    ck_assert_int_eq(ctl_get_u64(&r, "sync.missing_bytes", &v), 0);
    ck_assert_uint_eq(v, e.len);
    ck_assert_int_eq(ctl_get_u64(&r, "data.logical_bytes", &v), 0);
    ck_assert_uint_eq(v, 300000);
    ctl_reply_free(&r);
}
END_TEST

START_TEST(stale_socket_replaced_live_one_kept)
{
    struct control_server *second;
    struct control_config cc = {
        .data_dir = dir, .core = core, .ops = control_single_node_ops(core)};
    ck_assert_int_eq(control_server_start(&cc, &second), -EADDRINUSE);
    control_server_stop(srv);
    srv = NULL;
    ck_assert_int_eq(access(sock, F_OK), -1); /* removed at stop */
    /* a dead daemon's socket: bound, nobody listening */
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    memcpy(a.sun_path, sock, sizeof(sock));
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    close(fd);
    start_server();
    struct ctl_reply r;
    ck_assert_int_eq(ask("qfs-control 1 status\n\n", &r), 0);
    ck_assert_int_eq(r.err, 0);
    ctl_reply_free(&r);
}
END_TEST

START_TEST(directory_paths_from_inodes)
{
    struct stat a, b;
    char path[64];
    ck_assert_int_eq(core_mkdir(core, &root, CORE_ROOT_INO, "a", 0755, &a), 0);
    ck_assert_int_eq(core_mkdir(core, &root, a.st_ino, "b b", 0755, &b), 0);
    ck_assert_int_eq(control_dir_path(core, b.st_ino, path, sizeof(path)), 0);
    ck_assert_str_eq(path, "/a/b b");
    ck_assert_int_eq(control_dir_path(core, CORE_ROOT_INO, path, sizeof(path)), 0);
    ck_assert_str_eq(path, "/");
    ck_assert_int_eq(control_dir_path(core, b.st_ino, path, 5), -ENAMETOOLONG);
}
END_TEST

/* Another node's content commit to ino, forged with origin 0xbeef and tag
 * REMOTE1, based on version base (as test_conflict.c does): applied while this
 * node has bytes staged, it makes this node's next commit a conflict. */
static void remote_commit(uint64_t ino, uint64_t base)
{
    uint8_t remote[5000], range[CMD_RANGE_LEN], ext[CMD_EXTENT_LEN];
    memset(remote, 'R', sizeof(remote));
    struct chunk_ref ref = {.data = remote, .len = sizeof(remote)};
    ck_assert_int_eq(sha256(remote, sizeof(remote), ref.hash), 0);
    ck_assert_int_eq(chunk_store_put_batch(core->cs, &ref, 1), 0);
    struct meta_extent e = {.off = 0, .coff = 0, .len = sizeof(remote)};
    memcpy(e.hash, ref.hash, SHA256_LEN);
    cmd_range_put(range, 0, 0, sizeof(remote));
    cmd_extent_put(ext, 0, &e);
    struct cmd cmd;
    struct apply_result res;
    core_cmd_init(core, &cmd, CMD_CONTENT, NULL);
    cmd.origin = 0xbeef;
    cmd_set_tag(&cmd, "REMOTE1");
    cmd.ino = ino;
    cmd.flags = CMD_CONTENT_MTIME | CMD_CONTENT_BASE;
    cmd.base_ver = base;
    cmd.min_size = sizeof(remote);
    cmd.n_ranges = cmd.n_ext = 1;
    cmd.ranges = range;
    cmd.extents = ext;
    ck_assert_int_eq(core_submit(core, &cmd, &res), 0);
}

START_TEST(a_real_conflict_is_listed_with_paths_and_tags)
{
    struct stat d;
    struct ctl_reply r;
    ck_assert_int_eq(core_mkdir(core, &root, CORE_ROOT_INO, "docs", 0755, &d), 0);
    uint64_t f = make_file("a.txt", 1000);
    ck_assert_int_eq(core_rename(core, &root, CORE_ROOT_INO, "a.txt", d.st_ino, "a.txt", 0), 0);
    ck_assert_int_eq(core_file_open(core, f, O_WRONLY), 0);
    ck_assert_int_eq(core_write(core, &root, f, 0, "edit", 4), 4); /* staged here */
    remote_commit(f, 1); /* the other node had seen this node's first commit */
    ck_assert_int_eq(core_file_release(core, f), 0); /* commits: a conflict */
    ck_assert_int_eq(ask("qfs-control 1 status\n\n", &r), 0);
    ck_assert_str_eq(ctl_get(&r, "conflicts.count"), "1");
    const char *copy = ctl_get(&r, "conflict.0.copy");
    ck_assert_ptr_nonnull(copy);
    ck_assert_int_eq(strncmp(copy, "/docs/a.conflict-", 17), 0);
    ck_assert_str_eq(copy + strlen(copy) - 12, "-REMOTE1.txt");
    ck_assert_str_eq(ctl_get(&r, "conflict.0.original"), "/docs/a.txt");
    ck_assert_str_eq(ctl_get(&r, "conflict.0.writer"), "NODEAAA");
    ck_assert_str_eq(ctl_get(&r, "conflict.0.other"), "REMOTE1");
    int64_t t;
    ck_assert_int_eq(ctl_get_i64(&r, "conflict.0.time", &t), 0);
    ck_assert_int_ge(t, (int64_t)time(NULL) - 60);
    ctl_reply_free(&r);
    ck_assert_int_eq(core_unlink(core, &root, d.st_ino, "a.txt"), 0);
    ck_assert_int_eq(ask("qfs-control 1 conflicts\n\n", &r), 0);
    ck_assert_str_eq(ctl_get(&r, "conflicts.count"), "1");
    ck_assert_str_eq(ctl_get(&r, "conflict.0.original"), "/docs/?"); /* no longer beside it */
    ctl_reply_free(&r);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("control");
    TCase *p = tcase_create("protocol");
    tcase_add_test(p, escaping_round_trips);
    tcase_add_test(p, a_full_buffer_never_holds_half_a_line);
    tcase_add_test(p, requests_are_checked);
    tcase_add_test(p, replies_are_checked);
    suite_add_tcase(s, p);
    TCase *t = tcase_create("server");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_set_timeout(t, 30);
    tcase_add_test(t, status_reports_the_node);
    tcase_add_test(t, bad_requests_get_an_error_and_the_server_goes_on);
    tcase_add_test(t, a_silent_client_delays_others_by_the_timeout_at_most);
    tcase_add_test(t, sync_counts_the_chunks_a_file_lacks);
    tcase_add_test(t, stale_socket_replaced_live_one_kept);
    tcase_add_test(t, directory_paths_from_inodes);
    tcase_add_test(t, a_real_conflict_is_listed_with_paths_and_tags);
    suite_add_tcase(s, t);
    return scratch_run(s);
}
