#include "fs/cluster/snapshot_msg.h"

#include "common/bytes.h"

#include <errno.h>

size_t snap_req_encode(const struct snap_req *m, uint8_t *out)
{
    out[0] = SNAP_MSG_VERSION;
    put_u64(out + 1, m->xfer);
    put_u64(out + 9, m->applied);
    return SNAP_REQ_LEN;
}

int snap_req_decode(const uint8_t *p, size_t len, struct snap_req *m)
{
    if (len != SNAP_REQ_LEN || p[0] != SNAP_MSG_VERSION)
        return -EPROTO;
    m->xfer = get_u64(p + 1);
    m->applied = get_u64(p + 9);
    return 0;
}

void snap_data_hdr_encode(const struct snap_data *m, uint8_t *out)
{
    out[0] = SNAP_MSG_VERSION;
    out[1] = m->status;
    put_u64(out + 2, m->xfer);
    put_u64(out + 10, m->offset);
    put_u64(out + 18, m->total);
    put_u32(out + 26, m->len);
}

/* A piece must lie inside the file; a refusal carries nothing. */
static int check_data(const struct snap_data *m)
{
    if (m->status != SNAP_OK)
        return m->offset || m->total || m->len ? -EPROTO : 0;
    if (m->len == 0 || m->len > SNAP_PIECE_MAX || m->total > SNAP_TOTAL_MAX ||
        m->offset > m->total || m->len > m->total - m->offset)
        return -EPROTO;
    return 0;
}

int snap_data_decode(const uint8_t *p, size_t len, struct snap_data *m)
{
    if (len < SNAP_DATA_HDR_LEN || p[0] != SNAP_MSG_VERSION || p[1] > SNAP_STATUS_MAX_)
        return -EPROTO;
    m->status = p[1];
    m->xfer = get_u64(p + 2);
    m->offset = get_u64(p + 10);
    m->total = get_u64(p + 18);
    m->len = get_u32(p + 26);
    m->piece = p + SNAP_DATA_HDR_LEN;
    if (len - SNAP_DATA_HDR_LEN != m->len)
        return -EPROTO;
    return check_data(m);
}
