/*
 * msg.h - encoders and decoders of the payload of each frame type
 * (docs/wire-format.md, version 4). All integers are little-endian.
 *
 * Decoders never allocate and never trust a count: every count and length is
 * checked against the payload length and the type's bound, and a payload must
 * be consumed exactly (trailing bytes are an error). Decoded messages point
 * into the caller's payload buffer, valid as long as that buffer is.
 * Decoders return 0 or -EPROTO.
 */
#ifndef QFS_NET_MSG_H
#define QFS_NET_MSG_H

#include <stddef.h>
#include <stdint.h>

#define MSG_ID_LEN             32 /* node IDs and chunk hashes are SHA-256 */
#define MSG_HELLO_LEN          33
#define MSG_PING_LEN           16
#define MSG_LIST_HDR_LEN       12 /* u64 id + u32 count */
#define MSG_BATCH_MAX_CHUNKS   1024
#define MSG_CHUNK_ENTRY_HDR    36 /* hash + u32 length */
#define MSG_ACK_ENTRY_LEN      33 /* hash + u8 status */
#define MSG_HAVE_MAX           4096
#define MSG_HAVE_PREFIX_LEN    16 /* a have-query names a chunk by its hash's first bytes */
#define MSG_FETCH_MAX          256
#define MSG_FETCH_RESP_HDR_LEN 45 /* u64 id + hash + u8 status + u32 length */

/* Which of a peer pair's three connections a hello opens: control
 * (consensus), bulk (chunks) and fast (read index: small frames that must
 * not wait behind the consensus stream in a socket's queue). */
enum msg_channel { CHAN_CONTROL = 0, CHAN_BULK = 1, CHAN_FAST = 2, CHAN_COUNT_ = 3 };

/* "control", "bulk" or "fast" (for logs); "?" for anything else. */
const char *msg_channel_name(int channel);

/* Per-chunk status in acks and fetch responses. */
enum msg_status { ST_OK = 0, ST_BAD_HASH = 1, ST_NOT_FOUND = 2, ST_STORE_ERROR = 3, ST_MAX_ = 3 };

struct msg_hello {
    const uint8_t *node_id; /* 32 bytes: the sender's own ID */
    uint8_t channel;        /* enum msg_channel */
};

struct msg_ping {
    uint64_t seq;
    uint64_t sent_ns; /* sender's monotonic clock, echoed in the pong */
};

/* A list message: push-ack, have-query, have-answer, fetch-req. */
struct msg_list {
    uint64_t id;
    uint32_t count;
    const uint8_t *items; /* count entries (hashes, ack entries or a bitmap) */
};

struct msg_chunk {
    const uint8_t *hash;
    const uint8_t *data;
    uint32_t len;
};

struct msg_push {
    uint64_t batch_id;
    uint32_t count;
    const uint8_t *entries;
    size_t entries_len;
};

/* Walks a decoded push batch. */
struct msg_push_iter {
    const uint8_t *p;
    const uint8_t *end;
};

struct msg_fetch_resp {
    uint64_t req_id;
    const uint8_t *hash;
    uint8_t status;
    const uint8_t *data;
    uint32_t len;
};

int msg_hello_decode(const uint8_t *p, size_t len, struct msg_hello *m);
size_t msg_hello_encode(uint8_t *out, const uint8_t node_id[MSG_ID_LEN], uint8_t channel);

int msg_ping_decode(const uint8_t *p, size_t len, struct msg_ping *m);
size_t msg_ping_encode(uint8_t *out, uint64_t seq, uint64_t sent_ns);

int msg_push_decode(const uint8_t *p, size_t len, struct msg_push *m);
void msg_push_iter_init(const struct msg_push *m, struct msg_push_iter *it);
/* Returns 1 and fills c while entries remain, then 0. */
int msg_push_next(struct msg_push_iter *it, struct msg_chunk *c);
/* Builds a push batch in out (cap bytes): begin, add per chunk, then finish. */
size_t msg_push_begin(uint8_t *out, uint64_t batch_id);
/* Appends a chunk at out+*pos; -ENOSPC if it does not fit in cap. */
int msg_push_add(uint8_t *out, size_t cap, size_t *pos, const uint8_t *hash, const void *data,
                 uint32_t len);
void msg_push_finish(uint8_t *out, uint32_t count);

int msg_ack_decode(const uint8_t *p, size_t len, struct msg_list *m);
void msg_ack_entry(const struct msg_list *m, uint32_t i, const uint8_t **hash, uint8_t *status);
size_t msg_ack_entry_put(uint8_t *out, size_t pos, const uint8_t *hash, uint8_t status);

/* have-query, fetch-req and push-dropped: a list of up to max hashes. */
int msg_hashes_decode(const uint8_t *p, size_t len, uint32_t max, struct msg_list *m);

/* A have-query: count hash prefixes of MSG_HAVE_PREFIX_LEN bytes. */
int msg_have_query_decode(const uint8_t *p, size_t len, struct msg_list *m);
int msg_have_answer_decode(const uint8_t *p, size_t len, struct msg_list *m);
int msg_have_answer_bit(const struct msg_list *m, uint32_t i);

/* List header shared by every list message; items follow at out+MSG_LIST_HDR_LEN. */
void msg_list_hdr_encode(uint8_t *out, uint64_t id, uint32_t count);

int msg_fetch_resp_decode(const uint8_t *p, size_t len, struct msg_fetch_resp *m);
size_t msg_fetch_resp_hdr_encode(uint8_t *out, uint64_t req_id, const uint8_t *hash, uint8_t status,
                                 uint32_t len);

#endif
