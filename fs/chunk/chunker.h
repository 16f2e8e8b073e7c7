/*
 * chunker.h - FastCDC content-defined chunking.
 *
 * Cut points depend only on the bytes shortly before them (a rolling gear
 * hash over a 64-byte window), never on absolute offsets, so an edit moves
 * only the cuts near it and cutting resynchronizes with the old cuts soon
 * after an insertion or deletion. Chunk sizes: CHUNK_MIN..CHUNK_MAX, averaging
 * about CHUNK_AVG (normalized chunking, two masks).
 *
 * Invariant: for the same bytes from the same starting point, the same cuts,
 * on every node and every version of quorumfs with the same format version:
 * the gear table and masks are part of the on-disk format.
 */
#ifndef QFS_FS_CHUNK_CHUNKER_H
#define QFS_FS_CHUNK_CHUNKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CHUNK_MIN (16u * 1024)
#define CHUNK_AVG (64u * 1024)
#define CHUNK_MAX (256u * 1024)

/*
 * Length of the chunk that starts at data[0], given len bytes of lookahead.
 * Returns a cut in [CHUNK_MIN, CHUNK_MAX], or len when at_eof and no cut
 * comes first, or 0 when !at_eof and more bytes are needed to decide
 * (len < CHUNK_MAX and no cut in data). Never reads past data[len - 1].
 */
size_t chunker_next_cut(const uint8_t *data, size_t len, bool at_eof);

#endif
