/*
 * leader_place.h: when the leader hands its office over. Two windows in a
 * row dominated by one other node: due; spread load, too few commands, the
 * leader's own commands, or a quiet period after a hand-over: not due.
 */
#include "fs/cluster/leader_place.h"

#include "tests/check_run.h"

#define WIN   (PLACE_WINDOW_MS * 1000ull)
#define SELF  0
#define OTHER 2

static struct leader_place p;
static uint64_t now;

static void setup(void)
{
    leader_place_init(&p);
    now = 1000000;
    ck_assert_int_eq(leader_place_due(&p, SELF, true, now), -1); /* took office */
}

/* One window: n commands, `mine` of them from `origin`, the rest spread
 * over two other nodes; then the call at the window's end. */
static int32_t window(uint32_t origin, uint32_t mine, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        leader_place_note(&p, i < mine ? origin : (i % 2 ? 1 : 3));
    now += WIN;
    return leader_place_due(&p, SELF, true, now);
}

START_TEST(test_two_dominated_windows_make_it_due)
{
    ck_assert_int_eq(window(OTHER, 90, 100), -1); /* one window is not enough */
    ck_assert_int_eq(window(OTHER, 90, 100), OTHER);
    now += 1000; /* still due at the next turns, for a window */
    ck_assert_int_eq(leader_place_due(&p, SELF, true, now), OTHER);
    now += WIN;
    ck_assert_int_eq(leader_place_due(&p, SELF, true, now), -1);
}
END_TEST

START_TEST(test_spread_or_light_load_never)
{
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(window(OTHER, 70, 100), -1); /* 70%: spread */
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(window(OTHER, PLACE_MIN_CMDS - 1, PLACE_MIN_CMDS - 1), -1);
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(window(SELF, 100, 100), -1); /* its own */
}
END_TEST

START_TEST(test_a_different_node_each_window_never)
{
    for (int i = 0; i < 6; i++)
        ck_assert_int_eq(window(i % 2 ? 1 : OTHER, 100, 100), -1);
}
END_TEST

START_TEST(test_quiet_after_a_hand_over)
{
    ck_assert_int_eq(window(OTHER, 100, 100), -1);
    ck_assert_int_eq(window(OTHER, 100, 100), OTHER);
    leader_place_done(&p, now);
    uint64_t quiet_end = now + PLACE_QUIET_MS * 1000ull;
    while (now + WIN < quiet_end)
        ck_assert_int_eq(window(OTHER, 100, 100), -1);
    /* the windows during the quiet time count as the first of two */
    ck_assert_int_eq(window(OTHER, 100, 100), OTHER);
}
END_TEST

/* Commands counted before this node led do not count. */
START_TEST(test_counts_start_with_the_leadership)
{
    leader_place_init(&p);
    ck_assert_int_eq(leader_place_due(&p, SELF, false, now), -1);
    for (int i = 0; i < 1000; i++)
        leader_place_note(&p, OTHER);
    now += WIN;
    ck_assert_int_eq(leader_place_due(&p, SELF, true, now), -1);
    ck_assert_int_eq(window(OTHER, 0, 0), -1);
    ck_assert_int_eq(window(OTHER, 0, 0), -1);
    /* and a lost leadership forgets them */
    ck_assert_int_eq(window(OTHER, 100, 100), -1);
    ck_assert_int_eq(leader_place_due(&p, SELF, false, now), -1);
    ck_assert_int_eq(leader_place_due(&p, SELF, true, now), -1);
    ck_assert_int_eq(window(OTHER, 100, 100), -1);
    ck_assert_int_eq(window(OTHER, 100, 100), OTHER);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("leader_place");
    TCase *tc = tcase_create("place");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_two_dominated_windows_make_it_due);
    tcase_add_test(tc, test_spread_or_light_load_never);
    tcase_add_test(tc, test_a_different_node_each_window_never);
    tcase_add_test(tc, test_quiet_after_a_hand_over);
    tcase_add_test(tc, test_counts_start_with_the_leadership);
    suite_add_tcase(s, tc);
    return check_run(s);
}
