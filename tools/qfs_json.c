/* qfs_json.c - the JSON writer behind every --json (schema: docs/qfs-status.schema.json). */
#include "tools/qfs.h"

#include <inttypes.h>
#include <math.h>

#define JSON_DEPTH_MAX ((int)(sizeof(((struct qfs_json *)0)->first) / sizeof(bool)))

static void put_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f); /* UTF-8 passes through; file names that are not UTF-8 stay bytes */
    }
    fputc('"', f);
}

/* The comma and the key before a value. */
static void lead(struct qfs_json *j, const char *key)
{
    if (!j->first[j->depth])
        fputc(',', j->f);
    j->first[j->depth] = false;
    if (key) {
        put_string(j->f, key);
        fputc(':', j->f);
    }
}

static void open_(struct qfs_json *j, const char *key, char bracket)
{
    lead(j, key);
    fputc(bracket, j->f);
    if (j->depth + 1 < JSON_DEPTH_MAX)
        j->first[++j->depth] = true;
}

void qfs_json_obj(struct qfs_json *j, const char *key)
{
    open_(j, key, '{');
}

void qfs_json_arr(struct qfs_json *j, const char *key)
{
    open_(j, key, '[');
}

void qfs_json_close(struct qfs_json *j, char bracket)
{
    fputc(bracket, j->f);
    if (j->depth > 0)
        j->depth--;
}

void qfs_json_begin(struct qfs_json *j, FILE *f, const char *command)
{
    j->f = f;
    j->depth = 0;
    j->first[0] = true;
    qfs_json_obj(j, NULL);
    qfs_json_str(j, "schema", QFS_JSON_SCHEMA);
    qfs_json_str(j, "command", command);
}

void qfs_json_end(struct qfs_json *j)
{
    qfs_json_close(j, '}');
    fputc('\n', j->f);
    fflush(j->f);
}

void qfs_json_str(struct qfs_json *j, const char *key, const char *v)
{
    lead(j, key);
    if (v)
        put_string(j->f, v);
    else
        fputs("null", j->f);
}

void qfs_json_u64(struct qfs_json *j, const char *key, uint64_t v)
{
    lead(j, key);
    fprintf(j->f, "%" PRIu64, v);
}

void qfs_json_i64(struct qfs_json *j, const char *key, int64_t v)
{
    lead(j, key);
    fprintf(j->f, "%" PRId64, v);
}

void qfs_json_num(struct qfs_json *j, const char *key, double v)
{
    lead(j, key);
    if (v < 0 || !isfinite(v))
        fputs("null", j->f);
    else
        fprintf(j->f, "%.3f", v);
}

void qfs_json_bool(struct qfs_json *j, const char *key, bool v)
{
    lead(j, key);
    fputs(v ? "true" : "false", j->f);
}
