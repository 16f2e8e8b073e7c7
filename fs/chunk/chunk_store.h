/*
 * chunk_store.h - the chunk environment: SHA-256 name -> chunk bytes, in LMDB.
 *
 * Content-addressed: a chunk is stored once however many files hold it.
 * Invariants:
 *  - No byte is returned unless it is the one put under its chunk's name
 *    (whose hash the caller computed or checked): every read checks the
 *    4 KiB blocks it returns bytes from against the CRC-32Cs stored with
 *    them at put (the whole chunk, for one stored by format 2; its hash,
 *    for one stored by format 1). A mismatch is -EIO (logged with the
 *    hash), never wrong data. A CRC misses 1 in 2^32 random corruptions and
 *    no burst of 32 bits or less, and costs a tenth of a hash: the trade
 *    btrfs makes, per 4 KiB as btrfs does.
 *  - A put is durable when it returns (one LMDB commit, with sync, per batch).
 *  - LMDB never has to find a run longer than 16 pages: chunks are kept
 *    as pieces of one fixed size (16 overflow pages by default), so every
 *    freed piece fits any future piece and the store neither slows down nor
 *    grows much as it ages (docs/on-disk-chunks.md has the measurements).
 *  - The LMDB map grows as needed; a full disk is -ENOSPC and loses nothing
 *    already committed.
 * Reference counting is not done here: the metadata store counts references;
 * this store only holds bytes. Thread-safe: any number of readers, and writers
 * serialize on LMDB's own writer lock.
 */
#ifndef QFS_FS_CHUNK_CHUNK_STORE_H
#define QFS_FS_CHUNK_CHUNK_STORE_H

#include "common/sha256.h"

#include <stddef.h>
#include <stdint.h>

struct chunk_store;

struct chunk_ref {
    uint8_t hash[SHA256_LEN];
    const uint8_t *data;
    uint32_t len;
};

struct chunk_store_stats {
    uint64_t chunks;     /* distinct chunks stored */
    uint64_t bytes;      /* their payload bytes */
    uint64_t file_bytes; /* size of the LMDB data file */
    uint64_t map_bytes;  /* current LMDB map size */
};

/* Opens (creating if needed) the environment in directory dir; checks the
 * format version and fails with -EPROTO on a mismatch. */
int chunk_store_open(const char *dir, struct chunk_store **out);

struct chunk_store_opts {
    uint64_t map_initial; /* first LMDB map size; 0: 1 GiB (grows as needed anyway) */
    /* 1: the OS's readahead on map faults. Default 0: MDB_NORDAHEAD, and a
     * read asks for exactly the pages of the pieces it reads (WILLNEED):
     * a tree lookup's fault then reads one page, not the chunk bytes
     * around it that a bulk put dropped from the page cache. */
    int os_readahead;
    uint32_t piece_pages; /* pages per piece of a NEW store, 1..16; 0: the default (16) */
};
/* chunk_store_open with options (tests use a tiny map to exercise growth). */
int chunk_store_open_opts(const char *dir, const struct chunk_store_opts *opts,
                          struct chunk_store **out);
void chunk_store_close(struct chunk_store *cs);

/* Disk space a put must leave free for others on the same disk, on top of
 * the store's own small reserve (0 until set; any thread). */
void chunk_store_set_reserve(struct chunk_store *cs, uint64_t bytes);
/* What a put leaves free on the disk: the store's own reserve plus the
 * caller's (statfs reports available space without it). */
uint64_t chunk_store_reserved_bytes(struct chunk_store *cs);

/* Stores n chunks (already hashed by the caller; the store re-checks nothing
 * on put) in one durable commit. Chunks already present are skipped.
 * -EINVAL if one is longer than CHUNK_MAX. */
int chunk_store_put_batch(struct chunk_store *cs, const struct chunk_ref *chunks, size_t n);

