/* test_lincheck.c - the directory model and the linearizability search,
 * on hand-made histories that are and are not linearizable. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/check_run.h"
#include "tests/fault/linhistory.h"

enum { A, B, C };
#define NEVER LS_NEVER

static const struct ls_limits limits = {.max_steps = 100000000, .max_cache_bytes = 256u << 20};

static struct ls_op op(int64_t call, int64_t ret, enum dm_op o, int a, int b, enum dm_res res)
{
    return (struct ls_op){
        .call = call, .ret = ret, .args = {.op = o, .a = (uint8_t)a, .b = (uint8_t)b}, .res = res};
}

static enum ls_verdict check_ops(const struct ls_op *ops, size_t n, dm_state init)
{
    struct ls_report rep;

    ck_assert_int_eq(ls_check(ops, n, init, &limits, &rep), 0);
    return rep.verdict;
}

#define CHECK(init, ...)                                                                           \
    check_ops((const struct ls_op[]){__VA_ARGS__},                                                 \
              sizeof((const struct ls_op[]){__VA_ARGS__}) / sizeof(struct ls_op), init)

START_TEST(model_errnos)
{
    dm_state s = 0, n;
    struct dm_call c = {.op = DM_CREATE, .a = A};

    ck_assert_int_eq(dm_step(s, &c, &s), DM_OK);
    ck_assert_int_eq(dm_step(s, &c, &n), DM_EEXIST);
    ck_assert_int_eq(dm_step(s, &(struct dm_call){DM_RMDIR, A, 0}, &n), DM_ENOTDIR);
    ck_assert_int_eq(dm_step(s, &(struct dm_call){DM_MKDIR, B, 0}, &s), DM_OK);
    ck_assert_int_eq(dm_step(s, &(struct dm_call){DM_UNLINK, B, 0}, &n), DM_EISDIR);
    ck_assert_int_eq(dm_step(s, &(struct dm_call){DM_RENAME, A, B}, &n), DM_EISDIR);
    ck_assert_int_eq(dm_step(s, &(struct dm_call){DM_RENAME, B, A}, &n), DM_ENOTDIR);
    ck_assert_int_eq(dm_step(s, &(struct dm_call){DM_RENAME, C, A}, &n), DM_ENOENT);
    ck_assert_int_eq(dm_step(s, &(struct dm_call){DM_RENAME, A, A}, &n), DM_OK);
    ck_assert_uint_eq(n, s);
    ck_assert_int_eq(dm_step(s, &(struct dm_call){DM_RENAME, A, C}, &s), DM_OK);
    ck_assert_int_eq(dm_get(s, A), DM_ABSENT);
    ck_assert_int_eq(dm_get(s, C), DM_FILE);
    ck_assert_int_eq(dm_step(s, &(struct dm_call){DM_LOOKUP, B, 0}, &n), DM_IS_DIR);
    ck_assert_int_eq(dm_step(s, &(struct dm_call){DM_RMDIR, B, 0}, &s), DM_OK);
    ck_assert_int_eq(dm_step(s, &(struct dm_call){DM_LOOKUP, B, 0}, &n), DM_ENOENT);
}
END_TEST

START_TEST(sequential)
{
    ck_assert_int_eq(CHECK(0, op(0, 1, DM_CREATE, A, 0, DM_OK),
                           op(2, 3, DM_LOOKUP, A, 0, DM_IS_FILE), op(4, 5, DM_RENAME, A, B, DM_OK),
                           op(6, 7, DM_LOOKUP, A, 0, DM_ENOENT), op(8, 9, DM_UNLINK, B, 0, DM_OK)),
                     LS_LINEARIZABLE);
    /* Two successful exclusive creates with no unlink between them. */
    ck_assert_int_eq(CHECK(0, op(0, 1, DM_CREATE, A, 0, DM_OK), op(2, 3, DM_CREATE, A, 0, DM_OK)),
                     LS_NOT_LINEARIZABLE);
    /* A stale read: the lookup starts after the create returned. */
    ck_assert_int_eq(
        CHECK(0, op(0, 10, DM_CREATE, A, 0, DM_OK), op(20, 30, DM_LOOKUP, A, 0, DM_ENOENT)),
        LS_NOT_LINEARIZABLE);
    /* The initial state counts: A already exists. */
    ck_assert_int_eq(CHECK(dm_set(0, A, DM_FILE), op(0, 1, DM_CREATE, A, 0, DM_OK)),
                     LS_NOT_LINEARIZABLE);
}
END_TEST

