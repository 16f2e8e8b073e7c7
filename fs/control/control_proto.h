/*
 * control_proto.h - the control socket's message format (version 1,
 * docs/control-protocol.md), shared by the daemon (fs/control/) and `qfs`.
 *
 * One request per connection, text lines:
 *   request:  "qfs-control 1 VERB\n" then zero or more argument lines, then
 *             an empty line;
 *   reply:    "qfs-control 1 ok\n" or "qfs-control 1 error ERRNAME MESSAGE\n",
 *             then "key value\n" lines, then "end\n".
 * Values are escaped (bytes <= 0x20, 0x7f and '%' as %XX), so a value is one
 * token whatever it holds. Invariants: every size is bounded below; a request
 * that breaks a bound or the grammar is answered with an error, never
 * half-served; parsers never read past the length they are given.
 */
#ifndef QFS_FS_CONTROL_CONTROL_PROTO_H
#define QFS_FS_CONTROL_CONTROL_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CTL_MAGIC       "qfs-control"
#define CTL_VERSION     1
#define CTL_SOCKET_NAME "control.sock"
#define CTL_REQ_MAX     (64 * 1024) /* whole request */
#define CTL_LINE_MAX    256         /* one request line */
#define CTL_ARGS_MAX    1024        /* argument lines per request */
#define CTL_REPLY_MAX   (1u << 20)  /* whole reply */
#define CTL_VERB_MAX    32

/* A reply (or request) under construction; the text never exceeds cap, and
 * once something did not fit, overflow stays set and nothing more is added. */
struct ctl_buf {
    char *p;
    size_t len, cap;
    bool overflow;
};

void ctl_buf_reset(struct ctl_buf *b);
/* Appends raw text (already in protocol form). */
void ctl_buf_add(struct ctl_buf *b, const char *text, size_t n);
/* Appends "key value\n" with value escaped. */
void ctl_put(struct ctl_buf *b, const char *key, const char *value);
void ctl_put_u64(struct ctl_buf *b, const char *key, uint64_t v);
void ctl_put_i64(struct ctl_buf *b, const char *key, int64_t v);
/* Appends the first reply line: ok when err == 0, else the error's name and
 * the escaped message. */
void ctl_put_status(struct ctl_buf *b, int err, const char *message);

/* A parsed request; verb points into the parsed text. */
struct ctl_req {
    char verb[CTL_VERB_MAX];
    size_t nargs;
    uint64_t args[CTL_ARGS_MAX]; /* argument lines: decimal unsigned integers */
};

/* Parses a complete request (text up to and including its empty line).
 * -EPROTONOSUPPORT: another protocol version; -EPROTO: malformed; -E2BIG:
 * too many arguments. */
int ctl_req_parse(const char *text, size_t len, struct ctl_req *r);
/* 1 if text[0..len) holds a complete request (ends with "\n\n"), else 0. */
int ctl_req_complete(const char *text, size_t len);

/* A parsed reply: keys and values point into the (modified) text. */
struct ctl_kv {
    const char *key, *value;
};
struct ctl_reply {
    int err;             /* 0, or -errno the daemon reported */
    const char *errname; /* e.g. "EROFS" when err != 0 */
    const char *message; /* the daemon's words when err != 0 */
    size_t n, cap;
    struct ctl_kv *kv; /* malloc'ed, n entries */
    size_t hint;       /* where the last lookup matched: in-order lookups are O(1) */
};

/* Parses text in place (unescaping values). -EPROTO if malformed or not
 * ended by "end", -EPROTONOSUPPORT for another version, -ENOMEM. */
int ctl_reply_parse(char *text, size_t len, struct ctl_reply *r);
void ctl_reply_free(struct ctl_reply *r);
/* The value of key, or NULL. */
const char *ctl_get(struct ctl_reply *r, const char *key);
/* Numeric values: 0, -ENOENT (absent) or -EPROTO (not a number). */
int ctl_get_u64(struct ctl_reply *r, const char *key, uint64_t *v);
int ctl_get_i64(struct ctl_reply *r, const char *key, int64_t *v);

/* errno <-> name ("EROFS"); unknown names map to -EIO. */
const char *ctl_errname(int err);
int ctl_errno_of(const char *name);

#endif
