/*
 * naive_store.h - the reference layout for the aging benchmark: one LMDB
 * value per chunk (hash -> bytes), i.e. a multi-page overflow run per chunk.
 * It exists to show, in the same run, the slowdown and file growth that the
 * chunk store's single-page pieces avoid. Not used by quorumfs itself.
 */
#ifndef QFS_BENCH_STORE_NAIVE_STORE_H
#define QFS_BENCH_STORE_NAIVE_STORE_H

#include "fs/chunk/chunk_store.h"

struct naive_store;

int naive_store_open(const char *dir, struct naive_store **out);
void naive_store_close(struct naive_store *ns);
/* One durable commit per call, like chunk_store_put_batch. */
int naive_store_put_batch(struct naive_store *ns, const struct chunk_ref *chunks, size_t n);
int naive_store_delete_batch(struct naive_store *ns, const uint8_t (*hashes)[SHA256_LEN], size_t n);
/* Copies and verifies, like chunk_store_get. */
int naive_store_get(struct naive_store *ns, const uint8_t hash[SHA256_LEN], uint8_t *buf,
                    size_t cap, uint32_t *len);
/* Size of the data file in bytes, or -errno. */
int64_t naive_store_file_bytes(struct naive_store *ns);

#endif