START_TEST(concurrent)
{
    /* Overlapping lookup may see the old state. */
    ck_assert_int_eq(
        CHECK(0, op(0, 10, DM_CREATE, A, 0, DM_OK), op(5, 30, DM_LOOKUP, A, 0, DM_ENOENT)),
        LS_LINEARIZABLE);
    /* One of two racing creates wins, whichever returned first. */
    ck_assert_int_eq(
        CHECK(0, op(0, 10, DM_CREATE, A, 0, DM_EEXIST), op(5, 20, DM_CREATE, A, 0, DM_OK)),
        LS_LINEARIZABLE);
    ck_assert_int_eq(CHECK(0, op(0, 10, DM_CREATE, A, 0, DM_OK), op(5, 20, DM_CREATE, A, 0, DM_OK)),
                     LS_NOT_LINEARIZABLE);
    /* Both racing renames of the same source cannot succeed. */
    ck_assert_int_eq(CHECK(dm_set(0, A, DM_FILE), op(0, 10, DM_RENAME, A, B, DM_OK),
                           op(1, 11, DM_RENAME, A, C, DM_OK)),
                     LS_NOT_LINEARIZABLE);
    ck_assert_int_eq(CHECK(dm_set(0, A, DM_FILE), op(0, 10, DM_RENAME, A, B, DM_OK),
                           op(1, 11, DM_RENAME, A, C, DM_ENOENT),
                           op(12, 13, DM_LOOKUP, B, 0, DM_IS_FILE)),
                     LS_LINEARIZABLE);
    /* Two readers disagree about the order only if they overlap each other:
     * r1 sees the file, r2 (starting after r1 returned) must see it too. */
    ck_assert_int_eq(CHECK(0, op(0, 100, DM_MKDIR, A, 0, DM_OK),
                           op(10, 20, DM_LOOKUP, A, 0, DM_IS_DIR),
                           op(30, 40, DM_LOOKUP, A, 0, DM_ENOENT)),
                     LS_NOT_LINEARIZABLE);
    ck_assert_int_eq(CHECK(0, op(0, 100, DM_MKDIR, A, 0, DM_OK),
                           op(10, 40, DM_LOOKUP, A, 0, DM_IS_DIR),
                           op(30, 50, DM_LOOKUP, A, 0, DM_ENOENT)),
                     LS_LINEARIZABLE);
}
END_TEST

START_TEST(unknown_ops)
{
    /* An unknown create may have taken effect ... */
    ck_assert_int_eq(
        CHECK(0, op(0, NEVER, DM_CREATE, A, 0, DM_ANY), op(10, 20, DM_LOOKUP, A, 0, DM_IS_FILE)),
        LS_LINEARIZABLE);
    /* ... or not (yet) ... */
    ck_assert_int_eq(CHECK(0, op(0, NEVER, DM_CREATE, A, 0, DM_ANY),
                           op(10, 20, DM_LOOKUP, A, 0, DM_ENOENT),
                           op(30, 40, DM_LOOKUP, A, 0, DM_IS_FILE)),
                     LS_LINEARIZABLE);
    /* ... but once seen it cannot be undone. */
    ck_assert_int_eq(CHECK(0, op(0, NEVER, DM_CREATE, A, 0, DM_ANY),
                           op(10, 20, DM_LOOKUP, A, 0, DM_IS_FILE),
                           op(30, 40, DM_LOOKUP, A, 0, DM_ENOENT)),
                     LS_NOT_LINEARIZABLE);
    /* An unknown op never takes effect before its call. */
    ck_assert_int_eq(
        CHECK(0, op(0, 5, DM_LOOKUP, A, 0, DM_IS_FILE), op(10, NEVER, DM_CREATE, A, 0, DM_ANY)),
        LS_NOT_LINEARIZABLE);
    /* An unknown rename explains where A went, at most once. */
    ck_assert_int_eq(CHECK(dm_set(0, A, DM_FILE), op(0, NEVER, DM_RENAME, A, B, DM_ANY),
                           op(10, 20, DM_LOOKUP, B, 0, DM_IS_FILE),
                           op(30, 40, DM_LOOKUP, A, 0, DM_ENOENT)),
                     LS_LINEARIZABLE);
    ck_assert_int_eq(CHECK(dm_set(0, A, DM_FILE), op(0, NEVER, DM_RENAME, A, B, DM_ANY),
                           op(10, 20, DM_LOOKUP, B, 0, DM_IS_FILE),
                           op(30, 40, DM_LOOKUP, A, 0, DM_IS_FILE)),
                     LS_NOT_LINEARIZABLE);
}
END_TEST

