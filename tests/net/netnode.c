/*
 * netnode - one node of the transport tests and benchmark: the transport and
 * the replicator over a file_store, driven by one command per stdin line,
 * answering one line on stdout ("ok ..." or "err ..."). Logs go to stderr.
 *
 *   gen N SIZE SEED FILE     store N pseudo-random chunks, list their hashes in FILE
 *   push FILE K MS           push the listed chunks, wait for K peers (MS: timeout)
 *   push-bg FILE K           the same in the background; prints "ok push ..." when done
 *   pull FILE MS             make the listed chunks local (and say what was fetched)
 *   gone FILE                how many of the listed chunks a peer gave up pushing here
 *   fetch HEX MS             urgent fetch of one chunk
 *   rtt PEER N SIZE [bulk|fast]  N consensus-frame round trips (the peer echoes
 *                            them) on the control channel, or on another one
 *   info PEER | stats | wait-up PEER MS | quit
 *
 * Options: --config --store --listen-fd --name --window --full-if --debug,
 * and --dead-ms (the transport's dead time; 0: its default).
 */
#include "net/replicate.h"
#include "tests/net/file_store.h"

#include "common/bytes.h"
#include "common/log.h"
#include "common/sha256.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ECHO_MAX (64 * 1024)

struct node {
    struct net *net;
    struct repl *repl;
    struct file_store *fs;
    struct chunk_io io;
    pthread_mutex_t out_lock;  /* one reply line at a time on stdout */
    pthread_mutex_t echo_lock; /* guards echo_seq */
    pthread_cond_t echo_cond;
    uint64_t echo_seq;
    uint8_t echo_buf[ECHO_MAX]; /* network thread only */
    pthread_t bg;
    bool bg_started;
    char bg_file[4096];
    int bg_k;
};

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void reply(struct node *nd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void reply(struct node *nd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&nd->out_lock);
    vprintf(fmt, ap);
    putchar('\n');
    fflush(stdout);
    pthread_mutex_unlock(&nd->out_lock);
    va_end(ap);
}

/* Consensus frames stand in for the engine: kind 0 is echoed back as kind 1. */
static int on_consensus(struct node *nd, int peer, int chan, const uint8_t *p, uint32_t len)
{
    if (len < 9 || len > ECHO_MAX)
        return -EPROTO;
    if (p[0] == 0) {
        memcpy(nd->echo_buf, p, len);
        nd->echo_buf[0] = 1;
        net_send(nd->net, peer, chan, FT_CONSENSUS, 0, nd->echo_buf, len, 0);
        return 0;
    }
    pthread_mutex_lock(&nd->echo_lock);
    nd->echo_seq = get_u64(p + 1);
    pthread_cond_broadcast(&nd->echo_cond);
    pthread_mutex_unlock(&nd->echo_lock);
    return 0;
}

static int on_frame(void *ctx, int peer, int chan, unsigned type, uint16_t flags, const uint8_t *p,
                    uint32_t len)
{
    struct node *nd = ctx;
    if (type == FT_CONSENSUS)
        return on_consensus(nd, peer, chan, p, len);
    if (repl_handles(type))
        return repl_on_frame(nd->repl, peer, chan, type, flags, p, len);
    return -EPROTO;
}

static void on_peer(void *ctx, int peer, int chan, bool up)
{
    struct node *nd = ctx;
    if (nd->repl)
        repl_on_peer(nd->repl, peer, chan, up);
}

static void fill(uint8_t *buf, size_t size, uint64_t seed)
{
    uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
    for (size_t i = 0; i < size; i += 8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        memcpy(buf + i, &x, size - i < 8 ? size - i : 8);
    }
}

static int cmd_gen(struct node *nd, unsigned n, unsigned size, unsigned seed, const char *file)
{
    enum { BATCH = 64 };
    FILE *f = fopen(file, "w");
    uint8_t *buf = malloc((size_t)BATCH * (size ? size : 1));
    struct net_chunk c[BATCH];
    int rc = f && buf && size <= NET_CHUNK_MAX ? 0 : -EINVAL;
    for (unsigned i = 0; rc == 0 && i < n; i += BATCH) {
        unsigned k = n - i < BATCH ? n - i : BATCH;
        for (unsigned j = 0; j < k; j++) {
            c[j].data = buf + (size_t)j * size;
            c[j].len = size;
            fill(buf + (size_t)j * size, size, (uint64_t)seed << 32 | (i + j));
            sha256(c[j].data, size, c[j].hash);
            char hex[SHA256_HEX_LEN + 1];
            sha256_hex(c[j].hash, hex);
            fprintf(f, "%s\n", hex);
        }
        rc = nd->io.put_batch(nd->io.ctx, c, k);
    }
    if (f && fclose(f) != 0 && rc == 0)
        rc = -EIO;
    free(buf);
    return rc;
}

