#include "net/frame.h"
#include "net/msg.h"

#include "common/bytes.h"

#include <errno.h>

static const char *const type_names[FT_MAX_ + 1] = {
    [FT_HELLO] = "hello",
    [FT_PING] = "ping",
    [FT_PONG] = "pong",
    [FT_CONSENSUS] = "consensus",
    [FT_PUSH_BATCH] = "push-batch",
    [FT_PUSH_ACK] = "push-ack",
    [FT_HAVE_QUERY] = "have-query",
    [FT_HAVE_ANSWER] = "have-answer",
    [FT_FETCH_REQ] = "fetch-req",
    [FT_FETCH_RESP] = "fetch-resp",
    [FT_CLUSTER] = "cluster",
    [FT_SNAP_REQ] = "snap-req",
    [FT_SNAP_DATA] = "snap-data",
    [FT_PUSH_DROPPED] = "push-dropped",
};

const char *frame_type_name(unsigned type)
{
    if (type == 0 || type > FT_MAX_)
        return "unknown";
    return type_names[type];
}

uint32_t frame_max_payload(unsigned type)
{
    switch (type) {
    case FT_HELLO:
        return MSG_HELLO_LEN;
    case FT_PING:
    case FT_PONG:
        return MSG_PING_LEN;
    case FT_CONSENSUS:
        return NET_CONSENSUS_MAX;
    case FT_PUSH_BATCH:
        return FRAME_PAYLOAD_MAX;
    case FT_PUSH_ACK:
        return MSG_LIST_HDR_LEN + MSG_BATCH_MAX_CHUNKS * MSG_ACK_ENTRY_LEN;
    case FT_HAVE_QUERY:
        return MSG_LIST_HDR_LEN + MSG_HAVE_MAX * MSG_HAVE_PREFIX_LEN;
    case FT_HAVE_ANSWER:
        return MSG_LIST_HDR_LEN + MSG_HAVE_MAX / 8;
    case FT_FETCH_REQ:
        return MSG_LIST_HDR_LEN + MSG_FETCH_MAX * 32;
    case FT_FETCH_RESP:
        return MSG_FETCH_RESP_HDR_LEN + NET_CHUNK_MAX;
    case FT_CLUSTER:
        return NET_CLUSTER_MAX;
    case FT_SNAP_REQ:
        return NET_SNAP_REQ_MAX;
    case FT_SNAP_DATA:
        return NET_SNAP_DATA_MAX;
    case FT_PUSH_DROPPED:
        return MSG_LIST_HDR_LEN + MSG_BATCH_MAX_CHUNKS * 32;
    default:
        return 0;
    }
}

int frame_decode_header(const uint8_t *buf, size_t len, struct frame_hdr *hdr)
{
    if (len < FRAME_HDR_LEN)
        return -EAGAIN;
    if (get_u32(buf) != FRAME_MAGIC)
        return -EPROTO;
    if (buf[4] != FRAME_VERSION)
        return -EPROTONOSUPPORT;
    hdr->version = buf[4];
    hdr->type = buf[5];
    hdr->flags = get_u16(buf + 6);
    hdr->len = get_u32(buf + 8);
    uint32_t max = frame_max_payload(hdr->type);
    if (max == 0 || (hdr->flags & ~FRAME_F_KNOWN))
        return -EPROTO;
    if (hdr->len > max)
        return -EMSGSIZE;
    return 0;
}

void frame_encode_header(uint8_t *out, unsigned type, uint16_t flags, uint32_t len)
{
    put_u32(out, FRAME_MAGIC);
    out[4] = FRAME_VERSION;
    out[5] = (uint8_t)type;
    put_u16(out + 6, flags);
    put_u32(out + 8, len);
}
