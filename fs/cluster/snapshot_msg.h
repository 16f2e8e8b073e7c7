/*
 * snapshot_msg.h - payloads of the snapshot transfer frames (FT_SNAP_REQ,
 * FT_SNAP_DATA, bulk channel), docs/wire-format.md "Snapshot transfer",
 * version 1. Little-endian:
 *
 *   SNAP_REQ   u8 version · u64 transfer id · u64 requester's applied index
 *   SNAP_DATA  u8 version · u8 status · u64 transfer id · u64 offset ·
 *              u64 total · u32 length · length bytes
 *
 * A transfer is one compacted LMDB file of `total` bytes, sent in order in
 * pieces of 1..SNAP_PIECE_MAX bytes. A status other than OK ends the
 * transfer and carries no bytes (offset = total = length = 0).
 * Decoding checks the version, the status, exact lengths and that a piece
 * lies inside the file: -EPROTO otherwise.
 */
#ifndef QFS_FS_CLUSTER_SNAPSHOT_MSG_H
#define QFS_FS_CLUSTER_SNAPSHOT_MSG_H

#include <stddef.h>
#include <stdint.h>

#define SNAP_MSG_VERSION  1
#define SNAP_REQ_LEN      17
#define SNAP_DATA_HDR_LEN 30
#define SNAP_PIECE_MAX    (1024u * 1024)
#define SNAP_TOTAL_MAX    ((uint64_t)1 << 40) /* the metadata map's largest size */

enum snap_status {
    SNAP_OK = 0,
    SNAP_BUSY = 1,      /* the peer is in another transfer: ask again later */
    SNAP_FAILED = 2,    /* the peer could not make or read its copy */
    SNAP_NOT_AHEAD = 3, /* the peer has applied no more than the requester */
    SNAP_STATUS_MAX_ = 3,
};

struct snap_req {
    uint64_t xfer;
    uint64_t applied;
};

struct snap_data {
    uint8_t status;
    uint64_t xfer, offset, total;
    uint32_t len;
    const uint8_t *piece; /* points into the decoded payload */
};

/* out has SNAP_REQ_LEN bytes; returns SNAP_REQ_LEN. */
size_t snap_req_encode(const struct snap_req *m, uint8_t *out);
int snap_req_decode(const uint8_t *p, size_t len, struct snap_req *m);

/* Writes the header into out[SNAP_DATA_HDR_LEN]; the piece follows it. */
void snap_data_hdr_encode(const struct snap_data *m, uint8_t *out);
int snap_data_decode(const uint8_t *p, size_t len, struct snap_data *m);

#endif