static int hex_byte(const char *s)
{
    unsigned v;
    return sscanf(s, "%2x", &v) == 1 ? (int)v : -1;
}

static int parse_hex(const char *s, uint8_t h[32])
{
    if (strlen(s) < 64)
        return -EINVAL;
    for (int i = 0; i < 32; i++) {
        int v = hex_byte(s + 2 * i);
        if (v < 0)
            return -EINVAL;
        h[i] = (uint8_t)v;
    }
    return 0;
}

/* Reads a file of hex hashes, one per line. */
static long read_hashes(const char *file, uint8_t (**out)[32])
{
    FILE *f = fopen(file, "r");
    if (!f)
        return -errno;
    size_t cap = 1024, n = 0;
    uint8_t(*h)[32] = malloc(cap * 32);
    char line[128];
    while (h && fgets(line, sizeof(line), f)) {
        if (n == cap) {
            uint8_t(*g)[32] = realloc(h, (cap *= 2) * 32);
            if (!g) {
                free(h);
                h = NULL;
                break;
            }
            h = g;
        }
        if (parse_hex(line, h[n]) == 0)
            n++;
    }
    fclose(f);
    *out = h;
    return h ? (long)n : -ENOMEM;
}

static void cmd_push(struct node *nd, const char *file, int k, int timeout_ms)
{
    uint8_t(*h)[32] = NULL;
    long n = read_hashes(file, &h);
    struct repl_push *job = NULL;
    double t0 = now_ms();
    int rc = n < 0 ? (int)n : repl_push_start(nd->repl, (const uint8_t(*)[32])h, (size_t)n, &job);
    if (rc == 0) {
        rc = repl_push_wait(job, k, timeout_ms);
        repl_push_release(job);
    }
    double ms = now_ms() - t0;
    free(h);
    if (rc < 0)
        reply(nd, "err push %d", rc);
    else
        reply(nd, "ok push peers=%d chunks=%ld ms=%.1f", rc, n, ms);
}

static void *push_bg(void *arg)
{
    struct node *nd = arg;
    cmd_push(nd, nd->bg_file, nd->bg_k, -1);
    return NULL;
}

static void cmd_pull(struct node *nd, const char *file, int timeout_ms)
{
    uint8_t(*h)[32] = NULL;
    long n = read_hashes(file, &h);
    double t0 = now_ms();
    struct repl_fetched got = {0};
    long left =
        n < 0 ? n : repl_pull(nd->repl, (const uint8_t(*)[32])h, (size_t)n, timeout_ms, &got);
    free(h);
    if (left < 0)
        reply(nd, "err pull %ld", left);
    else
        reply(nd, "ok pull missing=%ld fetched=%llu fetched_bytes=%llu ms=%.1f", left,
              (unsigned long long)got.chunks, (unsigned long long)got.bytes, now_ms() - t0);
}

/* How many of the listed chunks a peer said it gave up pushing here. */
static void cmd_gone(struct node *nd, const char *file)
{
    uint8_t(*h)[32] = NULL;
    long n = read_hashes(file, &h), k = 0;
    for (long i = 0; i < n; i++)
        k += repl_push_given_up(nd->repl, h[i]);
    free(h);
    n < 0 ? reply(nd, "err gone %ld", n) : reply(nd, "ok gone given_up=%ld listed=%ld", k, n);
}

