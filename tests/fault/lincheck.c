/*
 * lincheck - checks a namespace history (lincheck-history v1) for
 * linearizability against the directory model.
 *
 *   lincheck [--max-steps N] [--max-mem MIB] [--search eager|lazy|both] HISTORY|-
 *
 * Both searches are complete; they differ in where they try unknown ops
 * first (linsearch.c), so a history one of them cannot decide within the
 * limits the other often can: "both" (the default) runs the eager search
 * and, if it gives up, the lazy one with the same limits.
 *
 * Exit status: 0 linearizable, 1 not linearizable, 2 inconclusive (search
 * limits reached), 3 usage or input error.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fault/linhistory.h"

struct options {
    struct ls_limits lim;
    const char *path;
    int eager, lazy; /* the searches to run, in this order */
};

static int parse_args(int argc, char **argv, struct options *o)
{
    o->lim.max_steps = 50u * 1000 * 1000;
    o->lim.max_cache_bytes = (size_t)1024 * 1024 * 1024;
    o->path = NULL;
    o->eager = o->lazy = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--max-steps") == 0 && i + 1 < argc)
            o->lim.max_steps = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--max-mem") == 0 && i + 1 < argc)
            o->lim.max_cache_bytes = (size_t)strtoull(argv[++i], NULL, 10) << 20;
        else if (strcmp(argv[i], "--search") == 0 && i + 1 < argc) {
            const char *v = argv[++i];
            o->eager = strcmp(v, "eager") == 0 || strcmp(v, "both") == 0;
            o->lazy = strcmp(v, "lazy") == 0 || strcmp(v, "both") == 0;
            if (!o->eager && !o->lazy)
                return -EINVAL;
        } else if (!o->path)
            o->path = argv[i];
        else
            return -EINVAL;
    }
    return o->path ? 0 : -EINVAL;
}

static void print_state(const struct lh_history *h, dm_state s)
{
    static const char *const kinds[] = {"absent", "file", "dir", "?"};

    for (unsigned i = 0; i < h->n_names; i++)
        printf(" %s=%s", h->names[i], kinds[dm_get(s, i)]);
    printf("\n");
}

static void print_op(const struct lh_history *h, size_t i)
{
    const struct ls_op *o = &h->ops[i];

    printf("op %s: %s %s", h->ids[i], dm_op_name(o->args.op), h->names[o->args.a]);
    if (o->args.op == DM_RENAME)
        printf(" %s", h->names[o->args.b]);
    printf(" -> %s (call %" PRId64 ")\n", dm_res_name(o->res), o->call);
}

static int report(const struct lh_history *h, const struct ls_report *r)
{
    size_t unknown = 0;

    for (size_t i = 0; i < h->n; i++)
        unknown += h->ops[i].ret == LS_NEVER;
    if (r->verdict == LS_LINEARIZABLE) {
        printf("lincheck: linearizable: %zu ops (%zu unknown), %" PRIu64 " steps\n", h->n, unknown,
               r->steps);
        return 0;
    }
    if (r->verdict == LS_INCONCLUSIVE) {
        printf("lincheck: INCONCLUSIVE after %" PRIu64 " steps (limits reached); longest valid "
               "prefix %zu of %zu ops (%zu unknown), the search stuck at ",
               r->steps, r->best_depth, h->n, unknown);
        print_op(h, r->stuck_op);
        return 2;
    }
    printf("lincheck: no order places ");
    print_op(h, r->stuck_op);
    printf("lincheck: model state after the longest valid prefix:");
    print_state(h, r->best_state);
    printf("lincheck: NOT linearizable: %zu ops (%zu unknown); longest valid prefix %zu ops\n",
           h->n, unknown, r->best_depth);
    return 1;
}

/* Runs the searches o asks for until one decides. */
static int search(const struct lh_history *h, struct options *o, struct ls_report *rep)
{
    int rc = 0;

    if (o->eager) {
        o->lim.lazy_unknown = false;
        rc = ls_check(h->ops, h->n, h->init, &o->lim, rep);
        if (rc < 0 || rep->verdict != LS_INCONCLUSIVE || !o->lazy)
            return rc;
        printf("lincheck: eager search gave up after %" PRIu64 " steps; lazy search\n", rep->steps);
    }
    o->lim.lazy_unknown = true;
    return ls_check(h->ops, h->n, h->init, &o->lim, rep);
}

int main(int argc, char **argv)
{
    struct options o;
    struct lh_history h = {0};
    struct ls_report rep;
    char err[128];
    FILE *f;
    int rc;

    if (parse_args(argc, argv, &o) < 0) {
        fprintf(stderr, "usage: lincheck [--max-steps N] [--max-mem MIB] "
                        "[--search eager|lazy|both] HISTORY|-\n");
        return 3;
    }
    f = strcmp(o.path, "-") ? fopen(o.path, "r") : stdin;
    if (!f) {
        fprintf(stderr, "lincheck: %s: %s\n", o.path, strerror(errno));
        return 3;
    }
    rc = lh_parse(f, &h, err, sizeof(err));
    if (f != stdin)
        fclose(f);
    if (rc < 0) {
        fprintf(stderr, "lincheck: %s: %s\n", o.path, err);
        lh_free(&h);
        return 3;
    }
    rc = search(&h, &o, &rep);
    if (rc < 0) {
        fprintf(stderr, "lincheck: %s\n", strerror(-rc));
        lh_free(&h);
        return 3;
    }
    rc = report(&h, &rep);
    lh_free(&h);
    return rc;
}
