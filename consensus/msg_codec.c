/* Consensus message codec: table-driven layouts, bounded decoding. */
#include "consensus/msg_codec.h"

#include "common/bytes.h"

#include <errno.h>
#include <string.h>

#define HDR_LEN      4
#define ENT_BASE_LEN 17 /* origin u32, req u64, kind u8, len u32 */

enum field {
    F_BALLOT,
    F_SLOT,
    F_COMMIT,
    F_LOGSTART,
    F_NEXT,
    F_TRUNC,
    F_APPLIED,
    F_PROMISED,
    F_STAMP,
    F_TO
};
enum ent_fmt { ENT_NONE, ENT_PLAIN, ENT_PROMISE, ENT_CATCHUP, ENT_COUNT_ONLY };

struct layout {
    uint8_t nf;
    uint8_t f[5];
    uint8_t ent; /* enum ent_fmt; the u16 count comes right after the fields */
};

static const struct layout layouts[MSG_TYPE_MAX + 1] = {
    [MSG_PREPARE] = {2, {F_BALLOT, F_SLOT}, ENT_NONE},
    [MSG_PROMISE] = {4, {F_BALLOT, F_COMMIT, F_LOGSTART, F_NEXT}, ENT_PROMISE},
    [MSG_ACCEPT] = {5, {F_BALLOT, F_COMMIT, F_TRUNC, F_SLOT, F_STAMP}, ENT_PLAIN},
    [MSG_ACCEPTED] = {5, {F_BALLOT, F_SLOT, F_APPLIED, F_COMMIT, F_STAMP}, ENT_COUNT_ONLY},
    [MSG_NACK] = {2, {F_BALLOT, F_PROMISED}, ENT_NONE},
    [MSG_FORWARD] = {0, {0}, ENT_PLAIN},
    [MSG_CATCHUP_REQ] = {1, {F_SLOT}, ENT_NONE},
    [MSG_CATCHUP_REP] = {3, {F_LOGSTART, F_COMMIT, F_SLOT}, ENT_CATCHUP},
    [MSG_PREVOTE] = {2, {F_BALLOT, F_COMMIT}, ENT_NONE},
    [MSG_PREVOTE_OK] = {2, {F_BALLOT, F_PROMISED}, ENT_NONE},
    [MSG_TIMEOUT_NOW] = {2, {F_BALLOT, F_TO}, ENT_NONE},
    [MSG_STATE_REQ] = {2, {F_STAMP, F_SLOT}, ENT_NONE},
    [MSG_STATE_REP] = {4, {F_STAMP, F_PROMISED, F_COMMIT, F_NEXT}, ENT_PROMISE},
};

static uint64_t *field(struct cons_msg *m, int f)
{
    switch (f) {
    case F_BALLOT:
        return &m->ballot;
    case F_SLOT:
        return &m->slot;
    case F_COMMIT:
        return &m->commit;
    case F_LOGSTART:
        return &m->log_start;
    case F_NEXT:
        return &m->next;
    case F_TRUNC:
        return &m->trunc;
    case F_APPLIED:
        return &m->applied;
    case F_STAMP:
        return &m->stamp;
    case F_TO:
        return &m->to;
    default:
        return &m->promised;
    }
}

static size_t ent_prefix(uint8_t fmt)
{
    if (fmt == ENT_PROMISE)
        return 17; /* slot, ballot, flags */
    if (fmt == ENT_CATCHUP)
        return 8; /* ballot */
    return 0;
}

static int has_entries(uint8_t fmt)
{
    return fmt == ENT_PLAIN || fmt == ENT_PROMISE || fmt == ENT_CATCHUP;
}

size_t msg_entry_size(uint8_t type, uint32_t data_len)
{
    if (type == 0 || type > MSG_TYPE_MAX)
        return 0;
    return ent_prefix(layouts[type].ent) + ENT_BASE_LEN + data_len;
}

size_t msg_encoded_size(const struct cons_msg *m)
{
    if (m->type == 0 || m->type > MSG_TYPE_MAX)
        return 0;
    const struct layout *l = &layouts[m->type];
    size_t n = HDR_LEN + 8u * l->nf + (l->ent != ENT_NONE ? 2 : 0);
    if (has_entries(l->ent))
        for (uint32_t i = 0; i < m->count && i < CONS_MSG_MAX_ENTRIES; i++)
            n += msg_entry_size(m->type, m->ent[i].e.len);
    return n;
}