static int cmp_point(const void *a, const void *b, void *point)
{
    int64_t pa = ((int64_t *)point)[*(const size_t *)a],
            pb = ((int64_t *)point)[*(const size_t *)b];

    return pa < pb ? -1 : pa > pb;
}

/* Generates a history by executing ops at random points inside random
 * overlapping intervals; unknown ops take effect or not at random. */
static size_t gen_history(struct ls_op *ops, size_t n, unsigned clients, unsigned seed,
                          int unknown_per_mille)
{
    int64_t *clock = calloc(clients, sizeof(*clock)), *point = calloc(n, sizeof(*point));
    size_t *order = calloc(n, sizeof(*order));
    dm_state s = 0;

    ck_assert_ptr_nonnull(clock);
    ck_assert_ptr_nonnull(point);
    ck_assert_ptr_nonnull(order);
    srand(seed);
    for (size_t i = 0; i < n; i++) {
        unsigned c = (unsigned)rand() % clients;
        int64_t call = clock[c] + rand() % 50, ret = call + 1 + rand() % 200;
        ops[i] = op(call, ret, (enum dm_op)(rand() % 6), rand() % 4, rand() % 4, DM_ANY);
        point[i] = call + rand() % (ret - call + 1);
        clock[c] = ret + 1;
        order[i] = i;
    }
    qsort_r(order, n, sizeof(*order), cmp_point, point);
    for (size_t k = 0; k < n; k++) {
        struct ls_op *o = &ops[order[k]];
        dm_state next;
        enum dm_res r = dm_step(s, &o->args, &next);
        if (rand() % 1000 < unknown_per_mille) { /* unknown: maybe applied, never reported */
            o->ret = NEVER;
            if (rand() % 2)
                s = next;
            continue;
        }
        o->res = r;
        s = next;
    }
    free(clock);
    free(point);
    free(order);
    return n;
}

/* A long history stays cheap: memo entries are 24 bytes whatever the
 * history's length (a 128-bit signature of the linearized set). */
START_TEST(long_history)
{
    size_t n = getenv("QFS_SANITIZED") ? 5000 : 50000;
    struct ls_op *ops = calloc(n, sizeof(*ops));
    const struct ls_limits small = {.max_steps = 500 * n, .max_cache_bytes = 256u << 20};
    struct ls_report rep;

    ck_assert_ptr_nonnull(ops);
    gen_history(ops, n, 12, 42, 1);
    ck_assert_int_eq(ls_check(ops, n, 0, &small, &rep), 0);
    ck_assert_msg(rep.verdict == LS_LINEARIZABLE, "verdict %d after %llu steps", rep.verdict,
                  (unsigned long long)rep.steps);
    free(ops);
}
END_TEST

/* Twenty unknown creates of a name that exists, then a lookup that no
 * order explains: the eager search tries every subset of the creates
 * (millions of steps); the lazy one places unknown ops only where a return
 * needs them, and never where they change nothing. */
START_TEST(lazy_search_skips_idle_unknown_ops)
{
    enum { K = 20 };
    struct ls_op ops[K + 1];
    struct ls_limits lazy = limits;
    struct ls_report rep;

    for (int i = 0; i < K; i++)
        ops[i] = op(i, NEVER, DM_CREATE, A, 0, DM_ANY);
    ops[K] = op(100, 110, DM_LOOKUP, A, 0, DM_ENOENT);
    lazy.lazy_unknown = true;
    ck_assert_int_eq(ls_check(ops, K + 1, dm_set(0, A, DM_FILE), &lazy, &rep), 0);
    ck_assert_int_eq(rep.verdict, LS_NOT_LINEARIZABLE);
    ck_assert_msg(rep.steps < 1000, "lazy: %llu steps", (unsigned long long)rep.steps);
    ck_assert_int_eq(ls_check(ops, K + 1, dm_set(0, A, DM_FILE), &limits, &rep), 0);
    ck_assert_int_eq(rep.verdict, LS_NOT_LINEARIZABLE);
    ck_assert_msg(rep.steps > 100000, "eager: %llu steps", (unsigned long long)rep.steps);
}
END_TEST

/* The two searches are both complete: on small random histories, some made
 * impossible by a changed result, they give the same verdict. */
