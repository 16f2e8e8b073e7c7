#include "bench/store/workload.h"

#include "fs/chunk/chunker.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s * 0x2545F4914F6CDD1Dull;
}

static void fill(uint8_t *p, size_t n, uint64_t seed)
{
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i + 8 <= n; i += 8) {
        uint64_t v = rnd(&s);
        memcpy(p + i, &v, 8);
    }
    for (size_t i = n & ~(size_t)7; i < n; i++)
        p[i] = (uint8_t)rnd(&s);
}

int wl_init(struct workload *w, uint64_t seed, bool chunk_deletes)
{
    memset(w, 0, sizeof(*w));
    w->rng = seed | 1;
    w->chunk_deletes = chunk_deletes;
    w->buf = malloc(WL_BATCH_BYTES + CHUNK_MAX);
    return w->buf ? 0 : -1;
}

static void file_free(struct wl_file *f)
{
    free(f->hash);
    free(f->len);
    memset(f, 0, sizeof(*f));
}

void wl_free(struct workload *w)
{
    for (size_t i = 0; i < w->nfiles; i++)
        file_free(&w->files[i]);
    file_free(&w->cur);
    free(w->files);
    free(w->buf);
}

static void file_add(struct wl_file *f, const uint8_t *hash, uint32_t len)
{
    if (f->n == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 4;
        f->hash = realloc(f->hash, f->cap * SHA256_LEN);
        f->len = realloc(f->len, f->cap * sizeof(*f->len));
        if (!f->hash || !f->len)
            abort();
    }
    memcpy(f->hash[f->n], hash, SHA256_LEN);
    f->len[f->n++] = len;
    f->bytes += len;
}

static void files_push(struct workload *w, struct wl_file *f)
{
    if (w->nfiles == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 64;
        w->files = realloc(w->files, w->cap * sizeof(*w->files));
        if (!w->files)
            abort();
    }
    w->files[w->nfiles++] = *f;
    memset(f, 0, sizeof(*f));
}

/* Log-uniform between 1 KiB and 32 MiB. */
static uint64_t file_size(uint64_t *s)
{
    double u = (double)(rnd(s) >> 11) / (double)(1ull << 53);
    return (uint64_t)(1024.0 * pow(32768.0, u));
}

size_t wl_next_batch(struct workload *w)
{
    size_t n = 0, off = 0;
    while (off < WL_BATCH_BYTES && n < WL_MAX_BATCH) {
        if (w->cur_left == 0) {
            if (w->cur.n)
                files_push(w, &w->cur);
            w->cur_left = file_size(&w->rng);
        }
        uint64_t len = 16 * 1024 + rnd(&w->rng) % (96 * 1024);
        len = len < w->cur_left ? len : w->cur_left;
        struct chunk_ref *c = &w->refs[n++];
        c->data = w->buf + off;
        c->len = (uint32_t)len;
        fill(w->buf + off, len, w->next_chunk++);
        if (sha256(c->data, len, c->hash))
            abort();
        w->cur_left -= len;
        off += len;
    }
    return n;
}

void wl_written(struct workload *w, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        file_add(&w->cur, w->refs[i].hash, w->refs[i].len);
        w->live_bytes += w->refs[i].len;
    }
}

/* Moves the names of a random complete file (or of one random chunk, when
 * chunk_deletes) to w->del[at..]; 0 if they need more than room entries. */
static size_t take_one(struct workload *w, size_t at, size_t room, uint64_t *taken)
{
    size_t i = rnd(&w->rng) % w->nfiles;
    struct wl_file *f = &w->files[i];
    size_t n = w->chunk_deletes ? 1 : f->n;
    if (n > room)
        return 0;
    if (w->chunk_deletes) {
        size_t k = rnd(&w->rng) % f->n;
        memcpy(w->del[at], f->hash[k], SHA256_LEN);
        *taken += f->len[k];
        w->live_bytes -= f->len[k];
        f->bytes -= f->len[k];
        f->n--;
        memcpy(f->hash[k], f->hash[f->n], SHA256_LEN);
        f->len[k] = f->len[f->n];
    } else {
        memcpy(w->del[at], f->hash, n * SHA256_LEN);
        *taken += f->bytes;
        w->live_bytes -= f->bytes;
        f->n = 0;
    }
    if (f->n == 0) {
        file_free(f);
        w->files[i] = w->files[--w->nfiles];
    }
    return n;
}

size_t wl_take(struct workload *w, uint64_t bytes, uint64_t *taken)
{
    size_t n = 0;
    *taken = 0;
    while (*taken < bytes && w->nfiles && n < WL_MAX_BATCH) {
        size_t got = take_one(w, n, WL_MAX_BATCH - n, taken);
        if (!got)
            break; /* that file does not fit this call: the next call takes it */
        n += got;
    }
    return n;
}

bool wl_pick(struct workload *w, const uint8_t **hash)
{
    if (!w->nfiles)
        return false;
    struct wl_file *f = &w->files[rnd(&w->rng) % w->nfiles];
    *hash = f->hash[rnd(&w->rng) % f->n];
    return true;
}
