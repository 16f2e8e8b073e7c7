/*
 * clock.h - the transport's time helpers. Durations and timeouts use the
 * monotonic clock; pthread_cond_timedwait() deadlines use CLOCK_REALTIME
 * (the condition variables here keep the default clock).
 */
#ifndef QFS_NET_CLOCK_H
#define QFS_NET_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t net_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline uint64_t net_now_ms(void)
{
    return net_now_ns() / 1000000u;
}

/* A condition-variable deadline timeout_ms (>= 0) from now. */
static inline void net_deadline(struct timespec *dl, int timeout_ms)
{
    clock_gettime(CLOCK_REALTIME, dl);
    dl->tv_sec += timeout_ms / 1000;
    dl->tv_nsec += (long)(timeout_ms % 1000) * 1000000;
    if (dl->tv_nsec >= 1000000000) {
        dl->tv_sec++;
        dl->tv_nsec -= 1000000000;
    }
}

#endif
