/* linhistory.c - parser of the lincheck-history v1 text format. */
#include "tests/fault/linhistory.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define LH_HEADER "# lincheck-history v1"

static int intern(struct lh_history *h, const char *name, uint8_t *idx)
{
    for (unsigned i = 0; i < h->n_names; i++) {
        if (strcmp(h->names[i], name) == 0) {
            *idx = (uint8_t)i;
            return 0;
        }
    }
    if (h->n_names == DM_MAX_NAMES)
        return -ERANGE;
    h->names[h->n_names] = strdup(name);
    if (!h->names[h->n_names])
        return -ENOMEM;
    *idx = (uint8_t)h->n_names++;
    return 0;
}

static int parse_time(const char *w, int64_t *t)
{
    char *end;

    if (strcmp(w, "-") == 0) {
        *t = LS_NEVER;
        return 0;
    }
    errno = 0;
    *t = strtoll(w, &end, 10);
    return (errno || *end || end == w || *t == LS_NEVER) ? -EINVAL : 0;
}

static int push_op(struct lh_history *h, const struct ls_op *op, const char *id)
{
    if (h->n == h->cap) {
        size_t ncap = h->cap ? 2 * h->cap : 256;
        struct ls_op *ops = realloc(h->ops, ncap * sizeof(*ops));
        if (ops)
            h->ops = ops;
        char **ids = realloc(h->ids, ncap * sizeof(*ids));
        if (ids)
            h->ids = ids;
        if (!ops || !ids)
            return -ENOMEM;
        h->cap = ncap;
    }
    h->ids[h->n] = strdup(id);
    if (!h->ids[h->n])
        return -ENOMEM;
    h->ops[h->n++] = *op;
    return 0;
}

static int parse_init(struct lh_history *h, char **w, int nw)
{
    uint8_t idx;
    int rc;

    if (nw != 3 || h->n != 0)
        return -EINVAL;
    rc = intern(h, w[1], &idx);
    if (rc < 0)
        return rc;
    if (strcmp(w[2], "file") == 0)
        h->init = dm_set(h->init, idx, DM_FILE);
    else if (strcmp(w[2], "dir") == 0)
        h->init = dm_set(h->init, idx, DM_DIR);
    else
        return -EINVAL;
    return 0;
}

static int parse_op(struct lh_history *h, char **w, int nw)
{
    struct ls_op op = {0};
    int rc;

    if (nw != 7)
        return -EINVAL;
    if (parse_time(w[1], &op.call) || op.call == LS_NEVER || parse_time(w[2], &op.ret) ||
        dm_op_parse(w[3], &op.args.op) || dm_res_parse(w[6], &op.res))
        return -EINVAL;
    rc = intern(h, w[4], &op.args.a);
    if (rc == 0 && op.args.op == DM_RENAME)
        rc = strcmp(w[5], "-") ? intern(h, w[5], &op.args.b) : -EINVAL;
    if (rc < 0)
        return rc;
    if (op.res == DM_ANY || op.ret == LS_NEVER) {
        op.res = DM_ANY;
        op.ret = LS_NEVER;
    } else if (op.ret < op.call) {
        return -EINVAL;
    }
    return push_op(h, &op, w[0]);
}

static int split(char *line, char **w, int max)
{
    int n = 0;

    for (char *tok = strtok(line, " \t\r\n"); tok; tok = strtok(NULL, " \t\r\n")) {
        if (n == max)
            return max + 1;
        w[n++] = tok;
    }
    return n;
}

int lh_parse(FILE *f, struct lh_history *h, char *err, size_t errlen)
{
    char line[1024], *w[8];
    unsigned long lineno = 0;
    int rc = 0;

    while (rc == 0 && fgets(line, sizeof(line), f)) {
        lineno++;
        if (lineno == 1) {
            rc = strncmp(line, LH_HEADER, strlen(LH_HEADER)) ? -EINVAL : 0;
            continue;
        }
        if (line[0] == '#')
            continue;
        int nw = split(line, w, 7);
        if (nw == 0)
            continue;
        rc = strcmp(w[0], "init") == 0 ? parse_init(h, w, nw) : parse_op(h, w, nw);
    }
    if (rc == 0 && lineno == 0)
        rc = -EINVAL;
    if (rc < 0)
        snprintf(err, errlen, "line %lu: %s", lineno,
                 lineno <= 1     ? "missing '" LH_HEADER "' header"
                 : rc == -ERANGE ? "too many names"
                                 : "malformed");
    return rc;
}

void lh_free(struct lh_history *h)
{
    for (size_t i = 0; i < h->n; i++)
        free(h->ids[i]);
    for (unsigned i = 0; i < h->n_names; i++)
        free(h->names[i]);
    free(h->ids);
    free(h->ops);
    memset(h, 0, sizeof(*h));
}