static void cmd_fetch(struct node *nd, const char *hex, int timeout_ms)
{
    uint8_t h[32];
    static uint8_t buf[NET_CHUNK_MAX];
    uint32_t len = 0;
    double t0 = now_ms();
    int rc = parse_hex(hex, h);
    if (rc == 0)
        rc = repl_fetch(nd->repl, h, buf, sizeof(buf), &len, timeout_ms);
    if (rc < 0)
        reply(nd, "err fetch %d", rc);
    else
        reply(nd, "ok fetch len=%u ms=%.2f", len, now_ms() - t0);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* One consensus-frame round trip: 0, or -errno. */
static int echo_once(struct node *nd, int peer, int chan, uint8_t *msg, unsigned size, uint64_t seq)
{
    msg[0] = 0;
    put_u64(msg + 1, seq);
    int rc = net_send(nd->net, peer, chan, FT_CONSENSUS, 0, msg, size, 1000);
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 2;
    pthread_mutex_lock(&nd->echo_lock);
    while (rc == 0 && nd->echo_seq != seq)
        if (pthread_cond_timedwait(&nd->echo_cond, &nd->echo_lock, &dl) == ETIMEDOUT)
            rc = -ETIMEDOUT;
    pthread_mutex_unlock(&nd->echo_lock);
    return rc;
}

static void cmd_rtt(struct node *nd, int peer, unsigned n, unsigned size, int chan)
{
    static uint64_t seq;
    uint8_t *msg = calloc(1, size < 9 ? 9 : size);
    double *us = calloc(n ? n : 1, sizeof(double));
    int rc = msg && us && size >= 9 && size <= ECHO_MAX && n > 0 ? 0 : -EINVAL;
    for (unsigned i = 0; rc == 0 && i < n; i++) {
        double t0 = now_ms();
        rc = echo_once(nd, peer, chan, msg, size, ++seq);
        us[i] = (now_ms() - t0) * 1e3;
    }
    if (rc == 0) {
        qsort(us, n, sizeof(double), cmp_double);
        reply(nd, "ok rtt p50_us=%.0f p99_us=%.0f max_us=%.0f", us[n / 2], us[n * 99 / 100],
              us[n - 1]);
    } else {
        reply(nd, "err rtt %d", rc);
    }
    free(msg);
    free(us);
}

static void cmd_info(struct node *nd, int peer)
{
    struct net_peer_info i;
    if (net_peer_info(nd->net, peer, &i) < 0) {
        reply(nd, "err info");
        return;
    }
    reply(nd,
          "ok info control=%d bulk=%d fast=%d alive=%d rtt_us=%lld srtt_us=%lld seen_ms=%lld "
          "connects=%llu queued=%zu",
          i.up[CHAN_CONTROL], i.up[CHAN_BULK], i.up[CHAN_FAST], i.alive, (long long)i.rtt_us,
          (long long)i.srtt_us, (long long)i.last_seen_ms, (unsigned long long)i.connects,
          net_queued(nd->net, peer, CHAN_BULK));
}

static void cmd_wait_up(struct node *nd, int peer, int timeout_ms)
{
    double end = now_ms() + timeout_ms;
    struct net_peer_info i = {0};
    while (now_ms() < end) {
        if (net_peer_info(nd->net, peer, &i) == 0 && i.up[CHAN_CONTROL] && i.up[CHAN_BULK] &&
            i.up[CHAN_FAST]) {
            reply(nd, "ok up");
            return;
        }
        usleep(5000); /* polling a condition with a deadline */
    }
    reply(nd, "err timeout");
}

static void cmd_stats(struct node *nd)
{
    struct repl_stats s;
    repl_get_stats(nd->repl, &s);
    reply(nd,
          "ok stats sent=%llu bytes_sent=%llu stored=%llu dup=%llu bad=%llu unstored=%llu "
          "fetches=%llu fetch_retries=%llu fetched=%llu fetched_bytes=%llu pushed=%lu",
          (unsigned long long)s.chunks_sent, (unsigned long long)s.bytes_sent,
          (unsigned long long)s.chunks_stored, (unsigned long long)s.chunks_dup,
          (unsigned long long)s.chunks_bad, (unsigned long long)s.chunks_unstored,
          (unsigned long long)s.fetches, (unsigned long long)s.fetch_retries,
          (unsigned long long)s.fetched.chunks, (unsigned long long)s.fetched.bytes,
          file_store_pushed(nd->fs));
}

static void start_bg(struct node *nd, const char *file, int k)
{
    if (nd->bg_started) {
        pthread_join(nd->bg, NULL);
        nd->bg_started = false;
    }
    snprintf(nd->bg_file, sizeof(nd->bg_file), "%s", file);
    nd->bg_k = k;
    nd->bg_started = pthread_create(&nd->bg, NULL, push_bg, nd) == 0;
    reply(nd, nd->bg_started ? "ok started" : "err thread");
}

/* Returns 1 on quit. */
static int run_command(struct node *nd, const char *line)
{
    char a[4096], b[128];
    unsigned u1, u2, u3;
    int i1, i2;
    if (sscanf(line, "gen %u %u %u %4095s", &u1, &u2, &u3, a) == 4) {
        int rc = cmd_gen(nd, u1, u2, u3, a);
        rc < 0 ? reply(nd, "err gen %d", rc) : reply(nd, "ok gen %u", u1);
    } else if (sscanf(line, "push-bg %4095s %d", a, &i1) == 2) {
        start_bg(nd, a, i1);
    } else if (sscanf(line, "push %4095s %d %d", a, &i1, &i2) == 3) {
        cmd_push(nd, a, i1, i2);
    } else if (sscanf(line, "pull %4095s %d", a, &i1) == 2) {
        cmd_pull(nd, a, i1);
    } else if (sscanf(line, "gone %4095s", a) == 1) {
        cmd_gone(nd, a);
    } else if (sscanf(line, "fetch %127s %d", b, &i1) == 2) {
        cmd_fetch(nd, b, i1);
    } else if (sscanf(line, "rtt %d %u %u", &i1, &u1, &u2) == 3) {
        cmd_rtt(nd, i1, u1, u2,
                strstr(line, "bulk")   ? CHAN_BULK
                : strstr(line, "fast") ? CHAN_FAST
                                       : CHAN_CONTROL);
    } else if (sscanf(line, "info %d", &i1) == 1) {
        cmd_info(nd, i1);
    } else if (sscanf(line, "wait-up %d %d", &i1, &i2) == 2) {
        cmd_wait_up(nd, i1, i2);
    } else if (strncmp(line, "stats", 5) == 0) {
        cmd_stats(nd);
    } else if (strncmp(line, "quit", 4) == 0) {
        return 1;
    } else {
        reply(nd, "err unknown command");
    }
    return 0;
}

struct args {
    const char *config, *store, *name;
    const char *full_if; /* while this file exists, the store is full */
    int listen_fd;
    size_t window;
    unsigned dead_ms;
    bool debug;
};

static int parse_args(int argc, char **argv, struct args *a)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"store", required_argument, NULL, 's'},
                                         {"listen-fd", required_argument, NULL, 'l'},
                                         {"window", required_argument, NULL, 'w'},
                                         {"name", required_argument, NULL, 'n'},
                                         {"debug", no_argument, NULL, 'd'},
                                         {"full-if", required_argument, NULL, 'f'},
                                         {"dead-ms", required_argument, NULL, 'D'},
                                         {NULL, 0, NULL, 0}};
    *a = (struct args){.listen_fd = -1, .name = "netnode"};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            a->config = optarg;
            break;
        case 's':
            a->store = optarg;
            break;
        case 'l':
            a->listen_fd = atoi(optarg);
            break;
        case 'w':
            a->window = strtoull(optarg, NULL, 0);
            break;
        case 'n':
            a->name = optarg;
            break;
        case 'd':
            a->debug = true;
            break;
        case 'f':
            a->full_if = optarg;
            break;
        case 'D':
            a->dead_ms = (unsigned)strtoul(optarg, NULL, 10);
            break;
        default:
            return -1;
        }
    }
    return a->config && a->store ? 0 : -1;
}

