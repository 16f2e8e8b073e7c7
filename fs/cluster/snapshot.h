/*
 * snapshot.h - brings a node whose log is too far behind up to date from a
 * peer's snapshot of the metadata (docs/ARCHITECTURE.md "Catch-up").
 *
 * When a peer has truncated log slots this node still needs, the engine
 * names that peer (need_snapshot); this node asks it for a snapshot on the
 * bulk channel (FT_SNAP_REQ). The peer makes a compacted copy of its whole
 * metadata environment (mdb_env_copyfd2, one consistent read transaction)
 * in an unlinked temp file of its data directory and streams it in pieces
 * (FT_SNAP_DATA, snapshot_msg.h); the requester writes them to
 * DATA/snapshot.recv and installs the file logically on the apply thread:
 * one write transaction replaces every filesystem DB of the live
 * environment (never the Paxos state, which is this node's own), readers
 * see the old tree until it commits, the engine is told the new index, and
 * the kernel's caches of what differs are invalidated. Chunks the new
 * state references and this node lacks are then pulled by a chunk sync
 * rescan (or fetched by a read that needs one first).
 *
 * Invariants: one transfer at a time per node, served or fetched, on the
 * module's own thread (the network thread only copies a piece into a
 * one-piece buffer, pausing the connection while it is full); a dropped
 * connection, a refusal or 10 s without a piece ends the transfer, and the
 * engine asks again later. A snapshot not ahead of this node's applied
 * index is never installed.
 */
#ifndef QFS_FS_CLUSTER_SNAPSHOT_H
#define QFS_FS_CLUSTER_SNAPSHOT_H

#include <stdbool.h>
#include <stdint.h>

struct cluster;
struct snapshot;

/* Starts the module's thread (after the transport, before the engine). */
int snapshot_start(struct cluster *cl, struct snapshot **out);
/* Ends the transfer in progress and the thread (while the transport and the
 * apply thread still run); frames and requests are then ignored. */
void snapshot_stop(struct snapshot *s);
/* Frees it (after the transport and the engine stopped calling in). */
void snapshot_free(struct snapshot *s);

/* Paxos thread: member truncated its log below log_start, which this node
 * needs. Starts a fetch unless one is under way. Never blocks. */
void snapshot_need(struct snapshot *s, uint32_t member, uint64_t log_start);

/* Network thread: an FT_SNAP_REQ or FT_SNAP_DATA frame. 0, -EAGAIN (the
 * piece buffer is full: the connection is paused until it drains) or
 * -EPROTO (malformed: closes the connection). */
int snapshot_on_frame(struct snapshot *s, int peer, unsigned type, const uint8_t *p, uint32_t len);
/* Network thread: a channel came up or went down. */
void snapshot_on_peer(struct snapshot *s, int peer, int chan, bool up);

/* Snapshot thread: installs the snapshot file at path (snapshot_install.c). */
int snapshot_install(struct cluster *cl, const char *path, bool (*cancelled)(void *), void *arg);

#endif
