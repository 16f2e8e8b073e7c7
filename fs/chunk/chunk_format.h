/*
 * chunk_format.h - the layout of the chunk environment (docs/on-disk-chunks.md).
 *
 * Shared by the chunk store and by tools that must reach past it (the
 * corruption tool of the tests). Chunk format 2:
 *  - DB "meta":   "format" -> u32 LE version; "piece" -> u32 LE piece size;
 *                 "bytes" -> u64 LE payload bytes of all chunks;
 *                 "next_id" -> u64 LE the id the next new chunk gets.
 *  - DB "chunks": hash (32 bytes) -> u64 LE id, u32 LE length, u32 LE
 *                 CRC-32C of the bytes (16 bytes). A chunk exists iff this
 *                 record does; it is written in the same txn as its pieces.
 *                 Ids are never reused. Records written by format 1 have no
 *                 CRC (12 bytes): such chunks are checked against their hash.
 *  - DB "pieces": u64 BE id || u32 BE index -> bytes [index * piece, ...) of
 *                 the chunk, at most "piece" bytes: a piece fills a fixed
 *                 small number of overflow pages exactly. Ids grow, so new pieces are appended at
 * the end of the tree (MDB_APPEND) instead of splitting random leaves.
 */
#ifndef QFS_FS_CHUNK_CHUNK_FORMAT_H
#define QFS_FS_CHUNK_CHUNK_FORMAT_H

#include "common/bytes.h"
#include "common/sha256.h"

#include <stddef.h>
#include <stdint.h>

#define CHUNK_FORMAT_VERSION 2u
/* Format 1 differs only by records without a CRC; opening such a store
 * marks it format 2 (older builds then refuse it, as they must: they would
 * read the longer records as corrupt). */
#define CHUNK_FORMAT_V1 1u

#define CHUNK_DB_META   "meta"
#define CHUNK_DB_CHUNKS "chunks"
#define CHUNK_DB_PIECES "pieces"

#define CHUNK_META_FORMAT "format"
#define CHUNK_META_PIECE  "piece"
#define CHUNK_META_BYTES  "bytes"
#define CHUNK_META_NEXT   "next_id"

/* LMDB's page header: an overflow run of n pages holds n * page size - this
 * many bytes. */
#define CHUNK_LMDB_PAGEHDR 16u

/* Pages per piece of a new store (its piece size is recorded in "piece"):
 * docs/on-disk-chunks.md has the measurements behind 16. */
#define CHUNK_PIECE_PAGES     16u
#define CHUNK_PIECE_MAX_PAGES 16u

#define CHUNK_PIECE_KEY_LEN 12
#define CHUNK_RECORD_LEN    16
#define CHUNK_RECORD_LEN_V1 12

static inline void chunk_piece_key(uint8_t key[CHUNK_PIECE_KEY_LEN], uint64_t id, uint32_t index)
{
    for (int i = 0; i < 8; i++)
        key[i] = (uint8_t)(id >> (56 - 8 * i));
    for (int i = 0; i < 4; i++)
        key[8 + i] = (uint8_t)(index >> (24 - 8 * i));
}

static inline void chunk_record_put(uint8_t rec[CHUNK_RECORD_LEN], uint64_t id, uint32_t len,
                                    uint32_t crc)
{
    put_u64(rec, id);
    put_u32(rec + 8, len);
    put_u32(rec + 12, crc);
}

/* Decodes a record of either length: 1 with its CRC, 0 without (format 1),
 * -1 if the size is neither. */
static inline int chunk_record_get(const void *val, size_t size, uint64_t *id, uint32_t *len,
                                   uint32_t *crc)
{
    const uint8_t *rec = val;
    if (size != CHUNK_RECORD_LEN && size != CHUNK_RECORD_LEN_V1)
        return -1;
    *id = get_u64(rec);
    *len = get_u32(rec + 8);
    *crc = size == CHUNK_RECORD_LEN ? get_u32(rec + 12) : 0;
    return size == CHUNK_RECORD_LEN;
}

#endif
