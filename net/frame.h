/*
 * frame.h - the peer wire protocol's frame header (docs/wire-format.md, version 4).
 *
 * Every message between nodes is one frame: a 12-byte little-endian header
 * (magic, version, type, flags, payload length) followed by the payload.
 * frame_decode_header() bounds the length by the frame's type before anyone
 * allocates for the payload; an unknown magic, version, type or flag is an
 * error and the caller closes the connection.
 */
#ifndef QFS_NET_FRAME_H
#define QFS_NET_FRAME_H

#include <stddef.h>
#include <stdint.h>

/* FRAME_VERSION 2: have-queries carry hash prefixes; 3: the fast channel;
 * 4: push-dropped notices. */
#define FRAME_MAGIC       0x4e534651u /* "QFSN" on the wire */
#define FRAME_VERSION     4
#define FRAME_VERSION_STR "4"
#define FRAME_HDR_LEN     12

/* Flags: bit 0 asks the peer to serve this frame ahead of background work. */
#define FRAME_F_URGENT 0x0001u
#define FRAME_F_KNOWN  FRAME_F_URGENT

/* Largest chunk the transport carries (the chunker's maximum is 256 KiB). */
#define NET_CHUNK_MAX (256u * 1024)
/* Largest opaque consensus payload (command batches, snapshot pieces). */
#define NET_CONSENSUS_MAX (4u * 1024 * 1024)
/* Largest node-glue message (fs/cluster/cluster_msg.h). */
#define NET_CLUSTER_MAX 256u
/* Snapshot transfer (fs/cluster/snapshot_msg.h): a request, and pieces of a
 * metadata snapshot of at most 1 MiB each behind a 30-byte header. */
#define NET_SNAP_REQ_MAX  32u
#define NET_SNAP_DATA_MAX (64u + 1024 * 1024)
/* Largest payload of any frame: a push batch of chunk data plus its index. */
#define FRAME_PAYLOAD_MAX (4u * 1024 * 1024 + 64u * 1024)

enum frame_type {
    FT_HELLO = 1,
    FT_PING = 2,
    FT_PONG = 3,
    FT_CONSENSUS = 4,
    FT_PUSH_BATCH = 5,
    FT_PUSH_ACK = 6,
    FT_HAVE_QUERY = 7,
    FT_HAVE_ANSWER = 8,
    FT_FETCH_REQ = 9,
    FT_FETCH_RESP = 10,
    FT_CLUSTER = 11,      /* node glue: read index, status reports (fs/cluster/cluster_msg.h) */
    FT_SNAP_REQ = 12,     /* bulk: send me a metadata snapshot (fs/cluster/snapshot_msg.h) */
    FT_SNAP_DATA = 13,    /* bulk: one piece of it, or why not */
    FT_PUSH_DROPPED = 14, /* bulk: chunks the sender gave up pushing to this peer */
    FT_MAX_ = 14,
};

struct frame_hdr {
    uint8_t version;
    uint8_t type;
    uint16_t flags;
    uint32_t len; /* payload bytes following the header */
};

/* The name of a frame type for logs ("unknown" if not a valid type). */
const char *frame_type_name(unsigned type);

/* Largest payload allowed for type, or 0 if type is unknown. */
uint32_t frame_max_payload(unsigned type);

/*
 * Decodes the header at buf. Returns 0, -EAGAIN if fewer than FRAME_HDR_LEN
 * bytes are available, -EPROTONOSUPPORT for another FRAME_VERSION (no
 * negotiation: every node runs the same release), -EPROTO for a bad magic,
 * type or flags, and -EMSGSIZE for a length above the type's bound.
 */
int frame_decode_header(const uint8_t *buf, size_t len, struct frame_hdr *hdr);

/* Writes a FRAME_VERSION header for a payload of len bytes into out[FRAME_HDR_LEN]. */
void frame_encode_header(uint8_t *out, unsigned type, uint16_t flags, uint32_t len);

#endif
