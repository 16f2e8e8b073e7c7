/* How much a control socket's kernel queue may take (send_budget.h). */
#include "net/send_budget.h"

#include <linux/sockios.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

size_t send_budget_for(uint64_t queued, uint64_t rate)
{
    uint64_t allow = rate / 1000 * SEND_BUDGET_MS;
    if (allow < SEND_BUDGET_FLOOR)
        allow = SEND_BUDGET_FLOOR;
    return queued >= allow ? 0 : (size_t)(allow - queued);
}

/* tcpi_delivery_rate: what the link delivered lately, bytes/s; 0 unknown. */
static uint64_t delivery_rate(int fd)
{
    struct tcp_info ti;
    socklen_t len = sizeof(ti);
    memset(&ti, 0, sizeof(ti));
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0 ||
        len < offsetof(struct tcp_info, tcpi_delivery_rate) + sizeof(ti.tcpi_delivery_rate))
        return 0;
    return ti.tcpi_delivery_rate;
}

size_t send_budget_control(int fd)
{
    int outq = 0;
    if (ioctl(fd, SIOCOUTQ, &outq) < 0 || outq < 0)
        return SIZE_MAX;
    /* Only a queue past the floor pays for TCP_INFO. */
    uint64_t queued = (uint64_t)outq;
    return send_budget_for(queued, queued < SEND_BUDGET_FLOOR ? 0 : delivery_rate(fd));
}
