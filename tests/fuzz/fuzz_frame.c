/*
 * libFuzzer target: a byte stream as the transport reads it. Frames are cut
 * with frame_decode_header() (which must bound every length before a payload
 * is "allocated") and each payload goes to its message decoder.
 */
#include "net/frame.h"
#include "net/msg.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

static void decode_payload(unsigned type, const uint8_t *p, size_t len)
{
    struct msg_hello h;
    struct msg_ping pg;
    struct msg_push pu;
    struct msg_list l;
    struct msg_fetch_resp f;
    switch (type) {
    case FT_HELLO:
        msg_hello_decode(p, len, &h);
        break;
    case FT_PING:
    case FT_PONG:
        msg_ping_decode(p, len, &pg);
        break;
    case FT_PUSH_BATCH:
        if (msg_push_decode(p, len, &pu) == 0) {
            struct msg_push_iter it;
            struct msg_chunk c;
            msg_push_iter_init(&pu, &it);
            size_t total = 0;
            while (msg_push_next(&it, &c))
                total += c.len;
            assert(total <= len);
        }
        break;
    case FT_PUSH_ACK:
        msg_ack_decode(p, len, &l);
        break;
    case FT_HAVE_QUERY:
        msg_hashes_decode(p, len, MSG_HAVE_MAX, &l);
        break;
    case FT_HAVE_ANSWER:
        msg_have_answer_decode(p, len, &l);
        break;
    case FT_FETCH_REQ:
        msg_hashes_decode(p, len, MSG_FETCH_MAX, &l);
        break;
    case FT_FETCH_RESP:
        msg_fetch_resp_decode(p, len, &f);
        break;
    default:
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    while (size > 0) {
        struct frame_hdr hdr;
        if (frame_decode_header(data, size, &hdr) < 0)
            return 0; /* the connection would be closed */
        assert(hdr.len <= FRAME_PAYLOAD_MAX);
        assert(hdr.len <= frame_max_payload(hdr.type));
        data += FRAME_HDR_LEN;
        size -= FRAME_HDR_LEN;
        if (hdr.len > size)
            return 0; /* waits for more bytes */
        /* A copy the exact size of the payload, as the transport's buffer is. */
        uint8_t *p = malloc(hdr.len ? hdr.len : 1);
        memcpy(p, data, hdr.len);
        decode_payload(hdr.type, p, hdr.len);
        free(p);
        data += hdr.len;
        size -= hdr.len;
    }
    return 0;
}
