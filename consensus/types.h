/*
 * types.h - the vocabulary shared by the consensus engine, its codec and its
 * persistence backends: ballots, log entries, limits.
 *
 * A ballot is (round, node id) packed as round << 8 | node, so plain integer
 * comparison orders ballots and two nodes never share one. Ballot 0 means
 * "none". Node ids are indexes 0..n-1 into the membership list.
 * Commands are opaque bytes: the engine never interprets them.
 */
#ifndef QFS_CONSENSUS_TYPES_H
#define QFS_CONSENSUS_TYPES_H

#include <stdint.h>

#define CONS_MAX_NODES       8          /* membership size limit (design: 3..7) */
#define CONS_CMD_MAX         (1u << 16) /* largest command, bytes */
#define CONS_MSG_MAX         (1u << 20) /* largest encoded message, bytes */
#define CONS_MSG_MAX_ENTRIES 256        /* most log entries in one message */

/* Kinds of log entry. CONFIG is reserved for membership changes (docs). */
enum cons_kind { CONS_KIND_NOOP = 0, CONS_KIND_CMD = 1, CONS_KIND_CONFIG = 2 };

/* One log entry. data points into a buffer owned by whoever passed it. */
struct cons_entry {
    uint32_t origin; /* node that proposed it */
    uint64_t req_id; /* origin's request id, for de-dup */
    uint8_t kind;    /* enum cons_kind */
    uint32_t len;
    const uint8_t *data;
};

static inline uint64_t ballot_make(uint64_t round, uint32_t node)
{
    return (round << 8) | (node & 0xff);
}

static inline uint64_t ballot_round(uint64_t b)
{
    return b >> 8;
}

static inline uint32_t ballot_node(uint64_t b)
{
    return (uint32_t)(b & 0xff);
}

#endif
