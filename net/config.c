#include "net/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CONFIG_MAX_BYTES (64 * 1024)
#define LINE_MAX_LEN     1024

enum seen { SEEN_ID = 1, SEEN_LISTEN = 2, SEEN_DATA = 4, SEEN_CERT = 8, SEEN_KEY = 16 };

/* Parsing state for one file: where we are and what we have seen. */
struct parse {
    const char *name;
    unsigned line;
    unsigned seen;
    struct net_config *cfg;
    char *err;
    size_t errlen;
};

static int fail(struct parse *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct parse *ps, const char *fmt, ...)
{
    int n = snprintf(ps->err, ps->errlen, "%s:%u: ", ps->name, ps->line);
    va_list ap;
    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < ps->errlen)
        vsnprintf(ps->err + n, ps->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

int net_addr_parse(const char *s, struct net_addr *a)
{
    char host[NET_ADDR_STR];
    const char *colon = strrchr(s, ':');
    if (!colon || strlen(s) >= NET_ADDR_STR || colon == s)
        return -EINVAL;
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || colon[1] == '\0' || port < 0 || port > 65535)
        return -EINVAL;
    size_t hl = (size_t)(colon - s);
    memcpy(host, s, hl);
    host[hl] = '\0';
    memset(a, 0, sizeof(*a));
    if (host[0] == '[' && host[hl - 1] == ']') {
        host[hl - 1] = '\0';
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&a->sa;
        if (inet_pton(AF_INET6, host + 1, &sin6->sin6_addr) != 1)
            return -EINVAL;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)port);
        a->len = sizeof(*sin6);
    } else {
        struct sockaddr_in *sin = (struct sockaddr_in *)&a->sa;
        if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
            return -EINVAL;
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)port);
        a->len = sizeof(*sin);
    }
    snprintf(a->str, sizeof(a->str), "%s", s);
    return 0;
}

static int parse_id(struct parse *ps, const char *v, uint8_t id[NODE_ID_LEN])
{
    int rc = node_id_parse(v, id);
    if (rc == -EBADMSG)
        return fail(ps, "node ID '%s' has a wrong check character (mistyped?)", v);
    if (rc < 0)
        return fail(ps, "'%s' is not a node ID (8 groups of 7 base32 characters)", v);
    return 0;
}

static int parse_path(struct parse *ps, const char *key, const char *v, char *out)
{
    if (strlen(v) >= PATH_MAX)
        return fail(ps, "%s path is too long", key);
    strcpy(out, v);
    return 0;
}

static int parse_peer(struct parse *ps, char *v)
{
    struct net_config *cfg = ps->cfg;
    char *sp = strpbrk(v, " \t");
    if (!sp)
        return fail(ps, "peer needs '<node ID> <address:port>'");
    *sp++ = '\0';
    sp += strspn(sp, " \t");
    if (cfg->npeers == NET_MAX_PEERS)
        return fail(ps, "too many peers (at most %d)", NET_MAX_PEERS);
    struct net_peer_conf *p = &cfg->peers[cfg->npeers];
    if (parse_id(ps, v, p->id) < 0)
        return -EINVAL;
    if (net_addr_parse(sp, &p->addr) < 0)
        return fail(ps, "bad peer address '%s' (expected IPv4:port or [IPv6]:port)", sp);
    for (size_t i = 0; i < cfg->npeers; i++)
        if (memcmp(cfg->peers[i].id, p->id, NODE_ID_LEN) == 0)
            return fail(ps, "peer %s is listed twice", v);
    cfg->npeers++;
    return 0;
}

static int once(struct parse *ps, unsigned bit, const char *key)
{
    if (ps->seen & bit)
        return fail(ps, "'%s' is set twice", key);
    ps->seen |= bit;
    return 0;
}

static int parse_setting(struct parse *ps, const char *key, char *v)
{
    struct net_config *cfg = ps->cfg;
    if (strcmp(key, "peer") == 0)
        return parse_peer(ps, v);
    if (strcmp(key, "node-id") == 0)
        return once(ps, SEEN_ID, key) ?: parse_id(ps, v, cfg->node_id);
    if (strcmp(key, "listen") == 0) {
        if (once(ps, SEEN_LISTEN, key) < 0)
            return -EINVAL;
        if (net_addr_parse(v, &cfg->listen) < 0)
            return fail(ps, "bad listen address '%s' (expected IPv4:port or [IPv6]:port)", v);
        return 0;
    }
    if (strcmp(key, "data") == 0)
        return once(ps, SEEN_DATA, key) ?: parse_path(ps, key, v, cfg->data_dir);
    if (strcmp(key, "cert") == 0)
        return once(ps, SEEN_CERT, key) ?: parse_path(ps, key, v, cfg->cert_path);
    if (strcmp(key, "key") == 0)
        return once(ps, SEEN_KEY, key) ?: parse_path(ps, key, v, cfg->key_path);
    return fail(ps, "unknown setting '%s' (known: node-id, listen, data, peer, cert, key)", key);
}

