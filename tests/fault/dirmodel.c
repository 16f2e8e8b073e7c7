/* dirmodel.c - the directory model the namespace history is checked against. */
#include "tests/fault/dirmodel.h"

#include <errno.h>
#include <string.h>

static const char *const op_names[] = {"create", "mkdir", "unlink", "rmdir", "rename", "lookup"};
static const char *const res_names[] = {"ok",        "ENOENT", "EEXIST", "EISDIR", "ENOTDIR",
                                        "ENOTEMPTY", "file",   "dir",    "?"};

enum dm_kind dm_get(dm_state s, unsigned name)
{
    return (enum dm_kind)((s >> (2 * name)) & 3u);
}

dm_state dm_set(dm_state s, unsigned name, enum dm_kind k)
{
    s &= ~((dm_state)3 << (2 * name));
    return s | ((dm_state)k << (2 * name));
}

static enum dm_res step_rename(dm_state s, unsigned a, unsigned b, dm_state *next)
{
    enum dm_kind ka = dm_get(s, a), kb = dm_get(s, b);

    if (ka == DM_ABSENT)
        return DM_ENOENT;
    if (a == b)
        return DM_OK;
    if (ka == DM_FILE && kb == DM_DIR)
        return DM_EISDIR;
    if (ka == DM_DIR && kb == DM_FILE)
        return DM_ENOTDIR;
    /* Directories in the model are always empty, so replacing one is allowed. */
    *next = dm_set(dm_set(s, a, DM_ABSENT), b, ka);
    return DM_OK;
}

enum dm_res dm_step(dm_state s, const struct dm_call *c, dm_state *next)
{
    enum dm_kind ka = dm_get(s, c->a);

    *next = s;
    switch (c->op) {
    case DM_CREATE:
    case DM_MKDIR:
        if (ka != DM_ABSENT)
            return DM_EEXIST;
        *next = dm_set(s, c->a, c->op == DM_CREATE ? DM_FILE : DM_DIR);
        return DM_OK;
    case DM_UNLINK:
        if (ka == DM_ABSENT)
            return DM_ENOENT;
        if (ka == DM_DIR)
            return DM_EISDIR;
        *next = dm_set(s, c->a, DM_ABSENT);
        return DM_OK;
    case DM_RMDIR:
        if (ka == DM_ABSENT)
            return DM_ENOENT;
        if (ka == DM_FILE)
            return DM_ENOTDIR;
        *next = dm_set(s, c->a, DM_ABSENT);
        return DM_OK;
    case DM_RENAME:
        return step_rename(s, c->a, c->b, next);
    case DM_LOOKUP:
        return ka == DM_ABSENT ? DM_ENOENT : ka == DM_FILE ? DM_IS_FILE : DM_IS_DIR;
    }
    return DM_ANY;
}

static int lookup_word(const char *const *table, int n, const char *word)
{
    for (int i = 0; i < n; i++)
        if (strcmp(table[i], word) == 0)
            return i;
    return -EINVAL;
}

int dm_op_parse(const char *word, enum dm_op *op)
{
    int i = lookup_word(op_names, (int)(sizeof(op_names) / sizeof(op_names[0])), word);

    if (i < 0)
        return i;
    *op = (enum dm_op)i;
    return 0;
}

int dm_res_parse(const char *word, enum dm_res *res)
{
    int i = lookup_word(res_names, (int)(sizeof(res_names) / sizeof(res_names[0])), word);

    if (i < 0)
        return i;
    *res = (enum dm_res)i;
    return 0;
}

const char *dm_op_name(enum dm_op op)
{
    return op_names[op];
}

const char *dm_res_name(enum dm_res res)
{
    return res_names[res];
}
