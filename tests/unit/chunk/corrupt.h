/*
 * corrupt.h - damage a stored chunk behind the chunk store's back, for tests
 * that must prove a corrupt chunk is never returned. Works on a closed store.
 */
#ifndef QFS_TESTS_UNIT_CHUNK_CORRUPT_H
#define QFS_TESTS_UNIT_CHUNK_CORRUPT_H

#include "common/sha256.h"

#include <stdint.h>

/* Flips one byte in the middle of piece `piece` of chunk hash (or of the
 * first chunk in key order when hash is NULL); the corrupted chunk's name
 * goes to out. 0, -ENOENT (no such chunk or piece) or -errno. */
int corrupt_chunk(const char *dir, const uint8_t *hash, uint32_t piece, uint8_t out[SHA256_LEN]);

/* Deletes piece `piece` of chunk hash. */
int corrupt_drop_piece(const char *dir, const uint8_t hash[SHA256_LEN], uint32_t piece);

/* Overwrites the u32 meta record `name` (e.g. the format version). */
int corrupt_set_meta_u32(const char *dir, const char *name, uint32_t value);

#endif
