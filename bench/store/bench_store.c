/*
 * bench-store: figures for bench/aged-store.sh.
 *
 *   bench-store cpu
 *       chunker and SHA-256 throughput on 256 MiB of random bytes (one core).
 *   bench-store aging pieces|piecesN|naive DIR LIVE_MIB CHURN_FACTOR [files|chunks]
 *       write LIVE_MIB of mixed-size chunks into a fresh store (timed), then
 *       write and delete CHURN_FACTOR x LIVE_MIB keeping the live set constant,
 *       then time writes again (with the same churn); prints one line of
 *       key=value: put MB/s fresh and aged, their ratio, file and live size.
 *       pieces: the store's default piece size; piecesN: N pages per piece.
 * Only store calls are timed (generating and hashing the chunks is not).
 */
#include "bench/store/naive_store.h"
#include "bench/store/workload.h"
#include "fs/chunk/chunk_store.h"
#include "fs/chunk/chunker.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MIB (1024.0 * 1024.0)

struct backend {
    void *impl;
    int (*put)(void *, const struct chunk_ref *, size_t);
    int (*del)(void *, const uint8_t (*)[SHA256_LEN], size_t);
    int (*get)(void *, const uint8_t *, uint8_t *, size_t, uint32_t *);
    int64_t (*file_bytes)(void *);
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void check(int rc, const char *what)
{
    if (rc < 0) {
        fprintf(stderr, "bench-store: %s: %s\n", what, strerror(-rc));
        exit(1);
    }
}

/* Per-batch put throughputs (MB/s) of a phase, for its median. */
struct rates {
    double v[4096];
    size_t n;
};

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median: a shared VM's disk has slow fsync outliers that would make a
 * mean measure the host's neighbours rather than the store. */
static double median(struct rates *r)
{
    if (!r->n)
        return 0;
    qsort(r->v, r->n, sizeof(double), cmp_double);
    return r->n % 2 ? r->v[r->n / 2] : (r->v[r->n / 2 - 1] + r->v[r->n / 2]) / 2;
}

/* Writes `bytes` of new chunks, recording each put's MB/s in r (if not
 * NULL); with a live target, deletes after each put until the live data is
 * back under it (whole files: that overshoots by less than a file and never
 * drifts). */
static void write_phase(struct backend *b, struct workload *w, uint64_t bytes, uint64_t target,
                        struct rates *r)
{
    for (uint64_t done = 0; done < bytes;) {
        size_t n = wl_next_batch(w);
        uint64_t added = 0;
        for (size_t i = 0; i < n; i++)
            added += w->refs[i].len;
        double t0 = now();
        check(b->put(b->impl, w->refs, n), "put");
        if (r && r->n < sizeof(r->v) / sizeof(r->v[0]))
            r->v[r->n++] = added / MIB / (now() - t0);
        wl_written(w, n);
        done += added;
        while (target && w->live_bytes > target && w->nfiles) {
            uint64_t taken;
            size_t nd = wl_take(w, w->live_bytes - target, &taken);
            check(b->del(b->impl, (const uint8_t(*)[SHA256_LEN])w->del, nd), "delete");
        }
    }
}

/* Reads `count` random live chunks; returns MB/s. */
static double get_phase(struct backend *b, struct workload *w, int count)
{
    uint8_t *buf = malloc(CHUNK_MAX);
    uint64_t bytes = 0;
    const uint8_t *hash;
    double t0 = now();
    for (int i = 0; i < count && wl_pick(w, &hash); i++) {
        uint32_t len;
        check(b->get(b->impl, hash, buf, CHUNK_MAX, &len), "get");
        bytes += len;
    }
    double s = now() - t0;
    free(buf);
    return bytes / MIB / s;
}

/* Adapters: the two layouts behind one table of operations. */
static int p_put(void *s, const struct chunk_ref *c, size_t n)
{
    return chunk_store_put_batch(s, c, n);
}

static int p_del(void *s, const uint8_t (*h)[SHA256_LEN], size_t n)
{
    return chunk_store_delete_batch(s, h, n);
}

static int p_get(void *s, const uint8_t *h, uint8_t *buf, size_t cap, uint32_t *len)
{
    return chunk_store_get(s, h, buf, cap, len);
}

static int64_t p_file(void *s)
{
    struct chunk_store_stats st;
    int rc = chunk_store_stats(s, &st);
    return rc ? rc : (int64_t)st.file_bytes;
}

static int n_put(void *s, const struct chunk_ref *c, size_t n)
{
    return naive_store_put_batch(s, c, n);
}

static int n_del(void *s, const uint8_t (*h)[SHA256_LEN], size_t n)
{
    return naive_store_delete_batch(s, h, n);
}

static int n_get(void *s, const uint8_t *h, uint8_t *buf, size_t cap, uint32_t *len)
{
    return naive_store_get(s, h, buf, cap, len);
}

static int64_t n_file(void *s)
{
    return naive_store_file_bytes(s);
}

static void close_backend(const char *layout, struct backend *b)
{
    if (!strncmp(layout, "pieces", 6))
        chunk_store_close(b->impl);
    else
        naive_store_close(b->impl);
}

static int open_backend(const char *layout, const char *dir, struct backend *b)
{
    if (!strncmp(layout, "pieces", 6)) { /* "pieces" or "piecesN": N pages per piece */
        struct chunk_store_opts o = {.piece_pages = (uint32_t)atoi(layout + 6)};
        struct chunk_store *cs;
        *b = (struct backend){NULL, p_put, p_del, p_get, p_file};
        int rc = chunk_store_open_opts(dir, &o, &cs);
        b->impl = cs;
        return rc;
    }
    if (!strcmp(layout, "naive")) {
        *b = (struct backend){NULL, n_put, n_del, n_get, n_file};
        return naive_store_open(dir, (struct naive_store **)&b->impl);
    }
    return -EINVAL;
}

static int drop_caches(void)
{
    sync();
    FILE *f = fopen("/proc/sys/vm/drop_caches", "w");
    if (!f)
        return -1;
    int ok = fputs("3", f) >= 0;
    return fclose(f) == 0 && ok ? 0 : -1;
}

/* Random gets from a cold page cache, without and with the OS readahead
 * (the store's default, readahead on, was chosen by this figure). Root only. */
static void cold_gets(const char *dir, struct workload *w)
{
    for (int ra = 0; ra < 2; ra++) {
        struct chunk_store *cs;
        struct chunk_store_opts o = {.os_readahead = ra};
        if (drop_caches() < 0) {
            printf("cold_get: cannot drop caches (not root): skipped\n");
            return;
        }
        check(chunk_store_open_opts(dir, &o, &cs), "open");
        struct backend b = {cs, p_put, p_del, p_get, p_file};
        printf("cold_get_mbs_%s=%.1f\n", ra ? "readahead" : "nordahead", get_phase(&b, w, 500));
        chunk_store_close(cs);
    }
}

/*
 * After aging, put batches go alternately to the aged store (which keeps
 * churning) and to a brand-new one: a shared VM's disk speed drifts by 2x
 * over minutes, and alternating exposes both stores to the same drift.
 */
static void alternate(const char *layout, const char *dir, struct backend *aged_b,
                      struct workload *aged_w, uint64_t live_bytes, int rounds, struct rates *fresh,
                      struct rates *aged)
{
    struct backend fresh_b;
    struct workload fresh_w;
    check(wl_init(&fresh_w, 3, false) ? -ENOMEM : 0, "workload");
    check(open_backend(layout, dir, &fresh_b), "open");
    for (int i = 0; i < rounds; i++) {
        write_phase(aged_b, aged_w, 1, live_bytes, aged);
        write_phase(&fresh_b, &fresh_w, 1, 0, fresh);
    }
    close_backend(layout, &fresh_b);
    wl_free(&fresh_w);
}

static int aging(const char *layout, const char *dir, uint64_t live_bytes, int factor,
                 bool chunk_deletes)
{
    char sub[4096];
    struct backend b;
    struct workload w;
    struct rates *fresh = calloc(1, sizeof(*fresh)), *aged = calloc(1, sizeof(*aged));
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        check(-errno, dir);
    snprintf(sub, sizeof(sub), "%s/aged", dir);
    check(wl_init(&w, 2, chunk_deletes) ? -ENOMEM : 0, "workload");
    check(open_backend(layout, sub, &b), "open");
    write_phase(&b, &w, live_bytes, 0, NULL);
    double t0 = now();
    write_phase(&b, &w, live_bytes * (uint64_t)factor, live_bytes, NULL);
    double churn_s = now() - t0;
    snprintf(sub, sizeof(sub), "%s/fresh", dir);
    int rounds = (int)(live_bytes / WL_BATCH_BYTES);
    alternate(layout, sub, &b, &w, live_bytes, rounds < 8 ? 8 : rounds, fresh, aged);
    int64_t file = b.file_bytes(b.impl);
    check(file < 0 ? (int)file : 0, "stat");
    double get = get_phase(&b, &w, 2000);
    close_backend(layout, &b);
    if (!strcmp(layout, "pieces")) {
        snprintf(sub, sizeof(sub), "%s/aged", dir);
        cold_gets(sub, &w);
    }
    double f = median(fresh), a = median(aged);
    printf("layout=%s deletes=%s fresh_put_mbs=%.1f aged_put_mbs=%.1f aged_over_fresh=%.2f "
           "live_mib=%.1f file_mib=%.1f file_over_live=%.2f churn_s=%.1f get_mbs=%.1f\n",
           layout, chunk_deletes ? "chunks" : "files", f, a, a / f, w.live_bytes / MIB, file / MIB,
           file / (double)w.live_bytes, churn_s, get);
    wl_free(&w);
    free(fresh);
    free(aged);
    return 0;
}

static int cpu(void)
{
    size_t len = 256u << 20;
    uint8_t *d = malloc(len), digest[SHA256_LEN];
    uint64_t s = 42;
    for (size_t i = 0; i < len; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        d[i] = (uint8_t)(s >> 24);
    }
    double t0 = now();
    size_t chunks = 0;
    for (size_t off = 0; off < len; chunks++)
        off += chunker_next_cut(d + off, len - off, true);
    double cut_s = now() - t0;
    t0 = now();
    for (size_t off = 0; off < len; off += CHUNK_AVG)
        check(sha256(d + off, CHUNK_AVG, digest), "sha256");
    double sha_s = now() - t0;
    printf("chunker_mbs=%.0f chunker_avg_kib=%.1f sha256_mbs=%.0f\n", len / MIB / cut_s,
           len / 1024.0 / chunks, len / MIB / sha_s);
    free(d);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "cpu"))
        return cpu();
    if ((argc == 6 || argc == 7) && !strcmp(argv[1], "aging"))
        return aging(argv[2], argv[3], strtoull(argv[4], NULL, 10) << 20, atoi(argv[5]),
                     argc == 7 && !strcmp(argv[6], "chunks"));
    fprintf(stderr, "usage: bench-store cpu | aging pieces|piecesN|naive DIR LIVE_MIB CHURN_FACTOR "
                    "[files|chunks]\n");
    return 2;
}
