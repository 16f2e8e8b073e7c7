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

/* Flips a bit of the CRC of block `block` in the record of chunk hash (its
 * bytes stay intact): a read of that block must then fail, which shows that
 * the CRC is checked. */
int corrupt_record_crc(const char *dir, const uint8_t hash[SHA256_LEN], uint32_t block);

/* Reads a u32 meta record ("format", "piece"). */
int corrupt_get_meta_u32(const char *dir, const char *name, uint32_t *value);

/* Makes the store look written by chunk format 1 as far as chunk hash goes:
 * its record loses the CRC (12 bytes) and "format" becomes 1. */
int corrupt_make_v1(const char *dir, const uint8_t hash[SHA256_LEN]);
/* The same for format 2: the record keeps one CRC, crc (the caller computes
 * it over the whole chunk), and "format" becomes 2. */
int corrupt_make_v2(const char *dir, const uint8_t hash[SHA256_LEN], uint32_t crc);

#endif
