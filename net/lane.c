#include "net/lane.h"
#include "net/frame.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int lane_init(struct lane *l, size_t cap)
{
    l->buf = malloc(cap);
    l->cap = cap;
    l->off = l->len = 0;
    return l->buf ? 0 : -ENOMEM;
}

void lane_free(struct lane *l)
{
    free(l->buf);
    l->buf = NULL;
}

size_t lane_pending(const struct lane *l)
{
    return l->len - l->off;
}

bool lane_fits(const struct lane *l, size_t n)
{
    return l->cap - lane_pending(l) >= n;
}

void lane_append(struct lane *l, unsigned type, uint16_t flags, const void *payload, size_t len)
{
    if (l->cap - l->len < FRAME_HDR_LEN + len) {
        /* Sent bytes are dead; TLS accepts a moved buffer on retry. */
        memmove(l->buf, l->buf + l->off, lane_pending(l));
        l->len -= l->off;
        l->off = 0;
    }
    frame_encode_header(l->buf + l->len, type, flags, (uint32_t)len);
    if (len)
        memcpy(l->buf + l->len + FRAME_HDR_LEN, payload, len);
    l->len += FRAME_HDR_LEN + len;
}

void lane_consume(struct lane *l, size_t n)
{
    l->off += n;
    if (l->off == l->len)
        l->off = l->len = 0;
}

void lane_clear(struct lane *l)
{
    l->off = l->len = 0;
}
