/* control_parse.c - parsing control requests (daemon) and replies (qfs), v1. */
#include "fs/control/control_proto.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ctl_req_complete(const char *text, size_t len)
{
    return len >= 2 && text[len - 1] == '\n' && text[len - 2] == '\n';
}

/* "qfs-control VERSION REST": checks magic and version, returns REST. */
static int parse_head(const char *line, size_t len, const char **rest, size_t *restlen)
{
    size_t m = strlen(CTL_MAGIC);
    if (len < m + 2 || memcmp(line, CTL_MAGIC, m) != 0 || line[m] != ' ')
        return -EPROTO;
    size_t i = m + 1, v = 0;
    for (; i < len && line[i] >= '0' && line[i] <= '9' && v < 1000000; i++)
        v = v * 10 + (size_t)(line[i] - '0');
    if (i == m + 1 || i >= len || line[i] != ' ')
        return -EPROTO;
    if (v != CTL_VERSION)
        return -EPROTONOSUPPORT;
    *rest = line + i + 1;
    *restlen = len - i - 1;
    return 0;
}

static int parse_u64(const char *s, size_t len, uint64_t *v)
{
    uint64_t x = 0;
    if (len == 0 || len > 20)
        return -EPROTO;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -EPROTO;
        unsigned d = (unsigned)(s[i] - '0');
        if (x > (UINT64_MAX - d) / 10)
            return -EPROTO;
        x = x * 10 + d;
    }
    *v = x;
    return 0;
}

static int parse_verb(const char *s, size_t len, struct ctl_req *r)
{
    if (len == 0 || len >= CTL_VERB_MAX)
        return -EPROTO;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || s[i] == '-'))
            return -EPROTO;
    memcpy(r->verb, s, len);
    r->verb[len] = '\0';
    return 0;
}

static int parse_first(const char *line, size_t len, struct ctl_req *r)
{
    const char *rest;
    size_t restlen;
    int rc = parse_head(line, len, &rest, &restlen);
    return rc ? rc : parse_verb(rest, restlen, r);
}

int ctl_req_parse(const char *text, size_t len, struct ctl_req *r)
{
    if (len > CTL_REQ_MAX || !ctl_req_complete(text, len))
        return -EPROTO;
    r->nargs = 0;
    const char *p = text, *stop = text + len;
    for (int first = 1; p < stop; first = 0) {
        const char *nl = memchr(p, '\n', (size_t)(stop - p)); /* found: text ends with one */
        size_t ll = (size_t)(nl - p);
        int rc;
        if (ll > CTL_LINE_MAX)
            return -EPROTO;
        if (ll == 0) /* the empty line ends the request, and only the last one */
            return !first && nl + 1 == stop ? 0 : -EPROTO;
        if (first)
            rc = parse_first(p, ll, r);
        else if (r->nargs == CTL_ARGS_MAX)
            rc = -E2BIG;
        else
            rc = parse_u64(p, ll, &r->args[r->nargs++]);
        if (rc)
            return rc;
        p = nl + 1;
    }
    return -EPROTO;
}

static int unhex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Undoes the escaping in place (s is NUL-terminated). */
static int unescape(char *s)
{
    char *w = s;
    for (const char *p = s; *p; p++) {
        if (*p != '%') {
            *w++ = *p;
            continue;
        }
        int hi = unhex(p[1]), lo = hi < 0 ? -1 : unhex(p[2]);
        if (lo < 0 || (hi == 0 && lo == 0))
            return -EPROTO; /* no NUL inside a value */
        *w++ = (char)(hi << 4 | lo);
        p += 2;
    }
    *w = '\0';
    return 0;
}

/* "qfs-control 1 ok" or "qfs-control 1 error NAME MESSAGE" (NUL-terminated). */
static int reply_head(char *line, size_t len, struct ctl_reply *r)
{
    const char *rest;
    size_t restlen;
    int rc = parse_head(line, len, &rest, &restlen);
    if (rc)
        return rc;
    if (strcmp(rest, "ok") == 0)
        return 0;
    if (strncmp(rest, "error ", 6) != 0)
        return -EPROTO;
    char *name = (char *)rest + 6, *sp = strchr(name, ' ');
    if (!sp || sp == name)
        return -EPROTO;
    *sp = '\0';
    r->errname = name;
    r->message = sp + 1;
    r->err = ctl_errno_of(name);
    return unescape(sp + 1);
}

static int reply_add(struct ctl_reply *r, char *line)
{
    char *sp = strchr(line, ' ');
    if (!sp || sp == line)
        return -EPROTO;
    *sp = '\0';
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 64;
        struct ctl_kv *kv = realloc(r->kv, cap * sizeof(*kv));
        if (!kv)
            return -ENOMEM;
        r->kv = kv;
        r->cap = cap;
    }
    r->kv[r->n].key = line;
    r->kv[r->n++].value = sp + 1;
    return unescape(sp + 1);
}

int ctl_reply_parse(char *text, size_t len, struct ctl_reply *r)
{
    memset(r, 0, sizeof(*r));
    if (len > CTL_REPLY_MAX)
        return -EPROTO;
    char *p = text, *stop = text + len;
    for (int first = 1; p < stop; first = 0) {
        char *nl = memchr(p, '\n', (size_t)(stop - p));
        if (!nl)
            return -EPROTO; /* cut short */
        *nl = '\0';
        int rc;
        if (first)
            rc = reply_head(p, (size_t)(nl - p), r);
        else if (strcmp(p, "end") == 0)
            return nl + 1 == stop ? 0 : -EPROTO;
        else
            rc = reply_add(r, p);
        if (rc)
            return rc;
        p = nl + 1;
    }
    return -EPROTO;
}

void ctl_reply_free(struct ctl_reply *r)
{
    free(r->kv);
    r->kv = NULL;
    r->n = r->cap = 0;
}

const char *ctl_get(struct ctl_reply *r, const char *key)
{
    for (size_t i = 0; i < r->n; i++) {
        size_t j = (r->hint + i) % r->n;
        if (strcmp(r->kv[j].key, key) == 0) {
            r->hint = j + 1;
            return r->kv[j].value;
        }
    }
    return NULL;
}

int ctl_get_u64(struct ctl_reply *r, const char *key, uint64_t *v)
{
    const char *s = ctl_get(r, key);
    if (!s)
        return -ENOENT;
    return parse_u64(s, strlen(s), v);
}

int ctl_get_i64(struct ctl_reply *r, const char *key, int64_t *v)
{
    const char *s = ctl_get(r, key);
    uint64_t u;
    if (!s)
        return -ENOENT;
    bool neg = *s == '-';
    int rc = parse_u64(s + neg, strlen(s + neg), &u);
    if (rc || u > (uint64_t)INT64_MAX)
        return -EPROTO;
    *v = neg ? -(int64_t)u : (int64_t)u;
    return 0;
}
