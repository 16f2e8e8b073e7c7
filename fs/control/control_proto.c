/* control_proto.c - encoding and parsing of control-socket messages (v1). */
#include "fs/control/control_proto.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ctl_buf_reset(struct ctl_buf *b)
{
    b->len = 0;
    b->overflow = false;
}

void ctl_buf_add(struct ctl_buf *b, const char *text, size_t n)
{
    if (b->overflow || n > b->cap - b->len) {
        b->overflow = true;
        return;
    }
    memcpy(b->p + b->len, text, n);
    b->len += n;
}

static bool needs_escape(unsigned char ch)
{
    return ch <= 0x20 || ch == 0x7f || ch == '%';
}

/* Escapes s into b (an empty value stays empty: "key \n"). */
static void add_escaped(struct ctl_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (!needs_escape(*p)) {
            ctl_buf_add(b, (const char *)p, 1);
            continue;
        }
        char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
        ctl_buf_add(b, e, 3);
    }
}

void ctl_put(struct ctl_buf *b, const char *key, const char *value)
{
    size_t mark = b->len;
    ctl_buf_add(b, key, strlen(key));
    ctl_buf_add(b, " ", 1);
    add_escaped(b, value);
    ctl_buf_add(b, "\n", 1);
    if (b->overflow)
        b->len = mark; /* never a half line */
}

void ctl_put_u64(struct ctl_buf *b, const char *key, uint64_t v)
{
    char s[24];
    snprintf(s, sizeof(s), "%" PRIu64, v);
    ctl_put(b, key, s);
}

void ctl_put_i64(struct ctl_buf *b, const char *key, int64_t v)
{
    char s[24];
    snprintf(s, sizeof(s), "%" PRId64, v);
    ctl_put(b, key, s);
}

void ctl_put_status(struct ctl_buf *b, int err, const char *message)
{
    char head[64];
    int n =
        snprintf(head, sizeof(head), "%s %d %s", CTL_MAGIC, CTL_VERSION, err ? "error " : "ok\n");
    ctl_buf_add(b, head, (size_t)n);
    if (!err)
        return;
    ctl_buf_add(b, ctl_errname(err), strlen(ctl_errname(err)));
    ctl_buf_add(b, " ", 1);
    add_escaped(b, message && *message ? message : strerror(-err));
    ctl_buf_add(b, "\n", 1);
}

const char *ctl_errname(int err)
{
    const char *n = err < 0 ? strerrorname_np(-err) : NULL;
    return n ? n : "EIO";
}

int ctl_errno_of(const char *name)
{
    for (int e = 1; e < 200; e++) {
        const char *n = strerrorname_np(e);
        if (n && strcmp(n, name) == 0)
            return -e;
    }
    return -EIO;
}
