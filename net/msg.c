#include "net/msg.h"
#include "net/frame.h"

#include "common/bytes.h"

#include <errno.h>
#include <string.h>

const char *msg_channel_name(int channel)
{
    static const char *const names[CHAN_COUNT_] = {"control", "bulk", "fast"};
    return channel >= 0 && channel < CHAN_COUNT_ ? names[channel] : "?";
}

int msg_hello_decode(const uint8_t *p, size_t len, struct msg_hello *m)
{
    if (len != MSG_HELLO_LEN || p[32] >= CHAN_COUNT_)
        return -EPROTO;
    m->node_id = p;
    m->channel = p[32];
    return 0;
}

size_t msg_hello_encode(uint8_t *out, const uint8_t node_id[MSG_ID_LEN], uint8_t channel)
{
    memcpy(out, node_id, MSG_ID_LEN);
    out[32] = channel;
    return MSG_HELLO_LEN;
}

int msg_ping_decode(const uint8_t *p, size_t len, struct msg_ping *m)
{
    if (len != MSG_PING_LEN)
        return -EPROTO;
    m->seq = get_u64(p);
    m->sent_ns = get_u64(p + 8);
    return 0;
}

size_t msg_ping_encode(uint8_t *out, uint64_t seq, uint64_t sent_ns)
{
    put_u64(out, seq);
    put_u64(out + 8, sent_ns);
    return MSG_PING_LEN;
}

/* Reads the list header and checks the count against max; items start after it. */
static int list_hdr_decode(const uint8_t *p, size_t len, uint32_t max, struct msg_list *m)
{
    if (len < MSG_LIST_HDR_LEN)
        return -EPROTO;
    m->id = get_u64(p);
    m->count = get_u32(p + 8);
    m->items = p + MSG_LIST_HDR_LEN;
    if (m->count > max)
        return -EPROTO;
    return 0;
}

void msg_list_hdr_encode(uint8_t *out, uint64_t id, uint32_t count)
{
    put_u64(out, id);
    put_u32(out + 8, count);
}

int msg_push_decode(const uint8_t *p, size_t len, struct msg_push *m)
{
    struct msg_list l;
    if (list_hdr_decode(p, len, MSG_BATCH_MAX_CHUNKS, &l) < 0)
        return -EPROTO;
    m->batch_id = l.id;
    m->count = l.count;
    m->entries = l.items;
    m->entries_len = len - MSG_LIST_HDR_LEN;
    /* Walk once so that iteration afterwards cannot run off the end. */
    size_t pos = 0;
    for (uint32_t i = 0; i < l.count; i++) {
        if (m->entries_len - pos < MSG_CHUNK_ENTRY_HDR)
            return -EPROTO;
        uint32_t clen = get_u32(m->entries + pos + 32);
        pos += MSG_CHUNK_ENTRY_HDR;
        if (clen > NET_CHUNK_MAX || clen > m->entries_len - pos)
            return -EPROTO;
        pos += clen;
    }
    return pos == m->entries_len ? 0 : -EPROTO;
}

void msg_push_iter_init(const struct msg_push *m, struct msg_push_iter *it)
{
    it->p = m->entries;
    it->end = m->entries + m->entries_len;
}

int msg_push_next(struct msg_push_iter *it, struct msg_chunk *c)
{
    if (it->end - it->p < MSG_CHUNK_ENTRY_HDR)
        return 0;
    c->hash = it->p;
    c->len = get_u32(it->p + 32);
    c->data = it->p + MSG_CHUNK_ENTRY_HDR;
    it->p += MSG_CHUNK_ENTRY_HDR + c->len;
    return 1;
}

size_t msg_push_begin(uint8_t *out, uint64_t batch_id)
{
    msg_list_hdr_encode(out, batch_id, 0);
    return MSG_LIST_HDR_LEN;
}

