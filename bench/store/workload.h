/*
 * workload.h - the aging benchmark's file system-like write/delete stream.
 *
 * Files of mixed sizes (log-uniform, 1 KiB .. 32 MiB) are cut into chunks of
 * 16..112 KiB (the last one shorter) of unique random bytes; the files' chunks
 * are written in put batches of about 16 MiB (one commit each), and deleting
 * a file deletes all its chunks, as garbage collection does after an unlink.
 * Optionally (chunk_deletes) random single chunks are deleted instead: the
 * harshest fragmentation, kept as a stress figure.
 */
#ifndef QFS_BENCH_STORE_WORKLOAD_H
#define QFS_BENCH_STORE_WORKLOAD_H

#include "fs/chunk/chunk_store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WL_BATCH_BYTES (16u << 20)
#define WL_MAX_BATCH   2048 /* chunks per put or delete call */

struct wl_file {
    uint8_t (*hash)[SHA256_LEN]; /* its chunks */
    uint32_t *len;
    size_t n, cap;
    uint64_t bytes;
};

struct workload {
    uint64_t rng, next_chunk;
    bool chunk_deletes;
    struct wl_file *files; /* complete live files */
    size_t nfiles, cap;
    struct wl_file cur;  /* the file being written */
    uint64_t cur_left;   /* its bytes still to write */
    uint64_t live_bytes; /* stored bytes, the file being written included */
    uint8_t *buf;        /* WL_BATCH_BYTES + CHUNK_MAX */
    struct chunk_ref refs[WL_MAX_BATCH];
    uint8_t del[WL_MAX_BATCH][SHA256_LEN];
};

int wl_init(struct workload *w, uint64_t seed, bool chunk_deletes);
void wl_free(struct workload *w);

/* Makes the next put batch (about WL_BATCH_BYTES) in w->refs; returns its
 * chunk count. Call wl_written after the put succeeded. */
size_t wl_next_batch(struct workload *w);
void wl_written(struct workload *w, size_t n);

/* Picks live data worth at least `bytes` to delete and forgets it; its
 * names go to w->del, at most WL_MAX_BATCH per call: returns the count
 * (call again while bytes remain; *taken says how much this call took). */
size_t wl_take(struct workload *w, uint64_t bytes, uint64_t *taken);

/* A random live chunk (for reads); false if there is none. */
bool wl_pick(struct workload *w, const uint8_t **hash);

#endif
