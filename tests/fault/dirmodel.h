/*
 * dirmodel.h - sequential specification of one directory, for the
 * linearizability checker.
 *
 * The directory holds at most DM_MAX_NAMES names; each is absent, a regular
 * file or an (always empty) subdirectory. The state fits in one 64-bit word
 * (2 bits per name), so the search can memoize states cheaply. dm_step() is
 * pure: the same state and call give the same result and next state, with
 * the errno choices Linux makes (unlink of a directory is EISDIR, rmdir of a
 * file ENOTDIR, rename of a file onto a directory EISDIR, of a directory onto
 * a file ENOTDIR, rename(a, a) of an existing name a no-op).
 */
#ifndef QFS_TESTS_FAULT_DIRMODEL_H
#define QFS_TESTS_FAULT_DIRMODEL_H

#include <stdint.h>

#define DM_MAX_NAMES 32

typedef uint64_t dm_state; /* 2 bits per name index: enum dm_kind */

enum dm_kind { DM_ABSENT = 0, DM_FILE = 1, DM_DIR = 2 };

enum dm_op { DM_CREATE, DM_MKDIR, DM_UNLINK, DM_RMDIR, DM_RENAME, DM_LOOKUP };

/* What an operation returned. DM_ANY: not known (timed out, or an error the
 * model does not produce); any result is accepted. */
enum dm_res {
    DM_OK,
    DM_ENOENT,
    DM_EEXIST,
    DM_EISDIR,
    DM_ENOTDIR,
    DM_ENOTEMPTY,
    DM_IS_FILE, /* lookup found a regular file */
    DM_IS_DIR,  /* lookup found a directory */
    DM_ANY,
};

struct dm_call {
    enum dm_op op;
    uint8_t a; /* name index */
    uint8_t b; /* rename target; unused otherwise */
};

enum dm_kind dm_get(dm_state s, unsigned name);
dm_state dm_set(dm_state s, unsigned name, enum dm_kind k);

/* Applies c to s; stores the successor state in *next and returns the
 * result the operation must report. */
enum dm_res dm_step(dm_state s, const struct dm_call *c, dm_state *next);

/* Parse / print helpers for the history format (docs/fault-testing.md).
 * Return -EINVAL for an unknown word. */
int dm_op_parse(const char *word, enum dm_op *op);
int dm_res_parse(const char *word, enum dm_res *res);
const char *dm_op_name(enum dm_op op);
const char *dm_res_name(enum dm_res res);

#endif