static char *trim(char *s)
{
    s += strspn(s, " \t\r");
    size_t n = strlen(s);
    while (n && strchr(" \t\r", s[n - 1]))
        s[--n] = '\0';
    return s;
}

static int parse_line(struct parse *ps, char *line)
{
    char *hash = strchr(line, '#');
    if (hash)
        *hash = '\0';
    line = trim(line);
    if (!*line)
        return 0;
    char *eq = strchr(line, '=');
    if (!eq)
        return fail(ps, "expected 'setting = value', got '%s'", line);
    *eq = '\0';
    char *key = trim(line), *val = trim(eq + 1);
    if (!*key)
        return fail(ps, "missing setting name before '='");
    if (!*val)
        return fail(ps, "'%s' has no value", key);
    return parse_setting(ps, key, val);
}

static int finish(struct parse *ps)
{
    struct net_config *cfg = ps->cfg;
    static const struct {
        unsigned bit;
        const char *key;
    } required[] = {{SEEN_ID, "node-id"}, {SEEN_LISTEN, "listen"}, {SEEN_DATA, "data"}};
    for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
        if (!(ps->seen & required[i].bit))
            return fail(ps, "missing required setting '%s'", required[i].key);
    for (size_t i = 0; i < cfg->npeers; i++)
        if (memcmp(cfg->peers[i].id, cfg->node_id, NODE_ID_LEN) == 0)
            return fail(ps, "a peer has this node's own ID");
    if (!(ps->seen & SEEN_CERT) &&
        snprintf(cfg->cert_path, PATH_MAX, "%s/node.crt", cfg->data_dir) >= PATH_MAX)
        return fail(ps, "data path is too long");
    if (!(ps->seen & SEEN_KEY) &&
        snprintf(cfg->key_path, PATH_MAX, "%s/node.key", cfg->data_dir) >= PATH_MAX)
        return fail(ps, "data path is too long");
    return 0;
}

int net_config_parse(const char *text, const char *name, struct net_config *cfg, char *err,
                     size_t errlen)
{
    struct net_config tmp;
    memset(&tmp, 0, sizeof(tmp));
    struct parse ps = {.name = name, .line = 0, .cfg = &tmp, .err = err, .errlen = errlen};
    char line[LINE_MAX_LEN];
    const char *p = text;
    while (*p) {
        ps.line++;
        size_t n = strcspn(p, "\n");
        if (n >= sizeof(line))
            return fail(&ps, "line is longer than %d bytes", LINE_MAX_LEN - 1);
        memcpy(line, p, n);
        line[n] = '\0';
        if (parse_line(&ps, line) < 0)
            return -EINVAL;
        p += n + (p[n] == '\n');
    }
    if (finish(&ps) < 0)
        return -EINVAL;
    *cfg = tmp;
    return 0;
}

int net_config_load(const char *path, struct net_config *cfg, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        snprintf(err, errlen, "%s: %s", path, strerror(e));
        return -e;
    }
    char *buf = malloc(CONFIG_MAX_BYTES + 1);
    ssize_t n = buf ? read(fd, buf, CONFIG_MAX_BYTES + 1) : -1;
    int e = errno;
    close(fd);
    if (n < 0 || n > CONFIG_MAX_BYTES) {
        snprintf(err, errlen, "%s: %s", path, n < 0 ? strerror(e) : "larger than 64 KiB");
        free(buf);
        return n < 0 ? -e : -EFBIG;
    }
    buf[n] = '\0';
    int rc = strlen(buf) == (size_t)n ? net_config_parse(buf, path, cfg, err, errlen) : -EINVAL;
    if (rc == -EINVAL && strlen(buf) != (size_t)n)
        snprintf(err, errlen, "%s: contains a NUL byte", path);
    free(buf);
    return rc;
}
