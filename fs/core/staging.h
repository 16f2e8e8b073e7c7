/*
 * staging.h - per-inode staging of written bytes until they are committed.
 *
 * Each open inode has one struct sfile (counted opens + temporary refs).
 * Written bytes live in STG_PAGE-sized pages from a shared pool; an sfile
 * indexes them by STG_BLOCK-sized blocks (an array of block pointers sorted
 * by file offset, each with the pages of its block that hold staged bytes).
 * A page holds one contiguous staged range [lo, hi) (a write that would
 * leave a gap inside a page first fills the gap with the committed bytes,
 * through the caller's fill function). Staged bytes are what this node
 * reads until they are committed and the pages cleared.
 *
 * Why pages: the staging bound counts pages, so random 4 KiB writes stage
 * 4 KiB each, not a block each, and a commit (which re-cuts every chunk
 * the staged bytes touch) comes 16 times less often and covers more
 * writes per chunk; gap fills on the write path stay within one page.
 *
 * A frozen set (sf->frozen) is an sfile of its own, not in the table: the
 * pages a writer past half the bound handed to the background committer
 * (committer.h), read-only and overlaid under sf's own until collected.
 *
 * Conflict detection: an sfile remembers the content version its staged
 * bytes started from (taken when staging starts, i.e. at the first write
 * into an empty sfile, before any committed byte is read into a page), and
 * where this node last saw the file (a name hint). A content commit carries
 * both; apply makes a conflict copy when another node committed meanwhile.
 * Name hints come from a bounded table (one slot per ino % STG_HINTS, the
 * newest wins) filled by lookups, creates, links and renames.
 *
 * Locking: stg->lock guards the table, refs and opens, and staged_bytes;
 * sf->lock (rwlock) guards an sfile's blocks, flags, base and hint: writers
 * and committers hold it for writing, readers for reading. stg->hint_lock
 * guards the hint table.
 */
#ifndef QFS_FS_CORE_STAGING_H
#define QFS_FS_CORE_STAGING_H

#include "fs/core/page_pool.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define STG_PAGE     4096u
#define STG_BLOCK    (64u * 1024)
#define STG_PAGES    (STG_BLOCK / STG_PAGE)
#define STG_BUCKETS  1024
#define STG_HINTS    1024
#define STG_NAME_MAX 255

/* Free pages the pool keeps resident once writes stop for STG_POOL_IDLE_MS:
 * 1/64 of the bound, at most this many bytes (page_pool.h). */
#define STG_POOL_FLOOR_MAX (16u << 20)
#define STG_POOL_IDLE_MS   10000

struct cmd;

struct stg_hint {
    uint64_t ino, parent;
    uint32_t len;
    char name[STG_NAME_MAX];
};

struct sblock {
    uint64_t idx;                          /* file offset / STG_BLOCK */
    uint16_t lo[STG_PAGES], hi[STG_PAGES]; /* staged bytes within each page */
    uint8_t *page[STG_PAGES];              /* NULL: nothing staged there */
};

/* A position in an sfile's staged pages, for staging_next_region. */
struct stg_cursor {
    size_t block;
    unsigned page;
};

struct sfile {
    uint64_t ino;
    uint32_t opens, refs; /* under stg->lock */
    pthread_rwlock_t lock;
    struct sblock **blocks; /* sorted by idx; under lock */
    size_t n, cap;          /* n == 0: nothing staged */
    size_t pages;           /* pages holding staged bytes; under lock */
    uint64_t staged_end;    /* end of the last staged byte, 0 if none */
    bool kill_suid;         /* a non-root writer staged bytes */
    bool atime_due;         /* a read wants an atime update at flush (atomic) */
    bool base_valid;        /* base_ver was taken (staging started) */
    uint64_t base_ver;      /* content version the staged bytes started from */
    struct stg_hint hint;   /* where this node last saw the file (ino 0: none) */
    uint64_t erofs_at_ms;   /* under lock: last commit refused for want of a
                               quorum (CLOCK_MONOTONIC ms), 0 after a success */
    /* When the last staged byte was written (CLOCK_REALTIME; tv_sec 0:
     * none), under lock. POSIX dates mtime and ctime from the write, and
     * so do we: getattr shows it until the commit, and the commit gives the
     * file that time, so what the kernel cached after the write stays true
     * (a commit dated later left it a stale mtime for its attribute
     * timeout, an hour). */
    struct timespec written;
    /* Under lock: staged bytes detached for a background commit
     * (committer.h), NULL if none. Read-only while attached; readers overlay
     * them under sf's own pages. sf's own pages build on them: sf keeps
     * base_valid, and takes the set's version once it is committed. */
    struct sfile *frozen;
    bool bg_done;          /* in a frozen set: its commit finished (committer's lock) */
    int bg_rc;             /* ... with this result */
    struct sfile *bg_next; /* committer queue */
    struct sfile *next;    /* hash chain, under stg->lock */
};

