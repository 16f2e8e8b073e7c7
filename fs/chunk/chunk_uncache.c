/*
 * chunk_uncache.c - a bulk put's pages leave the page cache once durable
 * (a peer's chunks), or once nothing will read them back soon (a writer's
 * own, after every peer has them: its push reads them from the store).
 *
 * Why: such bytes are rarely read soon (a writer's file is cached by the
 * kernel above the store), and kept in the page cache they only grow it
 * by every byte stored, pushing out the pages that are read (the
 * trees'). On a VM every page the cache grows into may first
 * have to be faulted in by the host: on this project's 2-core VM
 * (docs/ARCHITECTURE.md, "The page cache"), writing 1 GiB into a file
 * once some 5 GiB were cached took 3.3 s (2.7 s of it in the kernel),
 * against 1.0 s when each 16 MiB was dropped after its fdatasync.
 *
 * What is dropped: the pages between the pieces of the batch, gaps of up
 * to GAP_MAX included. The kernel drops only whole folios, and on ext4
 * (Linux 6.16 on) a write's folios are large and span the tree pages that
 * LMDB allocates between overflow runs: dropping the runs alone left half
 * of them cached. The tree pages dropped with them were written by the
 * same commit; a later lookup reads such a page back, one page, as the map
 * is MDB_NORDAHEAD (chunk_store.h, os_readahead). Everything dropped is
 * clean (the put's commit synced it), and unmapped first, so the kernel
 * drops it at once; the map is read-only, so a reader simply faults again.
 */
#include "fs/chunk/chunk_store_int.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define RUNS_MAX 1024
#define GAP_MAX  (2u << 20) /* the largest folio the page cache makes (PMD) */

struct run {
    uint64_t off, end; /* bytes of the store file */
};

/* The overflow runs seen so far; base is where the file's page 0 would be
 * mapped, limit the end of its used pages. */
struct runs {
    int fd;
    const uint8_t *base;
    uint64_t limit, psize;
    size_t n;
    struct run r[RUNS_MAX];
};

static void drop(const struct runs *rs, const struct run *r)
{
    (void)madvise((void *)(rs->base + r->off), r->end - r->off, MADV_DONTNEED);
    (void)posix_fadvise(rs->fd, (off_t)r->off, (off_t)(r->end - r->off), POSIX_FADV_DONTNEED);
}

static int run_cmp(const void *a, const void *b)
{
    const struct run *x = a, *y = b;
    return x->off < y->off ? -1 : x->off > y->off;
}

/* Drops the runs, those less than GAP_MAX apart as one. */
static void runs_flush(struct runs *rs)
{
    if (!rs->n)
        return;
    qsort(rs->r, rs->n, sizeof(rs->r[0]), run_cmp);
    struct run cur = rs->r[0];
    for (size_t i = 1; i < rs->n; i++) {
        if (rs->r[i].off <= cur.end + GAP_MAX) {
            cur.end = rs->r[i].end > cur.end ? rs->r[i].end : cur.end;
            continue;
        }
        drop(rs, &cur);
        cur = rs->r[i];
    }
    drop(rs, &cur);
    rs->n = 0;
}

/*
 * LMDB does not say where it maps the file (mdb_env_info gives an address
 * only for MDB_FIXEDMAP), but every page it writes starts with its own
 * number: the overflow page holding v tells where page 0 is. Read once per
 * call, from the first value.
 */
static bool runs_base(struct runs *rs, const MDB_val *v)
{
    const uint8_t *hdr = (const uint8_t *)v->mv_data - CHUNK_LMDB_PAGEHDR;
    uint64_t pgno;
    memcpy(&pgno, hdr, sizeof(pgno));
    if (pgno == 0 || pgno * rs->psize >= rs->limit)
        return false;
    rs->base = hdr - pgno * rs->psize;
    return true;
}

/* Adds the overflow run holding value v; false when v is not where the
 * base says the file is (then nothing more is added). */
static bool runs_add(struct runs *rs, const MDB_val *v)
{
    if (!rs->base && !runs_base(rs, v))
        return false;
    const uint8_t *p = v->mv_data;
    if (p < rs->base || (uint64_t)(p - rs->base) + v->mv_size > rs->limit)
        return false;
    uint64_t at = (uint64_t)(p - rs->base);
    if (rs->n == RUNS_MAX)
        runs_flush(rs);
    rs->r[rs->n++] = (struct run){at / rs->psize * rs->psize,
                                  (at + v->mv_size + rs->psize - 1) / rs->psize * rs->psize};
    return true;
}

/* Starts a walk: a read txn, and where the file's pages are. */
static struct runs *walk_begin(struct chunk_store *cs, struct reader *rd)
{
    MDB_envinfo info;
    MDB_stat st;
    struct runs *rs = calloc(1, sizeof(*rs));
    if (!rs || chunk_reader_begin(cs, rd)) {
        free(rs);
        return NULL;
    }
    if (mdb_env_info(cs->env, &info) || mdb_env_stat(cs->env, &st) ||
        mdb_env_get_fd(cs->env, &rs->fd)) {
        chunk_reader_end(cs, rd);
        free(rs);
        return NULL;
    }
    rs->psize = st.ms_psize;
    rs->limit = ((uint64_t)info.me_last_pgno + 1) * st.ms_psize;
    return rs;
}

static void walk_end(struct chunk_store *cs, struct reader *rd, struct runs *rs)
{
    runs_flush(rs);
    chunk_reader_end(cs, rd);
    free(rs);
}

/* Adds the pieces of the chunks with ids in [first, end); false once a
 * piece is not where the base says the file is. */
static bool add_pieces(struct runs *rs, struct reader *rd, uint64_t first, uint64_t end)
{
    uint8_t key[CHUNK_PIECE_KEY_LEN];
    chunk_piece_key(key, first, 0);
    MDB_val k = {sizeof(key), key}, v;
    for (int rc = mdb_cursor_get(rd->cur, &k, &v, MDB_SET_RANGE); !rc;
         rc = mdb_cursor_get(rd->cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != CHUNK_PIECE_KEY_LEN || chunk_piece_key_id(k.mv_data) >= end)
            break;
        if (v.mv_size >= rs->psize && !runs_add(rs, &v))
            return false;
    }
    return true;
}

void chunk_uncache(struct chunk_store *cs, uint64_t first, uint64_t end)
{
    struct reader rd;
    struct runs *rs = first < end ? walk_begin(cs, &rd) : NULL;
    if (!rs)
        return;
    add_pieces(rs, &rd, first, end);
    walk_end(cs, &rd, rs);
}

void chunk_store_uncache(struct chunk_store *cs, const uint8_t (*hashes)[SHA256_LEN], size_t n)
{
    struct reader rd;
    struct chunk_record rec;
    struct runs *rs = n ? walk_begin(cs, &rd) : NULL;
    if (!rs)
        return;
    uint64_t bytes = 0;
    for (size_t i = 0; i < n && bytes < CHUNK_UNCACHE_MIN; i++)
        if (!chunk_record_lookup(cs, rd.txn, hashes[i], &rec))
            bytes += rec.len;
    for (size_t i = 0; i < n && bytes >= CHUNK_UNCACHE_MIN; i++)
        if (!chunk_record_lookup(cs, rd.txn, hashes[i], &rec) &&
            !add_pieces(rs, &rd, rec.id, rec.id + 1))
            break;
    walk_end(cs, &rd, rs);
}
