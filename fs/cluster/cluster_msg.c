#include "fs/cluster/cluster_msg.h"

#include "common/bytes.h"

#include <errno.h>

static size_t body_len(uint8_t kind)
{
    switch (kind) {
    case CM_READ_INDEX_REQ:
        return 8;
    case CM_READ_INDEX_RESP:
        return 17;
    case CM_REPORT:
        return 24;
    default:
        return 0;
    }
}

size_t cluster_msg_encode(const struct cluster_msg *m, uint8_t *out)
{
    out[0] = CLUSTER_MSG_VERSION;
    out[1] = m->kind;
    put_u64(out + 2, m->a);
    if (m->kind == CM_READ_INDEX_REQ)
        return 10;
    put_u64(out + 10, m->b);
    if (m->kind == CM_READ_INDEX_RESP) {
        out[18] = (uint8_t)m->c;
        return 19;
    }
    put_u64(out + 18, m->c);
    return 26;
}

int cluster_msg_decode(const uint8_t *buf, size_t len, struct cluster_msg *m)
{
    if (len < 2 || buf[0] != CLUSTER_MSG_VERSION)
        return -EPROTO;
    size_t want = body_len(buf[1]);
    if (!want || len != 2 + want)
        return -EPROTO;
    m->kind = buf[1];
    m->a = get_u64(buf + 2);
    m->b = m->kind == CM_READ_INDEX_REQ ? 0 : get_u64(buf + 10);
    if (m->kind == CM_READ_INDEX_RESP) {
        if (buf[18] > 1)
            return -EPROTO;
        m->c = buf[18];
    } else {
        m->c = m->kind == CM_REPORT ? get_u64(buf + 18) : 0;
    }
    return 0;
}
