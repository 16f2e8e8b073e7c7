#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Written once by log_setup() before threads exist; read-only afterwards. */
static struct {
    char prefix[64];
    enum log_level max_level;
} log_cfg = {"quorumfs", LOG_LVL_INFO};

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void log_setup(const char *prefix, enum log_level max_level)
{
    snprintf(log_cfg.prefix, sizeof(log_cfg.prefix), "%s", prefix ? prefix : "quorumfs");
    log_cfg.max_level = max_level;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    if (level > log_cfg.max_level)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);

    char line[1024];
    int n = snprintf(line, sizeof(line), "%02d:%02d:%02d.%03ld %s %s: ", tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000, log_cfg.prefix, level_names[level]);
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof(line))
        vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    va_end(ap);
    /* One fputs per line so lines from different threads never interleave. */
    size_t len = strlen(line);
    if (len + 1 < sizeof(line)) {
        line[len] = '\n';
        line[len + 1] = '\0';
    }
    fputs(line, stderr);
}

bool log_limit_pass(struct log_limit *l, uint64_t *suppressed)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t now = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
    uint64_t next = __atomic_load_n(&l->next_ms, __ATOMIC_RELAXED);
    /* One thread wins the slot; the others count themselves as left out. */
    if (now < next || !__atomic_compare_exchange_n(&l->next_ms, &next, now + LOG_LIMIT_MS, false,
                                                   __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
        __atomic_add_fetch(&l->suppressed, 1, __ATOMIC_RELAXED);
        return false;
    }
    *suppressed = __atomic_exchange_n(&l->suppressed, 0, __ATOMIC_RELAXED);
    return true;
}
