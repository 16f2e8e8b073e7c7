/*
 * msg_codec.h - the consensus wire format (docs/consensus.md, version 5).
 *
 * Every message is a 4-byte header (version, type, sender id u16 LE) and a
 * type-specific body. Decoding never allocates: entry data points into the
 * input buffer, which must outlive the decoded struct. Every length is
 * bounded (CONS_MSG_MAX bytes, CONS_MSG_MAX_ENTRIES entries, CONS_CMD_MAX
 * bytes per command); malformed input is a negative errno, never a crash.
 */
#ifndef QFS_CONSENSUS_MSG_CODEC_H
#define QFS_CONSENSUS_MSG_CODEC_H

#include "consensus/types.h"

#include <stddef.h>
#include <stdint.h>

#define CONS_WIRE_VERSION 5

enum cons_msg_type {
    MSG_PREPARE = 1,      /* ballot, slot = first slot asked about */
    MSG_PROMISE = 2,      /* ballot, commit, log_start, next (0 = complete), entries */
    MSG_ACCEPT = 3,       /* ballot, commit, trunc, slot = first, stamp, entries (0 = heartbeat) */
    MSG_ACCEPTED = 4,     /* ballot, slot = first, count, applied, commit, stamp (echoed) */
    MSG_NACK = 5,         /* ballot (rejected), promised */
    MSG_FORWARD = 6,      /* entries: proposals for the leader */
    MSG_CATCHUP_REQ = 7,  /* slot = first slot wanted */
    MSG_CATCHUP_REP = 8,  /* log_start, commit, slot = first, entries (chosen) */
    MSG_PREVOTE = 9,      /* ballot = the one an election would use, commit */
    MSG_PREVOTE_OK = 10,  /* ballot (echoed), promised */
    MSG_TIMEOUT_NOW = 11, /* ballot of the leader handing over, to: the node to stand */
    MSG_STATE_REQ = 12,   /* stamp = a rebuilding node's nonce, slot = first (0: commit + 1) */
    MSG_STATE_REP = 13,   /* stamp (echoed), promised, commit, next, entries as PROMISE's */
    MSG_TYPE_MAX = 13
};

/* PROMISE entry flag: the sender knows this slot is chosen. */
#define CONS_REC_CHOSEN 1

struct cons_msg_entry {
    uint64_t slot;   /* PROMISE only; elsewhere slots are first + index */
    uint64_t ballot; /* PROMISE, CATCHUP_REP: ballot the value was accepted in */
    uint8_t flags;   /* PROMISE only: CONS_REC_CHOSEN */
    struct cons_entry e;
};

struct cons_msg {
    uint8_t type;
    uint16_t from;
    uint64_t ballot, slot, commit, log_start, next, trunc, applied, promised;
    uint64_t stamp; /* ACCEPT: the leader's clock when sent; ACCEPTED: echoed;
                       STATE_REQ: nonce; STATE_REP: echoed */
    uint64_t to;    /* TIMEOUT_NOW: the node the leadership goes to */
    uint32_t count; /* ACCEPTED: slots acknowledged; others: number of entries */
    struct cons_msg_entry ent[CONS_MSG_MAX_ENTRIES];
};

/* Bytes msg_encode() will write for m; > CONS_MSG_MAX means too big. */
size_t msg_encoded_size(const struct cons_msg *m);

/* Bytes one entry adds to a message of this type (for batch sizing). */
size_t msg_entry_size(uint8_t type, uint32_t data_len);

/* Encode m into buf. Returns the length or -EMSGSIZE / -EINVAL. */
long msg_encode(const struct cons_msg *m, uint8_t *buf, size_t cap);

/*
 * Decode buf into m. Returns 0, or -EPROTONOSUPPORT (version), -EBADMSG
 * (unknown type, truncated, trailing bytes, bad field), -EMSGSIZE (too long
 * or too many entries).
 */
int msg_decode(const uint8_t *buf, size_t len, struct cons_msg *m);

#endif
