/*
 * chunk_format.h - the layout of the chunk environment (docs/on-disk-chunks.md).
 *
 * Shared by the chunk store and by tools that must reach past it (the
 * corruption tool of the tests). Chunk format 3:
 *  - DB "meta":   "format" -> u32 LE version; "piece" -> u32 LE piece size;
 *                 "bytes" -> u64 LE payload bytes of all chunks;
 *                 "next_id" -> u64 LE the id the next new chunk gets.
 *  - DB "chunks": hash (32 bytes) -> u64 LE id, u32 LE length, then the
 *                 u32 LE CRC-32C of each CHUNK_CRC_BLOCK bytes of the chunk
 *                 (the last block may be shorter): 12 + 4 * blocks bytes.
 *                 A chunk exists iff this record does; it is written in
 *                 the same txn as its pieces. Ids are never reused. Older
 *                 records are still read: format 2's (16 bytes, one CRC of
 *                 the whole chunk, which is format 3's record when the chunk
 *                 is one block) and format 1's (12 bytes, no CRC: checked
 *                 against the hash).
 *  - DB "pieces": u64 BE id || u32 BE index -> bytes [index * piece, ...) of
 *                 the chunk, at most "piece" bytes: a piece fills a fixed
 *                 small number of overflow pages exactly. Ids grow, so new pieces are appended at
 * the end of the tree (MDB_APPEND) instead of splitting random leaves.
 */
#ifndef QFS_FS_CHUNK_CHUNK_FORMAT_H
#define QFS_FS_CHUNK_CHUNK_FORMAT_H

#include "common/bytes.h"
#include "common/sha256.h"
#include "fs/chunk/chunker.h"

#include <stddef.h>
#include <stdint.h>

#define CHUNK_FORMAT_VERSION 3u
/* Formats 1 and 2 differ only by their records; opening such a store marks
 * it format 3 (older builds then refuse it, as they must: they would read
 * the longer records as corrupt). */
#define CHUNK_FORMAT_V1 1u
#define CHUNK_FORMAT_V2 2u

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

/* A read checks only the blocks it returns bytes from: a random 4 KiB read
 * of a 64 KiB chunk checks one or two blocks, not the chunk. */
#define CHUNK_CRC_BLOCK      4096u
#define CHUNK_RECORD_HEAD    12 /* id, length */
#define CHUNK_RECORD_LEN_V1  12
#define CHUNK_RECORD_LEN_V2  16
#define CHUNK_RECORD_MAX_LEN (CHUNK_RECORD_HEAD + 4 * (CHUNK_MAX / CHUNK_CRC_BLOCK))

static inline void chunk_piece_key(uint8_t key[CHUNK_PIECE_KEY_LEN], uint64_t id, uint32_t index)
{
    for (int i = 0; i < 8; i++)
        key[i] = (uint8_t)(id >> (56 - 8 * i));
    for (int i = 0; i < 4; i++)
        key[8 + i] = (uint8_t)(index >> (24 - 8 * i));
}

/* The chunk id a piece key names. */
static inline uint64_t chunk_piece_key_id(const uint8_t key[CHUNK_PIECE_KEY_LEN])
{
    uint64_t id = 0;
    for (int i = 0; i < 8; i++)
        id = id << 8 | key[i];
    return id;
}

static inline uint32_t chunk_crc_blocks(uint32_t len)
{
    return (uint32_t)(((uint64_t)len + CHUNK_CRC_BLOCK - 1) / CHUNK_CRC_BLOCK);
}

/* The size of a format-3 record for a chunk of len bytes. */
static inline size_t chunk_record_len(uint32_t len)
{
    return CHUNK_RECORD_HEAD + 4 * (size_t)chunk_crc_blocks(len);
}

/* How a chunk's bytes are checked, by the kind of its record. */
enum chunk_check {
    CHUNK_CHECK_HASH,   /* format 1: SHA-256 of the whole chunk against its name */
    CHUNK_CHECK_WHOLE,  /* format 2: one CRC-32C of the whole chunk */
    CHUNK_CHECK_BLOCKS, /* format 3: one CRC-32C per block */
};

struct chunk_record {
    uint64_t id;
    uint32_t len;
    enum chunk_check check;
    const uint8_t *crcs; /* WHOLE: one u32 LE; BLOCKS: chunk_crc_blocks(len) of them */
};

/* Decodes a record of any format (crcs points into val): 0, or -1 if its
 * size fits none. */
static inline int chunk_record_decode(const void *val, size_t size, struct chunk_record *rec)
{
    const uint8_t *b = val;
    if (size < CHUNK_RECORD_HEAD)
        return -1;
    rec->id = get_u64(b);
    rec->len = get_u32(b + 8);
    rec->crcs = b + CHUNK_RECORD_HEAD;
    if (size == chunk_record_len(rec->len))
        rec->check = CHUNK_CHECK_BLOCKS;
    else if (size == CHUNK_RECORD_LEN_V2)
        rec->check = CHUNK_CHECK_WHOLE;
    else if (size == CHUNK_RECORD_LEN_V1)
        rec->check = CHUNK_CHECK_HASH;
    else
        return -1;
    return 0;
}

#endif
