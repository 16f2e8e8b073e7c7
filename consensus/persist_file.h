/*
 * persist_file.h - the consensus engine's acceptor state in a file of its own.
 *
 * An append-only log (docs/consensus.md, "Log file format", version 1): a
 * header, then one frame per save, each with its length and CRC32C. A save
 * is one pwrite() and one fdatasync(): half the flushes of an LMDB commit,
 * and no wait for the metadata store's writer lock, which the apply thread
 * holds while it applies.
 *
 * Invariants:
 *  - save() returns 0 only once its frame is durable. A frame is the unit of
 *    atomicity: load() takes every whole frame and stops at the first torn
 *    one (a crash mid-write; its bytes are zeroed at open). Only the last
 *    frame can be torn: a whole frame anywhere after a bad one means damage,
 *    and open fails with -EIO rather than drop the state.
 *  - A failed save leaves no whole frame behind, even in the page cache (its
 *    header is zeroed; if that fails, every later save and load fails).
 *  - The file grows in zero-filled, synced steps (grow_bytes), so a save
 *    overwrites allocated blocks (its fdatasync writes no size change) and a
 *    full disk fails the step, before any frame is written.
 *  - A save that raises log_start (a truncation) first calls
 *    before_truncate: the daemon makes what the dropped slots did to its
 *    store durable there. Only then can they leave the log.
 *  - Dead frames go at compaction: once the frames pass compact_bytes and
 *    COMPACT_RATIO times the live state, a new file holding one frame of the
 *    live state is written, synced and renamed over the old one.
 *  - A missing file is created by rename, holding what `import` loads (the
 *    state of the backend it replaces), so a crash never leaves an empty
 *    log beside a full old one.
 * Not thread-safe: the engine's thread is its only user.
 */
#ifndef QFS_CONSENSUS_PERSIST_FILE_H
#define QFS_CONSENSUS_PERSIST_FILE_H

#include "consensus/persist.h"

#include <stddef.h>

#define PAXOS_FILE_VERSION 1

struct persist_file_options {
    size_t grow_bytes;                 /* 0: 4 MiB */
    size_t compact_bytes;              /* 0: 64 MiB */
    int (*before_truncate)(void *ctx); /* may be NULL; nonzero (-errno) fails the save */
    void *before_truncate_ctx;
    const struct cons_persist_ops *import; /* NULL: a new file starts empty */
    void *import_ctx;
};

struct persist_file;

extern const struct cons_persist_ops persist_file_ops;

/* Opens path, creating it when missing. -EPROTO: not a log file, or another
 * version; -EIO: a damaged header. */
int persist_file_open(const char *path, const struct persist_file_options *o,
                      struct persist_file **out);
void persist_file_close(struct persist_file *p);
/* Bytes of whole frames (for tests and status). */
uint64_t persist_file_bytes(const struct persist_file *p);

#endif
