/* qfs_out.c - colours, human-readable figures, JSON, and reply fields with defaults. */
#include "tools/qfs.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void qfs_style_init(struct qfs_style *s, int fd)
{
    const char *nc = getenv("NO_COLOR");
    bool on = isatty(fd) && !(nc && *nc);
    s->good = on ? "\033[32m" : "";
    s->warn = on ? "\033[33m" : "";
    s->bad = on ? "\033[31m" : "";
    s->dim = on ? "\033[2m" : "";
    s->bold = on ? "\033[1m" : "";
    s->off = on ? "\033[0m" : "";
}

const char *qfs_fmt_bytes(uint64_t b, char *buf, size_t cap)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    double v = (double)b;
    int u = 0;
    while (v >= 1024.0 && u < 5) {
        v /= 1024.0;
        u++;
    }
    if (u == 0)
        snprintf(buf, cap, "%llu B", (unsigned long long)b);
    else
        snprintf(buf, cap, "%.1f %s", v, units[u]);
    return buf;
}

const char *qfs_fmt_duration(double secs, char *buf, size_t cap)
{
    unsigned long long s = secs < 0 ? 0 : (unsigned long long)(secs + 0.5);
    if (s < 60)
        snprintf(buf, cap, "%llus", s);
    else if (s < 3600)
        snprintf(buf, cap, "%llum%02llus", s / 60, s % 60);
    else if (s < 86400)
        snprintf(buf, cap, "%lluh%02llum", s / 3600, s / 60 % 60);
    else
        snprintf(buf, cap, "%llud%02lluh", s / 86400, s / 3600 % 24);
    return buf;
}

const char *qfs_short_id(const char *id, char *buf, size_t cap)
{
    snprintf(buf, cap, "%.7s", id);
    return buf;
}

uint64_t qfs_u64(struct ctl_reply *r, const char *key)
{
    uint64_t v;
    return ctl_get_u64(r, key, &v) == 0 ? v : 0;
}

int64_t qfs_i64(struct ctl_reply *r, const char *key, int64_t dflt)
{
    int64_t v;
    return ctl_get_i64(r, key, &v) == 0 ? v : dflt;
}

const char *qfs_str(struct ctl_reply *r, const char *key)
{
    const char *v = ctl_get(r, key);
    return v ? v : "";
}
