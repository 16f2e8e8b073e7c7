/*
 * Checked reads of the chunk environment: the bytes asked for are copied
 * straight from LMDB's map once the 4 KiB blocks they lie in match their
 * CRC-32Cs (docs/on-disk-chunks.md, "Checks on read").
 */
#include "fs/chunk/chunk_store.h"
#include "fs/chunk/chunk_store_int.h"

#include "common/bytes.h"
#include "common/crc32c.h"
#include "common/log.h"
#include "fs/chunk/chunk_format.h"
#include "fs/chunk/chunker.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* A piece fills at least one 4 KiB page less its header. */
#define PIECES_MAX (CHUNK_MAX / (4096 - CHUNK_LMDB_PAGEHDR) + 1)

/* Pieces [first, first + n) of one chunk, as pointers into the map: valid
 * until the reader ends. */
struct span {
    uint32_t first, n;
    MDB_val v[PIECES_MAX];
};

/* Maps the pieces of chunk rec that hold bytes [from, to), from < to <=
 * rec->len: -EIO if one is missing or has the wrong size. */
static int span_map(struct chunk_store *cs, struct reader *r, const struct chunk_record *rec,
                    uint32_t from, uint32_t to, struct span *s)
{
    uint8_t key[CHUNK_PIECE_KEY_LEN];
    s->first = from / cs->piece;
    s->n = (to - 1) / cs->piece - s->first + 1;
    if (s->n > PIECES_MAX)
        return -EIO;
    chunk_piece_key(key, rec->id, s->first);
    MDB_val k = {sizeof(key), key};
    MDB_cursor_op op = MDB_SET_KEY;
    for (uint32_t i = 0; i < s->n; i++, op = MDB_NEXT) {
        uint32_t index = s->first + i, start = index * cs->piece;
        uint32_t want = rec->len - start < cs->piece ? rec->len - start : cs->piece;
        int rc = mdb_cursor_get(r->cur, &k, &s->v[i], op);
        if (rc && rc != MDB_NOTFOUND)
            return chunk_lmdb_errno(rc);
        chunk_piece_key(key, rec->id, index);
        if (rc || k.mv_size != sizeof(key) || memcmp(k.mv_data, key, sizeof(key)) ||
            s->v[i].mv_size != want)
            return -EIO;
    }
    return 0;
}

/* The map is MDB_NORDAHEAD (a fault reads one page): asks the kernel for
 * all of the span's pages at once, one request per run of adjacent pieces. */
static void span_willneed(const struct span *s)
{
    uintptr_t psize = (uintptr_t)sysconf(_SC_PAGESIZE), a = 0, b = 0;
    for (uint32_t i = 0; i <= s->n; i++) {
        uintptr_t p = i < s->n ? (uintptr_t)s->v[i].mv_data : 0;
        uintptr_t start = p / psize * psize, end = p + (i < s->n ? s->v[i].mv_size : 0);
        if (i < s->n && b && start <= b && end >= a) { /* overlaps or touches */
            a = start < a ? start : a;
            b = end > b ? end : b;
            continue;
        }
        if (b)
            (void)madvise((void *)a, b - a, MADV_WILLNEED);
        a = start;
        b = end;
    }
}

/* The mapped bytes at chunk offset at, and in *n how many follow in the
 * same piece before to. */
static const uint8_t *span_at(const struct span *s, uint32_t piece, uint32_t at, uint32_t to,
                              uint32_t *n)
{
    uint32_t in = at % piece;
    *n = piece - in < to - at ? piece - in : to - at;
    return (const uint8_t *)s->v[at / piece - s->first].mv_data + in;
}

static uint32_t span_crc(const struct span *s, uint32_t piece, uint32_t from, uint32_t to)
{
    uint32_t crc = 0;
    for (uint32_t n = 0; from < to; from += n) {
        const uint8_t *p = span_at(s, piece, from, to, &n);
        crc = crc32c_update(crc, p, n);
    }
    return crc;
}

static void span_copy(const struct span *s, uint32_t piece, uint32_t from, uint32_t to,
                      uint8_t *dst)
{
    for (uint32_t n = 0; from < to; from += n, dst += n) {
        const uint8_t *p = span_at(s, piece, from, to, &n);
        memcpy(dst, p, n);
    }
}

/* Format 1 checked the whole chunk against its name. */
static int span_hash_check(const struct span *s, uint32_t piece, const struct chunk_record *rec,
                           const uint8_t *hash)
{
    uint8_t *all = malloc(rec->len ? rec->len : 1), d[SHA256_LEN];
    if (!all)
        return -ENOMEM;
    span_copy(s, piece, 0, rec->len, all);
    int rc = sha256(all, rec->len, d);
    free(all);
    if (rc)
        return rc;
    return memcmp(d, hash, SHA256_LEN) ? -EIO : 0;
}

/* The bytes a read of [from, to) must check: the blocks they lie in, or
 * the whole chunk when its record has no block CRCs. */
static void check_range(const struct chunk_record *rec, uint32_t from, uint32_t to, uint32_t *vs,
                        uint32_t *ve)
{
    if (rec->check != CHUNK_CHECK_BLOCKS) {
        *vs = 0;
        *ve = rec->len;
        return;
    }
    uint64_t end = ((uint64_t)to + CHUNK_CRC_BLOCK - 1) / CHUNK_CRC_BLOCK * CHUNK_CRC_BLOCK;
    *vs = from / CHUNK_CRC_BLOCK * CHUNK_CRC_BLOCK;
    *ve = end < rec->len ? (uint32_t)end : rec->len;
}