struct staging {
    pthread_mutex_t lock;
    struct sfile *table[STG_BUCKETS];
    size_t staged_bytes; /* pages and block indexes lent out, in bytes */
    size_t limit;
    struct page_pool pool;
    pthread_mutex_t hint_lock;
    struct stg_hint *hints; /* STG_HINTS slots, under hint_lock */
};

int staging_init(struct staging *stg, size_t limit);
void staging_destroy(struct staging *stg);

/* A reference to ino's sfile (created when create is set), or NULL. */
struct sfile *staging_ref(struct staging *stg, uint64_t ino, bool create);
void staging_unref(struct staging *stg, struct sfile *sf);
/* Open counting; staging_close returns the opens left. */
struct sfile *staging_open(struct staging *stg, uint64_t ino);
uint32_t staging_close(struct staging *stg, struct sfile *sf);
/* Is ino open on this node? */
bool staging_is_open(struct staging *stg, uint64_t ino);

/* Fills [off, off+len) of the file with its committed bytes. */
typedef int (*stg_fill_fn)(void *ctx, uint64_t off, uint8_t *dst, size_t len);
/* Stages a write (sf->lock held for writing). */
int staging_write(struct staging *stg, struct sfile *sf, uint64_t off, const uint8_t *buf,
                  size_t len, stg_fill_fn fill, void *ctx);
/* Copies staged bytes over buf = file[off, off+len) (lock held). */
void staging_overlay(const struct sfile *sf, uint64_t off, uint8_t *buf, size_t len);
/* Staged run at pos: pointer and length until the run ends, or 0 if pos is
 * not staged (then *next_start = the first staged byte after pos, or
 * UINT64_MAX). */
size_t staging_at(const struct sfile *sf, uint64_t pos, const uint8_t **p, uint64_t *next_start);
/* The next run of contiguous staged bytes [*start, *end) at or after cur
 * (which it advances past the run); false when there is none. */
bool staging_next_region(const struct sfile *sf, struct stg_cursor *cur, uint64_t *start,
                         uint64_t *end);
/* Drops every staged block (after a commit); the next write starts anew. */
void staging_clear(struct staging *stg, struct sfile *sf);
bool staging_over_limit(struct staging *stg);
/* sf holds at least bytes of staged pages, and they fill at least three
 * quarters of the blocks they are in: written mostly in sequence, so a
 * commit of them re-cuts little that is not new (sf->lock held). */
bool staging_dense(const struct sfile *sf, size_t bytes);
/* More than bytes staged on this node (pages and indexes, frozen included). */
bool staging_over(struct staging *stg, size_t bytes);
/* Moves sf's staged bytes into a new frozen set, sf->frozen, which must be
 * NULL (sf->lock held for writing). NULL when out of memory. */
struct sfile *staging_detach(struct sfile *sf);
/* Frees sf's frozen set, whose bytes are committed (sf->lock held for
 * writing). */
void staging_drop_frozen(struct staging *stg, struct sfile *sf);
/* The end of sf's last staged byte, its frozen set's included. */
uint64_t staging_end(const struct sfile *sf);
/* The later written time of sf's own bytes and its frozen set's (tv_sec 0:
 * nothing staged); lock held. */
struct timespec staging_written(const struct sfile *sf);
/* staging_overlay of sf's frozen set, then of its own pages (lock held). */
void staging_overlay_all(const struct sfile *sf, uint64_t off, uint8_t *buf, size_t len);

/* This node saw ino as parent/name (a regular file). */
void staging_hint_set(struct staging *stg, uint64_t ino, uint64_t parent, const char *name,
                      size_t len);
/* Copies the table's hint for sf->ino into sf (at open: a long-open file
 * keeps it even if the table's slot is reused); skipped while a writer or
 * committer holds sf->lock, which then loads it itself. */
void staging_keep_hint(struct staging *stg, struct sfile *sf);
/* Staging of sf starts from content version ver (sf->lock held for writing);
 * also picks up sf's name hint. */
void staging_base(struct staging *stg, struct sfile *sf, uint64_t ver);
/* Sets a content command's base version and name hint from sf (sf->lock
 * held for writing; the hint name points into sf). */
void staging_fill_cmd(struct staging *stg, struct sfile *sf, struct cmd *cmd);

#endif