int msg_push_add(uint8_t *out, size_t cap, size_t *pos, const uint8_t *hash, const void *data,
                 uint32_t len)
{
    if (len > NET_CHUNK_MAX || cap < *pos || cap - *pos < MSG_CHUNK_ENTRY_HDR + (size_t)len)
        return -ENOSPC;
    memcpy(out + *pos, hash, 32);
    put_u32(out + *pos + 32, len);
    memcpy(out + *pos + MSG_CHUNK_ENTRY_HDR, data, len);
    *pos += MSG_CHUNK_ENTRY_HDR + (size_t)len;
    return 0;
}

void msg_push_finish(uint8_t *out, uint32_t count)
{
    put_u32(out + 8, count);
}

int msg_ack_decode(const uint8_t *p, size_t len, struct msg_list *m)
{
    if (list_hdr_decode(p, len, MSG_BATCH_MAX_CHUNKS, m) < 0)
        return -EPROTO;
    if (len - MSG_LIST_HDR_LEN != (size_t)m->count * MSG_ACK_ENTRY_LEN)
        return -EPROTO;
    for (uint32_t i = 0; i < m->count; i++)
        if (m->items[i * MSG_ACK_ENTRY_LEN + 32] > ST_MAX_)
            return -EPROTO;
    return 0;
}

void msg_ack_entry(const struct msg_list *m, uint32_t i, const uint8_t **hash, uint8_t *status)
{
    *hash = m->items + (size_t)i * MSG_ACK_ENTRY_LEN;
    *status = (*hash)[32];
}

size_t msg_ack_entry_put(uint8_t *out, size_t pos, const uint8_t *hash, uint8_t status)
{
    memcpy(out + pos, hash, 32);
    out[pos + 32] = status;
    return pos + MSG_ACK_ENTRY_LEN;
}

int msg_hashes_decode(const uint8_t *p, size_t len, uint32_t max, struct msg_list *m)
{
    if (list_hdr_decode(p, len, max, m) < 0)
        return -EPROTO;
    return len - MSG_LIST_HDR_LEN == (size_t)m->count * 32 ? 0 : -EPROTO;
}

int msg_have_query_decode(const uint8_t *p, size_t len, struct msg_list *m)
{
    if (list_hdr_decode(p, len, MSG_HAVE_MAX, m) < 0)
        return -EPROTO;
    return len - MSG_LIST_HDR_LEN == (size_t)m->count * MSG_HAVE_PREFIX_LEN ? 0 : -EPROTO;
}

int msg_have_answer_decode(const uint8_t *p, size_t len, struct msg_list *m)
{
    if (list_hdr_decode(p, len, MSG_HAVE_MAX, m) < 0)
        return -EPROTO;
    return len - MSG_LIST_HDR_LEN == ((size_t)m->count + 7) / 8 ? 0 : -EPROTO;
}

int msg_have_answer_bit(const struct msg_list *m, uint32_t i)
{
    return (m->items[i / 8] >> (i % 8)) & 1;
}

int msg_fetch_resp_decode(const uint8_t *p, size_t len, struct msg_fetch_resp *m)
{
    if (len < MSG_FETCH_RESP_HDR_LEN)
        return -EPROTO;
    m->req_id = get_u64(p);
    m->hash = p + 8;
    m->status = p[40];
    m->len = get_u32(p + 41);
    m->data = p + MSG_FETCH_RESP_HDR_LEN;
    if (m->status > ST_MAX_ || m->len > NET_CHUNK_MAX)
        return -EPROTO;
    if (len - MSG_FETCH_RESP_HDR_LEN != m->len || (m->status != ST_OK && m->len != 0))
        return -EPROTO;
    return 0;
}

size_t msg_fetch_resp_hdr_encode(uint8_t *out, uint64_t req_id, const uint8_t *hash, uint8_t status,
                                 uint32_t len)
{
    put_u64(out, req_id);
    memcpy(out + 8, hash, 32);
    out[40] = status;
    put_u32(out + 41, len);
    return MSG_FETCH_RESP_HDR_LEN;
}