static uint8_t *encode_entry(uint8_t *p, uint8_t fmt, const struct cons_msg_entry *me)
{
    if (fmt == ENT_PROMISE) {
        put_u64(p, me->slot);
        put_u64(p + 8, me->ballot);
        p[16] = me->flags;
        p += 17;
    } else if (fmt == ENT_CATCHUP) {
        put_u64(p, me->ballot);
        p += 8;
    }
    put_u32(p, me->e.origin);
    put_u64(p + 4, me->e.req_id);
    p[12] = me->e.kind;
    put_u32(p + 13, me->e.len);
    p += ENT_BASE_LEN;
    if (me->e.len)
        memcpy(p, me->e.data, me->e.len);
    return p + me->e.len;
}

long msg_encode(const struct cons_msg *m, uint8_t *buf, size_t cap)
{
    if (m->type == 0 || m->type > MSG_TYPE_MAX || m->count > CONS_MSG_MAX_ENTRIES)
        return -EINVAL;
    const struct layout *l = &layouts[m->type];
    if (m->count > 0xffff || (has_entries(l->ent) && m->count > CONS_MSG_MAX_ENTRIES))
        return -EINVAL;
    size_t need = msg_encoded_size(m);
    if (need > CONS_MSG_MAX || need > cap)
        return -EMSGSIZE;
    uint8_t *p = buf;
    p[0] = CONS_WIRE_VERSION;
    p[1] = m->type;
    put_u16(p + 2, m->from);
    p += HDR_LEN;
    for (int i = 0; i < l->nf; i++, p += 8)
        put_u64(p, *field((struct cons_msg *)m, l->f[i]));
    if (l->ent != ENT_NONE) {
        put_u16(p, (uint16_t)m->count);
        p += 2;
    }
    if (has_entries(l->ent))
        for (uint32_t i = 0; i < m->count; i++) {
            if (m->ent[i].e.len > CONS_CMD_MAX)
                return -EMSGSIZE;
            p = encode_entry(p, l->ent, &m->ent[i]);
        }
    return (long)(p - buf);
}

/* Decodes one entry at *pp; returns -EBADMSG/-EMSGSIZE if it does not fit. */
static int decode_entry(const uint8_t **pp, const uint8_t *end, uint8_t fmt,
                        struct cons_msg_entry *me)
{
    const uint8_t *p = *pp;
    size_t pre = ent_prefix(fmt);
    if ((size_t)(end - p) < pre + ENT_BASE_LEN)
        return -EBADMSG;
    memset(me, 0, sizeof(*me));
    if (fmt == ENT_PROMISE) {
        me->slot = get_u64(p);
        me->ballot = get_u64(p + 8);
        me->flags = p[16];
        if (me->flags & ~CONS_REC_CHOSEN)
            return -EBADMSG;
    } else if (fmt == ENT_CATCHUP) {
        me->ballot = get_u64(p);
    }
    p += pre;
    me->e.origin = get_u32(p);
    me->e.req_id = get_u64(p + 4);
    me->e.kind = p[12];
    me->e.len = get_u32(p + 13);
    p += ENT_BASE_LEN;
    if (me->e.kind > CONS_KIND_CONFIG)
        return -EBADMSG;
    if (me->e.len > CONS_CMD_MAX)
        return -EMSGSIZE;
    if ((size_t)(end - p) < me->e.len)
        return -EBADMSG;
    me->e.data = me->e.len ? p : NULL;
    *pp = p + me->e.len;
    return 0;
}

static int decode_body(const uint8_t *p, const uint8_t *end, const struct layout *l,
                       struct cons_msg *m)
{
    if ((size_t)(end - p) < 8u * l->nf)
        return -EBADMSG;
    for (int i = 0; i < l->nf; i++, p += 8)
        *field(m, l->f[i]) = get_u64(p);
    if (l->ent != ENT_NONE) {
        if (end - p < 2)
            return -EBADMSG;
        m->count = get_u16(p);
        p += 2;
    }
    if (has_entries(l->ent)) {
        if (m->count > CONS_MSG_MAX_ENTRIES)
            return -EMSGSIZE;
        for (uint32_t i = 0; i < m->count; i++) {
            int rc = decode_entry(&p, end, l->ent, &m->ent[i]);
            if (rc < 0)
                return rc;
        }
    }
    return p == end ? 0 : -EBADMSG;
}

int msg_decode(const uint8_t *buf, size_t len, struct cons_msg *m)
{
    if (len > CONS_MSG_MAX)
        return -EMSGSIZE;
    if (len < HDR_LEN)
        return -EBADMSG;
    if (buf[0] != CONS_WIRE_VERSION)
        return -EPROTONOSUPPORT;
    if (buf[1] == 0 || buf[1] > MSG_TYPE_MAX)
        return -EBADMSG;
    m->type = buf[1];
    m->from = get_u16(buf + 2);
    m->ballot = m->slot = m->commit = m->log_start = 0;
    m->next = m->trunc = m->applied = m->promised = m->stamp = 0;
    m->count = 0;
    return decode_body(buf + HDR_LEN, buf + len, &layouts[m->type], m);
}
