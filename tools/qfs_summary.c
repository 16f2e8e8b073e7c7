/* qfs_summary.c - the one-screen `qfs status`: as text for people, as JSON for scripts. */
#include "tools/qfs.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define LABEL  "%-10s "
#define INDENT "           "

static const char *self_id(struct ctl_reply *r)
{
    char k[48];
    snprintf(k, sizeof(k), "member.%llu.id", (unsigned long long)qfs_u64(r, "self"));
    return qfs_str(r, k);
}

static const char *leader_id(struct ctl_reply *r, char *buf, size_t cap)
{
    char k[48];
    int64_t l = qfs_i64(r, "leader", -1);
    if (l < 0)
        return NULL;
    snprintf(k, sizeof(k), "member.%lld.id", (long long)l);
    return qfs_short_id(qfs_str(r, k), buf, cap);
}

static void print_node(FILE *f, struct ctl_reply *r, const struct qfs_style *s)
{
    char up[32];
    /* A node ID is 63 characters: alone on its line, it fits 80 columns. */
    fprintf(f, LABEL "%s%s%s\n", "node", s->bold, self_id(r), s->off);
    fprintf(f, INDENT "quorumfs %s, pid %lld, up %s\n", qfs_str(r, "version"),
            (long long)qfs_i64(r, "pid", 0),
            qfs_fmt_duration((double)qfs_i64(r, "uptime_ms", 0) / 1000.0, up, sizeof(up)));
    fprintf(f, INDENT "mount %s  data %s\n", qfs_str(r, "mountpoint"), qfs_str(r, "data_dir"));
}

static void print_cluster(FILE *f, struct ctl_reply *r, const struct qfs_style *s)
{
    char lid[16];
    const char *leader = leader_id(r, lid, sizeof(lid));
    if (qfs_u64(r, "single_node")) {
        fprintf(f, LABEL "single node (no peers, no Paxos)\n", "cluster");
    } else {
        fprintf(f, LABEL "%llu members, quorum %s%s%s\n", "cluster",
                (unsigned long long)qfs_u64(r, "n_members"),
                qfs_u64(r, "quorum") ? s->good : s->bad, qfs_u64(r, "quorum") ? "yes" : "NO",
                s->off);
        qfs_members_print(f, r, s, INDENT);
    }
    if (qfs_i64(r, "leader", -1) == (int64_t)qfs_u64(r, "self"))
        leader = qfs_u64(r, "single_node") ? "this node (single node: no Paxos)" : "this node";
    fprintf(f, LABEL "leader %s  ballot %llu  commit %llu  applied %llu\n", "consensus",
            leader ? leader : "unknown", (unsigned long long)qfs_u64(r, "ballot"),
            (unsigned long long)qfs_u64(r, "commit"), (unsigned long long)qfs_u64(r, "applied"));
}

static double dedup_ratio(struct ctl_reply *r)
{
    uint64_t stored = qfs_u64(r, "data.stored_bytes");
    return stored ? (double)qfs_u64(r, "data.logical_bytes") / (double)stored : -1;
}

static void print_data(FILE *f, struct ctl_reply *r)
{
    char st[32], lo[32], fi[32], mp[32];
    uint64_t map = qfs_u64(r, "data.map_bytes"), file = qfs_u64(r, "data.file_bytes");
    double dd = dedup_ratio(r);
    fprintf(f, LABEL "%llu chunks, %s stored; %s in files", "data",
            (unsigned long long)qfs_u64(r, "data.stored_chunks"),
            qfs_fmt_bytes(qfs_u64(r, "data.stored_bytes"), st, sizeof(st)),
            qfs_fmt_bytes(qfs_u64(r, "data.logical_bytes"), lo, sizeof(lo)));
    if (dd >= 0)
        fprintf(f, " (dedup %.2fx)", dd);
    fprintf(f, "\n" INDENT "chunk store: LMDB file %s, %.0f%% of its %s map\n",
            qfs_fmt_bytes(file, fi, sizeof(fi)), map ? 100.0 * (double)file / (double)map : 0.0,
            qfs_fmt_bytes(map, mp, sizeof(mp)));
}

static void print_sync(FILE *f, struct ctl_reply *r, const struct qfs_verdict *v)
{
    char b[32], rate[32], eta[32] = "unknown";
    uint64_t push_chunks = 0, push_bytes = 0, n = qfs_u64(r, "n_members");
    for (uint64_t i = 0; i < n && i < CLUSTER_MEMBERS_MAX_SHOWN; i++) {
        char k[64];
        snprintf(k, sizeof(k), "member.%llu.push_chunks", (unsigned long long)i);
        push_chunks += qfs_u64(r, k);
        snprintf(k, sizeof(k), "member.%llu.push_bytes", (unsigned long long)i);
        push_bytes += qfs_u64(r, k);
    }
    if (v->eta_s >= 0)
        qfs_fmt_duration(v->eta_s, eta, sizeof(eta));
    if (v->missing_chunks || v->behind)
        fprintf(f, LABEL "to fetch: %llu chunks, %s at %s/s, ETA %s; %llu commands to apply\n",
                "sync", (unsigned long long)v->missing_chunks,
                qfs_fmt_bytes(v->missing_bytes, b, sizeof(b)),
                qfs_fmt_bytes(qfs_u64(r, "rate.fetch_bps"), rate, sizeof(rate)), eta,
                (unsigned long long)v->behind);
    else
        fprintf(f, LABEL "to fetch: nothing\n", "sync");
    if (push_chunks)
        fprintf(f, INDENT "to push: %llu chunks, %s at %s/s\n", (unsigned long long)push_chunks,
                qfs_fmt_bytes(push_bytes, b, sizeof(b)),
                qfs_fmt_bytes(qfs_u64(r, "rate.push_bps"), rate, sizeof(rate)));
}

/* "2026-11-26 12:00:00 UTC" */
static const char *fmt_time(int64_t t, char *buf, size_t cap)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm) || !strftime(buf, cap, "%Y-%m-%d %H:%M:%S UTC", &tm))
        snprintf(buf, cap, "%lld", (long long)t);
    return buf;
}

static void print_conflicts(FILE *f, struct ctl_reply *r, const struct qfs_style *s)
{
    uint64_t n = qfs_u64(r, "conflicts.count");
    if (!n) {
        fprintf(f, LABEL "none\n", "conflicts");
        return;
    }
    fprintf(f, LABEL "%s%llu%s, newest:\n", "conflicts", s->warn, (unsigned long long)n, s->off);
    for (uint64_t i = 0; i < n; i++) {
        char k[64], t[40];
        snprintf(k, sizeof(k), "conflict.%llu.copy", (unsigned long long)i);
        if (!ctl_get(r, k))
            break;
        fprintf(f, INDENT "%s", qfs_str(r, k));
        snprintf(k, sizeof(k), "conflict.%llu.time", (unsigned long long)i);
        fprintf(f, "  (%s)\n", fmt_time(qfs_i64(r, k, 0), t, sizeof(t)));
    }
}

void qfs_summary_print(FILE *f, struct ctl_reply *r, const struct qfs_verdict *v,
                       const struct qfs_style *s)
{
    const char *c = v->kind == QFS_IN_SYNC ? s->good : v->kind == QFS_NO_QUORUM ? s->bad : s->warn;
    fprintf(f, "%s%s%s%s\n", s->bold, c, v->text, s->off);
    print_node(f, r, s);
    print_cluster(f, r, s);
    print_data(f, r);
    print_sync(f, r, v);
    print_conflicts(f, r, s);
}
