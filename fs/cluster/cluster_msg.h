/*
 * cluster_msg.h - the node glue's own messages (frame type FT_CLUSTER on the
 * control channel), docs/wire-format.md "Cluster messages", version 1.
 *
 *   byte 0 version (CLUSTER_MSG_VERSION), byte 1 kind, then per kind (LE):
 *   READ_INDEX_REQ   u64 token
 *   READ_INDEX_RESP  u64 token, u64 commit, u8 ok (1: the sender leads)
 *   REPORT           u64 applied, u64 missing chunks, u64 missing bytes
 *
 * Decoding checks version, kind and exact length: -EPROTO otherwise.
 */
#ifndef QFS_FS_CLUSTER_CLUSTER_MSG_H
#define QFS_FS_CLUSTER_CLUSTER_MSG_H

#include <stddef.h>
#include <stdint.h>

#define CLUSTER_MSG_VERSION 1
#define CLUSTER_MSG_MAX     32

enum cluster_msg_kind { CM_READ_INDEX_REQ = 1, CM_READ_INDEX_RESP = 2, CM_REPORT = 3 };

struct cluster_msg {
    uint8_t kind;
    uint64_t a, b, c; /* REQ: token; RESP: token, commit, ok; REPORT: applied, chunks, bytes */
};

/* Returns the encoded length (<= CLUSTER_MSG_MAX). */
size_t cluster_msg_encode(const struct cluster_msg *m, uint8_t *out);
int cluster_msg_decode(const uint8_t *buf, size_t len, struct cluster_msg *m);

#endif
