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

enum log_level { LOG_LVL_ERROR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* Call once at startup. prefix names the process (e.g. "quorumfs[n1]"). */
void log_setup(const char *prefix, enum log_level max_level);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

#endif
