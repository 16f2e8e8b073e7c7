/*
 * chunk_remote.h - the core's remote-chunk callbacks (core_remote.h) served
 * by this node's replicator: replicate = push and wait for a majority,
 * fetch = one urgent fetch from any peer.
 */
#ifndef QFS_FS_CLUSTER_CHUNK_REMOTE_H
#define QFS_FS_CLUSTER_CHUNK_REMOTE_H

#include "fs/core/core_remote.h"

struct cluster;

void chunk_remote_fill(struct cluster *cl, struct core_remote *r);

#endif