static int node_start(struct node *nd, const struct args *a)
{
    struct net_config cfg;
    char err[512];
    if (net_config_load(a->config, &cfg, err, sizeof(err)) < 0) {
        log_error("%s", err);
        return -EINVAL;
    }
    int rc = file_store_open(a->store, &nd->fs);
    if (rc < 0)
        return rc;
    file_store_full_if(nd->fs, a->full_if);
    file_store_io(nd->fs, &nd->io);
    struct repl_options ro;
    repl_options_default(&ro);
    ro.window = a->window;
    rc = repl_create(&nd->io, &ro, &nd->repl);
    if (rc < 0)
        return rc;
    struct net_options no;
    net_options_default(&no);
    no.listen_fd = a->listen_fd;
    if (a->dead_ms)
        no.dead_ms = a->dead_ms;
    struct net_callbacks cb = {.ctx = nd, .on_frame = on_frame, .on_peer = on_peer};
    rc = net_start(&cfg, &no, &cb, &nd->net);
    return rc < 0 ? rc : repl_attach(nd->repl, nd->net);
}

int main(int argc, char **argv)
{
    struct args a;
    if (parse_args(argc, argv, &a) < 0) {
        fprintf(stderr, "usage: netnode --config FILE --store DIR [--listen-fd N] [--window "
                        "BYTES] [--name NAME] [--debug]\n");
        return 3;
    }
    log_setup(a.name, a.debug ? LOG_LVL_DEBUG : LOG_LVL_INFO);
    static struct node nd;
    pthread_mutex_init(&nd.out_lock, NULL);
    pthread_mutex_init(&nd.echo_lock, NULL);
    pthread_cond_init(&nd.echo_cond, NULL);
    int rc = node_start(&nd, &a);
    if (rc < 0) {
        log_error("netnode: cannot start: %s", strerror(-rc));
        return 1;
    }
    reply(&nd, "ok ready port=%d", net_listen_port(nd.net));
    char line[8192];
    while (fgets(line, sizeof(line), stdin) && !run_command(&nd, line))
        ;
    if (nd.bg_started)
        pthread_join(nd.bg, NULL);
    repl_detach(nd.repl);
    net_stop(nd.net);
    repl_destroy(nd.repl);
    file_store_close(nd.fs);
    return 0;
}