/* Bytes nobody on this node is expected to read soon (a peer's replica):
 * once durable, a batch that added at least 1 MiB drops its pages from
 * the page cache (chunk_uncache.c says why). */
#define CHUNK_PUT_UNCACHE 1u
/* chunk_store_put_batch with flags (CHUNK_PUT_*). */
int chunk_store_put_batch_flags(struct chunk_store *cs, const struct chunk_ref *chunks, size_t n,
                                unsigned flags);
/* Drops these chunks' pages from the page cache once they add up to 1 MiB
 * or more, as CHUNK_PUT_UNCACHE does at the put: for chunks read back for
 * a while after it (a push reads a writer's own chunks). Best effort. */
void chunk_store_uncache(struct chunk_store *cs, const uint8_t (*hashes)[SHA256_LEN], size_t n);

/* Copies the chunk into buf (cap >= its length; CHUNK_MAX always suffices)
 * and verifies it. -ENOENT if absent, -EIO if corrupt, -ENOBUFS if cap is
 * too small; buf's content is undefined after an error. */
int chunk_store_get(struct chunk_store *cs, const uint8_t hash[SHA256_LEN], uint8_t *buf,
                    size_t cap, uint32_t *len);

/* Asks the kernel to read bytes [off, off + len) of the chunk into the page
 * cache, and returns without waiting: a read of many chunks calls it for
 * all of them first, so their pages are read at once (the map does no
 * readahead of its own). Best effort: nothing is checked or reported. */
void chunk_store_prefetch(struct chunk_store *cs, const uint8_t hash[SHA256_LEN], uint32_t off,
                          uint32_t len);

/* Copies bytes [off, off + len) of the chunk (cut at its end) into buf,
 * having verified only the blocks they lie in: a 4 KiB read of a 64 KiB
 * chunk reads and checks 4-8 KiB, not 64. The count copied (0 when off is
 * at or past the end), -ENOENT, -EIO or -errno. */
int chunk_store_read(struct chunk_store *cs, const uint8_t hash[SHA256_LEN], uint32_t off,
                     void *buf, uint32_t len);

/* chunk_store_get without the check, for a copy whose receiver checks
 * it anyway (a push to a peer): -EIO only when pieces are missing. */
int chunk_store_get_unverified(struct chunk_store *cs, const uint8_t hash[SHA256_LEN], uint8_t *buf,
                               size_t cap, uint32_t *len);

/* 1 if present, 0 if not, or -errno. Does not verify. */
int chunk_store_has(struct chunk_store *cs, const uint8_t hash[SHA256_LEN]);

/* A chunk named by the first CHUNK_PREFIX_LEN bytes of its hash (a
 * peer's have-query): 1 and its whole hash, 0 if none, or -errno. A prefix
 * matches another chunk than the one meant with probability N / 2^128 for
 * a store of N chunks (2^-88 for 2^40); the first in key order is found. */
#define CHUNK_PREFIX_LEN 16
int chunk_store_find_prefix(struct chunk_store *cs, const uint8_t prefix[CHUNK_PREFIX_LEN],
                            uint8_t hash[SHA256_LEN]);

/* The stored length of a chunk (to size a buffer before a get): 0, -ENOENT
 * or -errno. Does not verify. */
int chunk_store_size(struct chunk_store *cs, const uint8_t hash[SHA256_LEN], uint32_t *len);

/* Deletes chunks (absent ones are ignored) in one durable commit. */
int chunk_store_delete_batch(struct chunk_store *cs, const uint8_t (*hashes)[SHA256_LEN], size_t n);

int chunk_store_stats(struct chunk_store *cs, struct chunk_store_stats *out);

/* Names of stored chunks in hash order: up to max after *after (from the
 * first when after is NULL). Returns how many, 0 at the end, or -errno. For
 * the collector's sweep of chunks nothing references (gc.h). */
int chunk_store_list(struct chunk_store *cs, const uint8_t *after, uint8_t (*out)[SHA256_LEN],
                     int max);

#endif
