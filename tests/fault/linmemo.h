/*
 * linmemo.h - the set of configurations the linearizability search has
 * already explored: (model state, set of linearized operations).
 *
 * A set of operations is represented by its 128-bit Zobrist signature (the
 * XOR of two independent random 64-bit keys per operation). Storing the
 * sets themselves costs O(history) per entry, and no window trick helps
 * once unknown operations (which may stay unlinearized forever) are
 * involved; the signature costs 16 bytes. Two different sets share a
 * signature with probability 2^-128 per pair: below 1e-20 for a search
 * with a hundred million entries. Memory is bounded by max_bytes.
 */
#ifndef QFS_TESTS_FAULT_LINMEMO_H
#define QFS_TESTS_FAULT_LINMEMO_H

#include <stddef.h>
#include <stdint.h>

struct lm_key {
    uint64_t sig[2]; /* Zobrist signature of the linearized set */
    uint64_t state;  /* model state after it */
};

struct lm_set;

struct lm_set *lm_create(size_t max_bytes);
void lm_destroy(struct lm_set *set);

/* Returns 1 if k was new (and is now recorded), 0 if recorded before,
 * -ENOMEM past the memory bound. */
int lm_insert(struct lm_set *set, const struct lm_key *k);

#endif
