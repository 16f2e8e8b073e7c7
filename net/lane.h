/*
 * lane.h - a bounded queue of encoded frames in one reused byte buffer.
 *
 * Producers append whole frames (header + payload); the network thread sends
 * from the head and consumes bytes as they are written. The buffer is
 * allocated once and compacted in place, so queued bytes never exceed cap and
 * steady-state sending allocates nothing. Not locked: the owner (struct chan
 * in transport_int.h) holds its lock around every call.
 */
#ifndef QFS_NET_LANE_H
#define QFS_NET_LANE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lane {
    uint8_t *buf;
    size_t cap;
    size_t off; /* first unsent byte */
    size_t len; /* end of queued bytes */
};

int lane_init(struct lane *l, size_t cap);
void lane_free(struct lane *l);
size_t lane_pending(const struct lane *l);
bool lane_fits(const struct lane *l, size_t n);
/* Appends one frame; the caller checked lane_fits(FRAME_HDR_LEN + len). */
void lane_append(struct lane *l, unsigned type, uint16_t flags, const void *payload, size_t len);
void lane_consume(struct lane *l, size_t n);
void lane_clear(struct lane *l);

#endif
