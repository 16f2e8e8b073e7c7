/*
 * send_budget.h - how many more normal-lane bytes a control socket's kernel
 * queue may take now.
 *
 * An urgent frame (read index, ping) can overtake queued frames only while
 * they wait in the channel's lanes; once the kernel holds them, it waits
 * behind all of them, sent or not. TCP_NOTSENT_LOWAT caps the unsent part;
 * this caps the whole queue (unsent + sent but unacknowledged, SIOCOUTQ) at
 * what the link delivers in SEND_BUDGET_MS (tcpi_delivery_rate), never below
 * SEND_BUDGET_FLOOR. So on a link that carries 40 KB/s an urgent frame waits
 * behind about 16 KiB (0.4 s) instead of a whole congestion window plus the
 * unsent bytes (1.5 s measured), and a fast link is never held: there the
 * same 100 ms is megabytes.
 */
#ifndef QFS_NET_SEND_BUDGET_H
#define QFS_NET_SEND_BUDGET_H

#include <stddef.h>
#include <stdint.h>

#define SEND_BUDGET_FLOOR (16u * 1024)
#define SEND_BUDGET_MS    100

/* Normal-lane bytes the kernel may take now: 0 to hold them back,
 * SIZE_MAX when the socket cannot say (never holds anything then). */
size_t send_budget_control(int fd);
/* The rule itself: queued = SIOCOUTQ, rate = tcpi_delivery_rate (bytes/s,
 * 0 when unknown). */
size_t send_budget_for(uint64_t queued, uint64_t rate);

#endif
