/*
 * chunk_format.h - the layout of the chunk environment (docs/on-disk-chunks.md).
 *
 * Shared by the chunk store and by tools that must reach past it (the
 * corruption tool of the tests). Chunk format 1:
 *  - DB "meta":   "format" -> u32 LE version; "piece" -> u32 LE piece size;
 *                 "bytes" -> u64 LE payload bytes of all chunks.
 *  - DB "chunks": hash (32 bytes) -> u32 LE chunk length. A chunk exists iff
 *                 this record does; it is written in the same txn as its pieces.
 *  - DB "pieces": hash || u32 BE index -> bytes [index * piece, ...) of the
 *                 chunk, at most "piece" bytes, so every piece fits in one page.
 */
#ifndef QFS_FS_CHUNK_CHUNK_FORMAT_H
#define QFS_FS_CHUNK_CHUNK_FORMAT_H

#include "common/sha256.h"

#include <stdint.h>

#define CHUNK_FORMAT_VERSION 1u

#define CHUNK_DB_META   "meta"
#define CHUNK_DB_CHUNKS "chunks"
#define CHUNK_DB_PIECES "pieces"

#define CHUNK_META_FORMAT "format"
#define CHUNK_META_PIECE  "piece"
#define CHUNK_META_BYTES  "bytes"

/* LMDB's page header: an overflow page holds page size - this many bytes. */
#define CHUNK_LMDB_PAGEHDR 16u

#define CHUNK_PIECE_KEY_LEN (SHA256_LEN + 4)

static inline void chunk_piece_key(uint8_t key[CHUNK_PIECE_KEY_LEN], const uint8_t hash[SHA256_LEN],
                                   uint32_t index)
{
    for (int i = 0; i < SHA256_LEN; i++)
        key[i] = hash[i];
    for (int i = 0; i < 4; i++)
        key[SHA256_LEN + i] = (uint8_t)(index >> (24 - 8 * i));
}

#endif
