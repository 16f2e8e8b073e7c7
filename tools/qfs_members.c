/* qfs_members.c - the cluster's members as a table (status, peers) and as JSON. */
#include "tools/qfs.h"

#include <stdio.h>

struct member {
    const char *id, *addr;
    bool self, connected;
    int64_t rtt_us, last_seen_ms, applied;
    uint64_t push_chunks, push_bytes;
};

static void get_member(struct ctl_reply *r, uint64_t i, struct member *m)
{
    char k[64];
#define KEY(f) (snprintf(k, sizeof(k), "member.%llu." f, (unsigned long long)i), k)
    m->id = qfs_str(r, KEY("id"));
    m->addr = qfs_str(r, KEY("addr"));
    m->self = qfs_u64(r, KEY("self"));
    m->connected = qfs_u64(r, KEY("connected"));
    m->rtt_us = qfs_i64(r, KEY("rtt_us"), -1);
    m->last_seen_ms = qfs_i64(r, KEY("last_seen_ms"), -1);
    m->applied = qfs_i64(r, KEY("applied"), -1);
    m->push_chunks = qfs_u64(r, KEY("push_chunks"));
    m->push_bytes = qfs_u64(r, KEY("push_bytes"));
#undef KEY
}

static int64_t behind(struct ctl_reply *r, const struct member *m)
{
    int64_t commit = qfs_i64(r, "commit", 0);
    return m->applied < 0 ? -1 : commit > m->applied ? commit - m->applied : 0;
}

static void print_row(FILE *f, struct ctl_reply *r, const struct member *m,
                      const struct qfs_style *s, const char *indent)
{
    char id[16], rtt[16] = "-", heard[16] = "-", applied[24] = "-", lag[24] = "-", push[48] = "-";
    const char *state = m->self ? "this node" : m->connected ? "connected" : "down";
    const char *colour = m->self || m->connected ? s->good : s->bad;
    if (!m->self && m->rtt_us >= 0)
        snprintf(rtt, sizeof(rtt), "%.2fms", (double)m->rtt_us / 1000.0);
    if (!m->self && m->last_seen_ms >= 0)
        qfs_fmt_duration((double)m->last_seen_ms / 1000.0, heard, sizeof(heard));
    if (m->applied >= 0) {
        snprintf(applied, sizeof(applied), "%lld", (long long)m->applied);
        snprintf(lag, sizeof(lag), "%lld", (long long)behind(r, m));
    }
    if (!m->self) {
        char b[24];
        snprintf(push, sizeof(push), "%llu (%s)", (unsigned long long)m->push_chunks,
                 qfs_fmt_bytes(m->push_bytes, b, sizeof(b)));
    }
    fprintf(f, "%s%-8s %-22s %s%-10s%s %9s %7s %9s %7s  %s\n", indent,
            qfs_short_id(m->id, id, sizeof(id)), m->addr, colour, state, s->off, rtt, heard,
            applied, lag, push);
}

void qfs_members_print(FILE *f, struct ctl_reply *r, const struct qfs_style *s, const char *indent)
{
    uint64_t n = qfs_u64(r, "n_members");
    fprintf(f, "%s%s%-8s %-22s %-10s %9s %7s %9s %7s  %s%s\n", indent, s->dim, "ID", "ADDRESS",
            "STATE", "RTT", "HEARD", "APPLIED", "BEHIND", "TO PUSH", s->off);
    for (uint64_t i = 0; i < n && i < CLUSTER_MEMBERS_MAX_SHOWN; i++) {
        struct member m;
        get_member(r, i, &m);
        print_row(f, r, &m, s, indent);
    }
}

void qfs_members_json(struct qfs_json *j, struct ctl_reply *r)
{
    uint64_t n = qfs_u64(r, "n_members");
    qfs_json_arr(j, "members");
    for (uint64_t i = 0; i < n && i < CLUSTER_MEMBERS_MAX_SHOWN; i++) {
        struct member m;
        get_member(r, i, &m);
        qfs_json_obj(j, NULL);
        qfs_json_str(j, "id", m.id);
        qfs_json_str(j, "addr", m.addr);
        qfs_json_bool(j, "self", m.self);
        qfs_json_bool(j, "connected", m.connected);
        qfs_json_i64(j, "rtt_us", m.rtt_us);
        qfs_json_i64(j, "last_seen_ms", m.last_seen_ms);
        qfs_json_i64(j, "applied", m.applied);
        qfs_json_i64(j, "behind", behind(r, &m));
        qfs_json_u64(j, "push_chunks", m.push_chunks);
        qfs_json_u64(j, "push_bytes", m.push_bytes);
        qfs_json_close(j, '}');
    }
    qfs_json_close(j, ']');
}
