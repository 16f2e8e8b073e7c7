/*
 * netemu - a userspace stand-in for `tc qdisc ... netem` on kernels built
 * without sch_netem: relays Ethernet frames between two interfaces of one
 * namespace, delaying each frame by DELAY ± JITTER ms (uniform) and
 * dropping LOSS percent of them, in both directions.
 *
 *   netemu IF_A IF_B DELAY_MS JITTER_MS LOSS_PCT [SEED]
 *
 * Prints "ready" once both packet sockets are bound; runs until SIGTERM or
 * SIGINT. Frames are read with PACKET_VNET_HDR so GSO super-frames and
 * pending checksums cross the relay untouched. At most POOL_SLOTS frames are
 * in flight; beyond that frames are dropped, as netem does past its limit.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define POOL_SLOTS 256
#define SLOT_BYTES (65536 + 256)

struct slot {
    int64_t due_ns;
    int out_fd;
    ssize_t len;
    unsigned char *data;
};

/* Single-threaded: no locks. heap holds indices of busy slots, min due first. */
struct relay {
    int fd[2];
    int64_t delay_ns, jitter_ns;
    double loss;
    uint64_t rng;
    struct slot slots[POOL_SLOTS];
    int free_list[POOL_SLOTS], n_free;
    int heap[POOL_SLOTS], n_heap;
    unsigned char scratch[SLOT_BYTES];
};

static int64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static double rnd01(struct relay *r)
{
    r->rng ^= r->rng << 13;
    r->rng ^= r->rng >> 7;
    r->rng ^= r->rng << 17;
    return (double)(r->rng >> 11) / (double)(1ull << 53);
}

static int64_t due_of(const struct relay *r, int h)
{
    return r->slots[r->heap[h]].due_ns;
}

static void heap_swap(struct relay *r, int a, int b)
{
    int t = r->heap[a];

    r->heap[a] = r->heap[b];
    r->heap[b] = t;
}

static void heap_push(struct relay *r, int slot)
{
    int i = r->n_heap++;

    r->heap[i] = slot;
    for (; i > 0 && due_of(r, (i - 1) / 2) > due_of(r, i); i = (i - 1) / 2)
        heap_swap(r, i, (i - 1) / 2);
}

static int heap_pop(struct relay *r)
{
    int top = r->heap[0], i = 0;

    r->heap[0] = r->heap[--r->n_heap];
    for (;;) {
        int l = 2 * i + 1, m = i;
        if (l < r->n_heap && due_of(r, l) < due_of(r, m))
            m = l;
        if (l + 1 < r->n_heap && due_of(r, l + 1) < due_of(r, m))
            m = l + 1;
        if (m == i)
            return top;
        heap_swap(r, i, m);
        i = m;
    }
}

static int open_port(const char *ifname)
{
    int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL)), one = 1;
    struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL)};
    struct packet_mreq mr = {.mr_type = PACKET_MR_PROMISC};

    if (fd < 0)
        return -errno;
    sll.sll_ifindex = (int)if_nametoindex(ifname);
    mr.mr_ifindex = sll.sll_ifindex;
    if (sll.sll_ifindex == 0 ||
        setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) < 0 ||
        setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one)) < 0 ||
        setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr)) < 0 ||
        bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
        int e = errno ? errno : ENODEV;
        close(fd);
        return -e;
    }
    return fd;
}

/* Reads every frame waiting on port `in` and schedules it on the other port. */
static void drain(struct relay *r, int in)
{
    for (;;) {
        int slot = r->n_free ? r->free_list[r->n_free - 1] : -1;
        unsigned char *buf = slot >= 0 ? r->slots[slot].data : r->scratch;
        ssize_t len = recv(r->fd[in], buf, SLOT_BYTES, MSG_DONTWAIT);
        if (len <= 0)
            return;
        if (slot < 0 || rnd01(r) * 100.0 < r->loss)
            continue;
        int64_t d = r->delay_ns + (int64_t)((rnd01(r) * 2.0 - 1.0) * (double)r->jitter_ns);
        r->n_free--;
        r->slots[slot].due_ns = now_ns() + (d > 0 ? d : 0);
        r->slots[slot].out_fd = r->fd[!in];
        r->slots[slot].len = len;
        heap_push(r, slot);
    }
}

static void send_due(struct relay *r)
{
    int64_t now = now_ns();

    while (r->n_heap && due_of(r, 0) <= now) {
        int slot = heap_pop(r);
        struct slot *s = &r->slots[slot];
        /* A frame the peer cannot take is lost, as on a real link. */
        (void)!send(s->out_fd, s->data, (size_t)s->len, MSG_DONTWAIT);
        r->free_list[r->n_free++] = slot;
    }
}

static int poll_timeout_ms(const struct relay *r)
{
    int64_t wait;

    if (!r->n_heap)
        return 1000;
    wait = due_of(r, 0) - now_ns();
    return wait <= 0 ? 0 : (int)((wait + 999999) / 1000000);
}

static int run(struct relay *r, int sfd)
{
    struct pollfd pf[3] = {{.fd = r->fd[0], .events = POLLIN},
                           {.fd = r->fd[1], .events = POLLIN},
                           {.fd = sfd, .events = POLLIN}};

    for (;;) {
        if (poll(pf, 3, poll_timeout_ms(r)) < 0 && errno != EINTR)
            return -errno;
        if (pf[2].revents)
            return 0;
        for (int i = 0; i < 2; i++)
            if (pf[i].revents & POLLIN)
                drain(r, i);
        send_due(r);
    }
}

static int setup(struct relay *r, char **argv, int argc)
{
    r->delay_ns = (int64_t)(atof(argv[3]) * 1e6);
    r->jitter_ns = (int64_t)(atof(argv[4]) * 1e6);
    r->loss = atof(argv[5]);
    r->rng = argc > 6 ? strtoull(argv[6], NULL, 0) | 1 : (uint64_t)now_ns() | 1;
    for (int i = 0; i < POOL_SLOTS; i++) {
        r->slots[i].data = malloc(SLOT_BYTES);
        if (!r->slots[i].data)
            return -ENOMEM;
        r->free_list[r->n_free++] = i;
    }
    for (int i = 0; i < 2; i++) {
        r->fd[i] = open_port(argv[1 + i]);
        if (r->fd[i] < 0) {
            fprintf(stderr, "netemu: %s: %s\n", argv[1 + i], strerror(-r->fd[i]));
            return r->fd[i];
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct relay *r;
    sigset_t mask;
    int sfd, rc;

    if (argc < 6) {
        fprintf(stderr, "usage: netemu IF_A IF_B DELAY_MS JITTER_MS LOSS_PCT [SEED]\n");
        return 2;
    }
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    sfd = signalfd(-1, &mask, SFD_CLOEXEC);
    r = calloc(1, sizeof(*r));
    if (sfd < 0 || !r)
        return 1;
    rc = setup(r, argv, argc);
    if (rc == 0) {
        printf("ready\n");
        fflush(stdout);
        rc = run(r, sfd);
    }
    for (int i = 0; i < POOL_SLOTS; i++)
        free(r->slots[i].data);
    free(r);
    return rc < 0 ? 1 : 0;
}
