/* qfs's pure parts: recognising conflict copies by name (docs/commands.md),
 * the verdict from a status reply, and human-readable figures. */
#include "tools/qfs.h"

#include "tests/check_run.h"
#include <string.h>

START_TEST(conflict_copies_are_recognised)
{
    static const char *const yes[][2] = {
        {"a.conflict-20261126-161728-ABCDEFG.txt", "a.txt"},
        {"a.tar.conflict-20261126-161728-ABCDEFG.gz", "a.tar.gz"},
        {"Makefile.conflict-20261126-161728-ABCDEFG", "Makefile"},
        {".conflict-20261126-161728-ABCDEFG.bashrc", ".bashrc"},
        {"a.conflict-20261126-161728-local.txt", "a.txt"},
        {"a.conflict-20261126-161728-ABCDEFG-2.txt", "a.txt"},
        {"a.conflict-20261126-161728-ABCDEFG-i42.txt", "a.txt"},
        {"a.conflict-20261126-161728-ABCDEFG.conflict-20261127-000000-HIJKLMN.txt",
         "a.conflict-20261126-161728-ABCDEFG.txt"},
        {"a b.conflict-20261126-161728-0A1B2C3", "a b"},
    };
    static const char *const no[] = {
        "a.txt",
        "a.conflict-2026.txt",
        "a.conflict-20261126-161728-.txt",
        "a.conflict-20261126-161728-ABCDEFGH.txt",
        ".conflict-20261126-161728-ABCDEFG",
        "a.conflict-20261126-161728-ABCDEFG-.txt",
        "a.conflict-2026112x-161728-ABCDEFG",
        "a.conflict-20261126_161728-ABCDEFG",
        "",
    };
    char out[256];
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        ck_assert_msg(qfs_conflict_original(yes[i][0], out, sizeof(out)) == 1, "not a copy: %s",
                      yes[i][0]);
        ck_assert_str_eq(out, yes[i][1]);
    }
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        ck_assert_msg(qfs_conflict_original(no[i], out, sizeof(out)) == 0, "taken for a copy: %s",
                      no[i]);
    ck_assert_int_eq(qfs_conflict_original(yes[0][0], out, 4), 0); /* does not fit */
}
END_TEST

/* Parses reply text (a string literal copied, since parsing is in place). */
static void parse(const char *text, char *buf, size_t cap, struct ctl_reply *r)
{
    snprintf(buf, cap, "%s", text);
    ck_assert_int_eq(ctl_reply_parse(buf, strlen(buf), r), 0);
}

#define MEMBERS3                                                                                   \
    "n_members 3\nself 0\nleader 1\nmember.0.id AAAAAAA-X\nmember.0.self 1\n"                      \
    "member.0.connected 1\nmember.1.id BBBBBBB-X\nmember.1.connected 1\n"                          \
    "member.2.id CCCCCCC-X\nmember.2.connected %d\n"

static void verdict(const char *extra, int c_up, struct qfs_verdict *v)
{
    char text[1024], buf[1024];
    struct ctl_reply r;
    snprintf(text, sizeof(text), "qfs-control 1 ok\n" MEMBERS3 "%send\n", c_up, extra);
    parse(text, buf, sizeof(buf), &r);
    qfs_verdict_of(&r, v);
    ctl_reply_free(&r);
}

START_TEST(verdicts_in_order)
{
    struct qfs_verdict v;
    verdict("quorum 1\ncommit 9\napplied 9\n", 1, &v);
    ck_assert_str_eq(v.text, "in sync");
    ck_assert_int_eq(v.exit_code, QFS_EXIT_OK);
    verdict("quorum 1\ncommit 9\napplied 9\n", 0, &v);
    ck_assert_str_eq(v.text, "degraded (peers down: CCCCCCC)");
    ck_assert_int_eq(v.exit_code, QFS_EXIT_NOT_IN_SYNC);
    verdict("quorum 1\ncommit 9\napplied 9\nsync.missing_chunks 3\nsync.missing_bytes 3145728\n"
            "rate.fetch_bps 1048576\n",
            0, &v);
    ck_assert_str_eq(v.text, "catching up (3 chunks, 3.0 MiB, ETA 3s)");
    ck_assert_int_eq(v.exit_code, QFS_EXIT_NOT_IN_SYNC);
    verdict("quorum 1\ncommit 19\napplied 9\n", 1, &v);
    ck_assert_str_eq(v.text, "catching up (0 chunks, 0 B, ETA unknown; 10 commands to apply)");
    verdict("quorum 1\ncommit 19\napplied 9\napply_error ENOSPC\ndata_dir /d\n", 1, &v);
    ck_assert_str_eq(v.text, "catching up (0 chunks, 0 B, ETA unknown; 10 commands to apply; "
                             "cannot apply here: ENOSPC, free space in /d)");
    /* the error alone (the commit index not known past applied yet) is not in sync */
    verdict("quorum 1\ncommit 9\napplied 9\napply_error ENOSPC\ndata_dir /d\n", 1, &v);
    ck_assert_int_eq(v.exit_code, QFS_EXIT_NOT_IN_SYNC);
    verdict("quorum 0\ncommit 9\napplied 9\napply_error ENOSPC\ndata_dir /d\n", 1, &v);
    ck_assert_str_eq(v.text, "no quorum (mutations refused; peers down: none known; "
                             "cannot apply here: ENOSPC, free space in /d)");
    verdict("quorum 0\ncommit 19\napplied 9\nsync.missing_chunks 3\n", 0, &v);
    ck_assert_str_eq(v.text, "no quorum (mutations refused; peers down: CCCCCCC)");
    ck_assert_int_eq(v.exit_code, QFS_EXIT_UNREACHABLE);
}
END_TEST

START_TEST(figures_for_people)
{
    char b[32];
    ck_assert_str_eq(qfs_fmt_bytes(1023, b, sizeof(b)), "1023 B");
    ck_assert_str_eq(qfs_fmt_bytes(1536, b, sizeof(b)), "1.5 KiB");
    ck_assert_str_eq(qfs_fmt_bytes(200ull << 20, b, sizeof(b)), "200.0 MiB");
    ck_assert_str_eq(qfs_fmt_duration(59.4, b, sizeof(b)), "59s");
    ck_assert_str_eq(qfs_fmt_duration(3725, b, sizeof(b)), "1h02m");
    ck_assert_str_eq(qfs_fmt_duration(90061, b, sizeof(b)), "1d01h");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("qfs");
    TCase *t = tcase_create("pure");
    tcase_add_test(t, conflict_copies_are_recognised);
    tcase_add_test(t, verdicts_in_order);
    tcase_add_test(t, figures_for_people);
    suite_add_tcase(s, t);
    return check_run(s);
}
