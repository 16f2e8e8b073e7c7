/*
 * fake_peer.h - a stand-in for the rest of the cluster behind struct
 * core_remote: replicate() copies the listed chunks out of the core's store
 * (as a push to peers would), fetch() serves them back and stores them in
 * the core's store, as the contract says. Failures are injected per call.
 */
#ifndef QFS_TESTS_UNIT_CORE_FAKE_PEER_H
#define QFS_TESTS_UNIT_CORE_FAKE_PEER_H

#include "fs/core/core_remote.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fake_chunk {
    uint8_t hash[32];
    uint8_t *data;
    uint32_t len;
};

struct fake_peer {
    pthread_mutex_t lock; /* guards everything below */
    struct core *core;    /* whose store replicate reads and fetch fills */
    struct fake_chunk *chunks;
    size_t n, cap;
    int replicate_err; /* returned by replicate when nonzero */
    int replicate_calls, fetch_calls;
    size_t last_n;   /* hashes listed by the last replicate call */
    int not_durable; /* replicate() saw a chunk absent from the local store */
};

void fake_peer_init(struct fake_peer *p, struct core *core);
void fake_peer_free(struct fake_peer *p);
/* Fills r with callbacks over p. */
void fake_peer_remote(struct fake_peer *p, struct core_remote *r);

#endif
