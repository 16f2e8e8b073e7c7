/*
 * libFuzzer target for one message decoder, chosen at build time with
 * -DFUZZ_MSG=<frame type> (tests/fuzz/run builds one binary per decoder).
 * The input is copied to a buffer of exactly its size so that ASan sees any
 * read past the end of the payload.
 */
#include "net/frame.h"
#include "net/msg.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

static void check_list(const struct msg_list *l, size_t len, size_t entry)
{
    assert(MSG_LIST_HDR_LEN + (size_t)l->count * entry <= len);
}

static void decode(const uint8_t *p, size_t len)
{
    struct msg_list l;
    switch (FUZZ_MSG) {
    case FT_HELLO: {
        struct msg_hello h;
        if (msg_hello_decode(p, len, &h) == 0)
            assert(h.channel < CHAN_COUNT_);
        break;
    }
    case FT_PING: {
        struct msg_ping m;
        msg_ping_decode(p, len, &m);
        break;
    }
    case FT_PUSH_BATCH: {
        struct msg_push m;
        if (msg_push_decode(p, len, &m) == 0) {
            struct msg_push_iter it;
            struct msg_chunk c;
            uint32_t n = 0;
            volatile uint8_t sink = 0;
            msg_push_iter_init(&m, &it);
            while (msg_push_next(&it, &c)) {
                for (uint32_t i = 0; i < c.len; i++)
                    sink ^= c.data[i]; /* touch every byte: ASan checks the bounds */
                sink ^= c.hash[31];
                n++;
            }
            assert(n == m.count);
        }
        break;
    }
    case FT_PUSH_ACK:
        if (msg_ack_decode(p, len, &l) == 0) {
            check_list(&l, len, MSG_ACK_ENTRY_LEN);
            for (uint32_t i = 0; i < l.count; i++) {
                const uint8_t *h;
                uint8_t st;
                msg_ack_entry(&l, i, &h, &st);
                assert(st <= ST_MAX_);
            }
        }
        break;
    case FT_HAVE_QUERY:
        if (msg_have_query_decode(p, len, &l) == 0)
            check_list(&l, len, MSG_HAVE_PREFIX_LEN);
        break;
    case FT_FETCH_REQ:
        if (msg_hashes_decode(p, len, MSG_FETCH_MAX, &l) == 0)
            check_list(&l, len, 32);
        break;
    case FT_HAVE_ANSWER:
        if (msg_have_answer_decode(p, len, &l) == 0)
            for (uint32_t i = 0; i < l.count; i++)
                msg_have_answer_bit(&l, i);
        break;
    case FT_FETCH_RESP: {
        struct msg_fetch_resp m;
        if (msg_fetch_resp_decode(p, len, &m) == 0)
            assert(m.len <= NET_CHUNK_MAX && MSG_FETCH_RESP_HDR_LEN + m.len == len);
        break;
    }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *p = malloc(size ? size : 1);
    memcpy(p, data, size);
    decode(p, size);
    free(p);
    return 0;
}
