/*
 * cmd_log.h - the single-node daemon's local command log (write-ahead log).
 *
 * The metadata store commits without syncing; a mutation is durable once
 * its commands are in this log: one pwrite() and one fdatasync() per batch.
 * After a crash the store is rolled back to its last checkpoint and every
 * logged command with a higher index is replayed; once the store is
 * checkpointed again the log restarts at its beginning (cmd_log_reset).
 * Format: docs/on-disk-meta.md, "Command log (DATA/meta/cmd.log)".
 *
 * Invariants:
 *  - A frame is the unit of atomicity: it holds one batch of commands with
 *    consecutive indexes, and append returns 0 only once it is durable.
 *  - The log is the run of whole frames from the start of the file in which
 *    each frame's first index is the previous frame's last + 1. The first
 *    frame that is torn (bad CRC, impossible length, zero header) or out of
 *    sequence ends it: whatever lies after (a torn frame, frames from before
 *    a reset, a voided frame's remains) is never replayed.
 *  - Indexes only grow across resets (a voided frame's are the only ones
 *    used again), so a frame from before a reset always ends the log.
 *  - The CRC is seeded with a random salt kept in the file header: bytes
 *    that look like a frame inside a command (an xattr value, a name) never
 *    validate when a shorter frame is written over the start of the frame
 *    holding them, as whoever wrote those bytes cannot know the salt.
 *  - The file grows in zero-filled, synced steps, so an append overwrites
 *    allocated blocks (its fdatasync writes no size change) and a full disk
 *    fails the step, with -ENOSPC, before any frame byte is written.
 *  - A failed append or void leaves no whole frame behind, even in the page
 *    cache: its header is zeroed and synced. If that fails too the log is
 *    failed: every later call returns -EIO (reopen to go on).
 * Not thread-safe: the daemon's apply thread is its only user.
 */
#ifndef QFS_FS_CORE_CMD_LOG_H
#define QFS_FS_CORE_CMD_LOG_H

#include "fs/core/cmd.h"

#include <stdint.h>

#define CMD_LOG_VERSION 1

struct cmd_log;

/* Opens path, creating it (header + zero-filled, synced space of 1 MiB)
 * when missing; a new file appears by rename, whole or not at all. The next
 * append goes after the last frame of the log. -EPROTO: not a command log,
 * or another version. -EIO: a frame whose CRC holds is malformed (written
 * wrong, not torn: dropping it and what follows would lose commands). */
int cmd_log_open(const char *path, struct cmd_log **out);
void cmd_log_close(struct cmd_log *l);

/* Appends one frame holding the n commands (n >= 1) numbered
 * first..first+n-1; returns 0 only once the frame is durable (pwrite +
 * fdatasync). The file grows in zero-filled, synced steps (at least 1 MiB,
 * or the frame's size) when the frame does not fit. -EINVAL: n < 1, first
 * is 0, or a frame precedes it (since the open or the last reset) and first
 * is not its last index + 1: such a frame would never be replayed. -EFBIG:
 * the frame would exceed CMD_LOG_FRAME_MAX. -ENOSPC: the growth step found
 * the disk full; nothing was written and the log goes on. */
#define CMD_LOG_FRAME_MAX (1u << 30)
int cmd_log_append(struct cmd_log *l, uint64_t first, const struct cmd *const *cmds, int n);

/* Voids the frame the last append wrote (its batch could not be applied, so
 * it must never be replayed): zeroes the frame's header, syncs, and the next
 * append goes where it was (with the same first index). -EINVAL: the last
 * append failed, or none since the open, the last reset or void. If the write or sync fails the log
 * is failed: every later call returns -EIO. */
int cmd_log_void_last(struct cmd_log *l);

/* Calls fn for every frame of the log, in order, whose commands go past
 * index `after` (a frame is passed whole: fn skips the commands <= after
 * itself, from first). The commands are decoded for fn and released once it
 * returns. Returns -EIO when frames exist but the first one starts past
 * after + 1 (commands are missing: a gap); cmd_decode's error when a frame
 * whose CRC holds does not decode; fn's value when it returns nonzero,
 * which stops the replay. */
typedef int (*cmd_log_replay_fn)(void *ctx, uint64_t first, struct cmd *cmds, int n);
int cmd_log_replay(struct cmd_log *l, uint64_t after, cmd_log_replay_fn fn, void *ctx);

/* First index of the log's first frame, 0 when it has none: of two logs, the
 * one that starts lower is replayed first. */
uint64_t cmd_log_first(struct cmd_log *l);

/* Everything logged so far is durable elsewhere (the store was
 * checkpointed): the next frame is written at the start of the log, with
 * any first index higher than those logged. No sync needed: a stale frame
 * is told apart by its index. */
void cmd_log_reset(struct cmd_log *l);

/* Bytes of frames written since the last reset (or in the log at open): the
 * caller checkpoints when this grows. */
uint64_t cmd_log_bytes(const struct cmd_log *l);

#endif
