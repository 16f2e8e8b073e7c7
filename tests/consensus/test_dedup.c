/* Unit tests of the de-dup window (consensus/dedup.h). */
#include "consensus/dedup.h"

#include "tests/check_run.h"
#include <string.h>

START_TEST(test_first_time_then_duplicate)
{
    struct dedup_table t;
    memset(&t, 0, sizeof(t));
    ck_assert_int_eq(dedup_admit(&t, 1, 5), 1);
    ck_assert_int_eq(dedup_admit(&t, 1, 5), 0);
    ck_assert_int_eq(dedup_admit(&t, 2, 5), 1); /* other origin, own window */
    ck_assert_int_eq(dedup_admit(&t, 1, 3), 1); /* out of order, inside the window */
    ck_assert_int_eq(dedup_admit(&t, 1, 3), 0);
    ck_assert_int_eq(dedup_admit(&t, 1, 4), 1);
    ck_assert_int_eq(dedup_admit(&t, 1, 0), 0);              /* 0 is never a request id */
    ck_assert_int_eq(dedup_admit(&t, CONS_MAX_NODES, 1), 0); /* no such origin */
}
END_TEST

START_TEST(test_window_slides)
{
    struct dedup_table t;
    memset(&t, 0, sizeof(t));
    ck_assert_int_eq(dedup_admit(&t, 0, 10), 1);
    ck_assert_int_eq(dedup_admit(&t, 0, 10 + DEDUP_WINDOW - 1), 1);
    ck_assert_int_eq(dedup_admit(&t, 0, 10), 0); /* still inside: duplicate */
    ck_assert_int_eq(dedup_admit(&t, 0, 11), 1); /* skipped id, still inside */
    ck_assert_int_eq(dedup_admit(&t, 0, 10 + DEDUP_WINDOW), 1);
    ck_assert_int_eq(dedup_admit(&t, 0, 12), 1);
    ck_assert_int_eq(dedup_admit(&t, 0, 10), 0);   /* fell out: too old, refused */
    ck_assert_int_eq(dedup_admit(&t, 0, 5000), 1); /* a jump clears the window */
    ck_assert_int_eq(dedup_admit(&t, 0, 4999), 1);
    ck_assert_int_eq(dedup_admit(&t, 0, 4999), 0);
    /* an id reused after the jump wraps onto an old bit: it must be free */
    ck_assert_int_eq(dedup_admit(&t, 0, 5000 - DEDUP_WINDOW + 1), 1);
}
END_TEST

/* Whether a refused id was applied is known inside the window only. */
START_TEST(test_too_old)
{
    struct dedup_table t;
    memset(&t, 0, sizeof(t));
    ck_assert_int_eq(dedup_too_old(&t, 0, 1), 0); /* nothing seen yet */
    ck_assert_int_eq(dedup_admit(&t, 0, 10 + DEDUP_WINDOW), 1);
    ck_assert_int_eq(dedup_too_old(&t, 0, 10 + DEDUP_WINDOW), 0); /* the highest itself */
    ck_assert_int_eq(dedup_too_old(&t, 0, 11), 0);                /* last one inside */
    ck_assert_int_eq(dedup_too_old(&t, 0, 10), 1);
    ck_assert_int_eq(dedup_too_old(&t, 0, 20 + DEDUP_WINDOW), 0); /* newer than all */
    ck_assert_int_eq(dedup_too_old(&t, CONS_MAX_NODES, 1), 1);    /* no such origin */
}
END_TEST

START_TEST(test_encode_roundtrip)
{
    struct dedup_table t, u;
    memset(&t, 0, sizeof(t));
    for (uint64_t i = 1; i < 300; i += 3)
        dedup_admit(&t, (uint32_t)(i % 3), i);
    uint8_t buf[DEDUP_ENC_LEN];
    dedup_encode(&t, buf);
    dedup_decode(&u, buf);
    ck_assert_mem_eq(&t, &u, sizeof(t));
    for (uint64_t i = 1; i < 300; i += 3)
        ck_assert_int_eq(dedup_admit(&u, (uint32_t)(i % 3), i), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("consensus-dedup");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_first_time_then_duplicate);
    tcase_add_test(tc, test_too_old);
    tcase_add_test(tc, test_window_slides);
    tcase_add_test(tc, test_encode_roundtrip);
    suite_add_tcase(s, tc);
    return check_run(s);
}