/* Checks bytes [vs, ve) (from check_range) against the record: every byte
 * returned was stored under this name (chunk_store.h). */
static int span_check(const struct span *s, uint32_t piece, const struct chunk_record *rec,
                      const uint8_t *hash, uint32_t vs, uint32_t ve)
{
    if (rec->check == CHUNK_CHECK_HASH)
        return span_hash_check(s, piece, rec, hash);
    if (rec->check == CHUNK_CHECK_WHOLE)
        return span_crc(s, piece, 0, rec->len) == get_u32(rec->crcs) ? 0 : -EIO;
    for (uint32_t b = vs / CHUNK_CRC_BLOCK, at = vs; at < ve; b++, at += CHUNK_CRC_BLOCK) {
        uint32_t end = ve - at < CHUNK_CRC_BLOCK ? ve : at + CHUNK_CRC_BLOCK;
        if (span_crc(s, piece, at, end) != get_u32(rec->crcs + 4 * (size_t)b))
            return -EIO;
    }
    return 0;
}

/* What a read asks for. */
struct read_req {
    const uint8_t *hash;
    uint32_t off, cap; /* bytes [off, off + cap), cut at the chunk's end */
    bool whole;        /* the whole chunk: -ENOBUFS when cap is too small */
    bool check;
};

/* Copies the bytes asked for into buf: their count, or -errno (-EBADMSG: a
 * damaged record). Checks them first, in the map, when asked. */
static int read_chunk(struct chunk_store *cs, const struct read_req *q, uint8_t *buf)
{
    struct reader r;
    struct chunk_record rec = {0};
    int rc = chunk_reader_begin(cs, &r);
    if (rc)
        return rc;
    rc = chunk_record_lookup(cs, r.txn, q->hash, &rec);
    rc = rc == MDB_CORRUPTED ? -EBADMSG : chunk_lmdb_errno(rc);
    if (!rc && q->whole && rec.len > q->cap)
        rc = -ENOBUFS;
    uint32_t from = q->off < rec.len ? q->off : rec.len;
    uint32_t to = rec.len - from < q->cap ? rec.len : from + q->cap;
    if (!rc && from < to) {
        struct span s;
        uint32_t vs = from, ve = to;
        if (q->check)
            check_range(&rec, from, to, &vs, &ve);
        rc = span_map(cs, &r, &rec, vs, ve, &s);
        if (!rc && !cs->os_readahead)
            span_willneed(&s);
        if (!rc && q->check)
            rc = span_check(&s, cs->piece, &rec, q->hash, vs, ve);
        if (!rc)
            span_copy(&s, cs->piece, from, to, buf);
    }
    chunk_reader_end(cs, &r);
    return rc ? rc : (int)(to - from);
}

/* Logs a failed check once, where it is found, and makes it -EIO. */
static int corrupt(struct chunk_store *cs, const uint8_t *hash, int rc)
{
    if (rc != -EIO && rc != -EBADMSG)
        return rc;
    char hex[SHA256_HEX_LEN + 1];
    sha256_hex(hash, hex);
    log_error("chunk %s in %s is corrupt (%s)", hex, cs->path,
              rc == -EBADMSG ? "its record is damaged" : "pieces or bytes do not match its record");
    return -EIO;
}

static int get_whole(struct chunk_store *cs, const uint8_t *hash, uint8_t *buf, size_t cap,
                     uint32_t *len, bool check)
{
    struct read_req q = {hash, 0, cap < CHUNK_MAX ? (uint32_t)cap : CHUNK_MAX, true, check};
    int rc = corrupt(cs, hash, read_chunk(cs, &q, buf));
    if (rc < 0)
        return rc;
    *len = (uint32_t)rc;
    return 0;
}

int chunk_store_get_unverified(struct chunk_store *cs, const uint8_t hash[SHA256_LEN], uint8_t *buf,
                               size_t cap, uint32_t *len)
{
    return get_whole(cs, hash, buf, cap, len, false);
}

int chunk_store_get(struct chunk_store *cs, const uint8_t hash[SHA256_LEN], uint8_t *buf,
                    size_t cap, uint32_t *len)
{
    return get_whole(cs, hash, buf, cap, len, true);
}

int chunk_store_read(struct chunk_store *cs, const uint8_t hash[SHA256_LEN], uint32_t off,
                     void *buf, uint32_t len)
{
    struct read_req q = {hash, off, len, false, true};
    return corrupt(cs, hash, read_chunk(cs, &q, buf));
}

void chunk_store_prefetch(struct chunk_store *cs, const uint8_t hash[SHA256_LEN], uint32_t off,
                          uint32_t len)
{
    struct reader r;
    struct chunk_record rec;
    struct span s;
    if (cs->os_readahead || !len || chunk_reader_begin(cs, &r))
        return;
    if (!chunk_record_lookup(cs, r.txn, hash, &rec) && off < rec.len) {
        uint32_t to = rec.len - off < len ? rec.len : off + len;
        if (!span_map(cs, &r, &rec, off, to, &s))
            span_willneed(&s);
    }
    chunk_reader_end(cs, &r);
}
