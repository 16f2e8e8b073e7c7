/*
 * log.h - one line per event, to stderr, with level, time and thread.
 *
 * Errors are logged once, where they are handled (not where they are
 * detected); everything else returns -errno. Keys and file contents are
 * never logged. The level and prefix are set once at startup, before any
 * thread starts, and only read afterwards.
 */
#ifndef QFS_COMMON_LOG_H
#define QFS_COMMON_LOG_H

#include <stdbool.h>
#include <stdint.h>

enum log_level { LOG_LVL_ERROR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* Call once at startup. prefix names the process (e.g. "quorumfs[n1]"). */
void log_setup(const char *prefix, enum log_level max_level);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

/*
 * A failure that repeats (a full disk refusing every batch) is logged once
 * per LOG_LIMIT_MS, with how many were left out since: the log stays
 * readable and the disk it may share is not filled with it. Zero-initialise;
 * safe from several threads.
 */
#define LOG_LIMIT_MS 30000

struct log_limit {
    uint64_t next_ms;    /* monotonic ms before which occurrences are counted */
    uint64_t suppressed; /* occurrences counted since the last one logged */
};

/* True if this occurrence is to be logged; *suppressed then says how many
 * were not since the last one that was. */
bool log_limit_pass(struct log_limit *l, uint64_t *suppressed);

#endif