START_TEST(lazy_and_eager_agree)
{
    struct ls_op ops[40];
    struct ls_limits lazy = limits;
    unsigned impossible = 0;

    lazy.lazy_unknown = true;
    for (unsigned seed = 1; seed <= 300; seed++) {
        size_t n = gen_history(ops, 40, 4, seed, 150);
        if (seed % 2) { /* change one known result */
            struct ls_op *o = &ops[seed % n];
            if (o->ret != NEVER)
                o->res = o->res == DM_OK ? DM_ENOENT : DM_OK;
        }
        struct ls_report re, rl;
        ck_assert_int_eq(ls_check(ops, n, 0, &limits, &re), 0);
        ck_assert_int_eq(ls_check(ops, n, 0, &lazy, &rl), 0);
        ck_assert_int_ne(re.verdict, LS_INCONCLUSIVE);
        ck_assert_msg(re.verdict == rl.verdict, "seed %u: eager %d, lazy %d", seed, re.verdict,
                      rl.verdict);
        impossible += re.verdict == LS_NOT_LINEARIZABLE;
    }
    ck_assert_uint_gt(impossible, 20); /* the comparison saw both verdicts */
}
END_TEST

START_TEST(random_linearizable)
{
    size_t n = getenv("QFS_SANITIZED") ? 600 : 3000;
    struct ls_op *ops = calloc(n + 2, sizeof(*ops));
    int64_t end = 0;

    ck_assert_ptr_nonnull(ops);
    for (unsigned seed = 1; seed <= 5; seed++) {
        gen_history(ops, n, 12, seed, 50);
        ck_assert_int_eq(check_ops(ops, n, 0), LS_LINEARIZABLE);
    }
    /* A history without unknown ops followed by two successful mkdirs of a
     * fresh name, nothing between them: the search must exhaust every order
     * (with unknown ops this is exponential, so keep it to completed ones). */
    n = getenv("QFS_SANITIZED") ? 300 : 1000;
    gen_history(ops, n, 12, 7, 0);
    for (size_t i = 0; i < n; i++)
        end = ops[i].ret != NEVER && ops[i].ret > end ? ops[i].ret : end;
    ops[n] = op(end + 10, end + 11, DM_MKDIR, 9, 0, DM_OK);
    ops[n + 1] = op(end + 20, end + 21, DM_MKDIR, 9, 0, DM_OK);
    ck_assert_int_eq(check_ops(ops, n + 2, 0), LS_NOT_LINEARIZABLE);
    free(ops);
}
END_TEST

static int parse_text(const char *text, struct lh_history *h, char *err)
{
    FILE *f = fmemopen((void *)text, strlen(text), "r");
    int rc;

    ck_assert_ptr_nonnull(f);
    rc = lh_parse(f, h, err, 128);
    fclose(f);
    return rc;
}

START_TEST(parse_format)
{
    struct lh_history h = {0};
    struct ls_report rep;
    char err[128];

    ck_assert_int_eq(parse_text("# lincheck-history v1\ninit x file\n"
                                "w1 100 200 rename x y ok\n"
                                "w2 150 - unlink y - ?\n"
                                "w3 300 400 lookup x - ENOENT\n",
                                &h, err),
                     0);
    ck_assert_uint_eq(h.n, 3);
    ck_assert_uint_eq(h.n_names, 2);
    ck_assert_int_eq(h.ops[1].ret, LS_NEVER);
    ck_assert_int_eq(h.ops[1].res, DM_ANY);
    ck_assert_int_eq(ls_check(h.ops, h.n, h.init, &limits, &rep), 0);
    ck_assert_int_eq(rep.verdict, LS_LINEARIZABLE);
    lh_free(&h);
    ck_assert_int_eq(parse_text("# lincheck-history v2\n", &h, err), -EINVAL);
    lh_free(&h);
    ck_assert_int_eq(parse_text("# lincheck-history v1\nw1 100 50 create x - ok\n", &h, err),
                     -EINVAL);
    ck_assert_str_eq(err, "line 2: malformed");
    lh_free(&h);
    ck_assert_int_eq(parse_text("# lincheck-history v1\nw1 1 2 rename x - ok\n", &h, err), -EINVAL);
    lh_free(&h);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("lincheck");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, model_errnos);
    tcase_add_test(tc, sequential);
    tcase_add_test(tc, concurrent);
    tcase_add_test(tc, unknown_ops);
    tcase_add_test(tc, lazy_search_skips_idle_unknown_ops);
    tcase_add_test(tc, lazy_and_eager_agree);
    tcase_add_test(tc, random_linearizable);
    tcase_add_test(tc, long_history);
    tcase_add_test(tc, parse_format);
    suite_add_tcase(s, tc);
    return check_run(s);
}
