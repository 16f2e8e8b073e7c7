/* qfs metrics: the status figures in the Prometheus text exposition format (0.0.4),
 * for a node_exporter textfile collector or a scrape wrapper. */
#include "tools/qfs.h"

#include <string.h>

struct metric {
    const char *name, *type, *help, *key; /* key: the status reply field */
    double scale;                         /* reply unit -> Prometheus base unit */
};

static const struct metric node_metrics[] = {
    {"qfs_quorum", "gauge", "1 if a majority is reachable (mutations accepted)", "quorum", 1},
    {"qfs_members", "gauge", "Members of the cluster, this node included", "n_members", 1},
    {"qfs_ballot", "gauge", "Highest Paxos ballot seen", "ballot", 1},
    {"qfs_commit_index", "gauge", "Highest log index known chosen", "commit", 1},
    {"qfs_applied_index", "gauge", "Last log index applied on this node", "applied", 1},
    {"qfs_uptime_seconds", "gauge", "Seconds since the daemon started", "uptime_ms", 0.001},
    {"qfs_stored_chunks", "gauge", "Chunks stored on this node", "data.stored_chunks", 1},
    {"qfs_stored_bytes", "gauge", "Chunk payload bytes stored on this node", "data.stored_bytes",
     1},
    {"qfs_logical_bytes", "gauge", "File bytes mapped to chunks", "data.logical_bytes", 1},
    {"qfs_lmdb_file_bytes", "gauge", "Size of the chunk store's LMDB file", "data.file_bytes", 1},
    {"qfs_lmdb_map_bytes", "gauge", "The chunk store's LMDB map size", "data.map_bytes", 1},
    {"qfs_missing_chunks", "gauge", "Referenced chunks not stored here", "sync.missing_chunks", 1},
    {"qfs_missing_bytes", "gauge", "File bytes in chunks not stored here", "sync.missing_bytes", 1},
    {"qfs_fetched_bytes_total", "counter",
     "Chunk bytes received in answer to this node's fetches (reads, anti-entropy; not pushes)",
     "fetched_bytes_total", 1},
    {"qfs_pushed_bytes_total", "counter", "Chunk bytes sent to peers (pushes and fetch answers)",
     "pushed_bytes_total", 1},
    {"qfs_conflicts", "gauge", "Conflict copies in the filesystem", "conflicts.count", 1},
};

static const struct metric member_metrics[] = {
    {"qfs_member_connected", "gauge", "1 if the member is connected", "connected", 1},
    {"qfs_member_rtt_seconds", "gauge", "Smoothed heartbeat round trip (-1 unknown)", "rtt_us",
     1e-6},
    {"qfs_member_last_seen_seconds", "gauge", "Seconds since last heard (-1 never)", "last_seen_ms",
     1e-3},
    {"qfs_member_applied_index", "gauge", "The member's applied index (-1 unknown)", "applied", 1},
    {"qfs_member_push_chunks", "gauge", "Chunks still to push to the member", "push_chunks", 1},
    {"qfs_member_push_bytes", "gauge", "Bytes still to push to the member", "push_bytes", 1},
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void emit(FILE *f, struct qfs_json *j, const char *name, const char *peer, double v)
{
    if (j) {
        qfs_json_obj(j, NULL);
        qfs_json_str(j, "name", name);
        qfs_json_str(j, "peer", peer);
        qfs_json_num(j, "value", v); /* negative (unknown) -> null */
        qfs_json_close(j, '}');
    } else if (peer) {
        fprintf(f, "%s{peer=\"%s\"} %.9g\n", name, peer, v);
    } else {
        fprintf(f, "%s %.9g\n", name, v);
    }
}

static void header(FILE *f, const struct metric *m)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", m->name, m->help, m->name, m->type);
}

static void emit_all(FILE *f, struct qfs_json *j, struct ctl_reply *r, const struct qfs_verdict *v)
{
    if (!j)
        fprintf(f, "# HELP qfs_up 1 if the daemon answered\n# TYPE qfs_up gauge\n");
    emit(f, j, "qfs_up", NULL, 1);
    if (!j)
        fprintf(f, "# HELP qfs_in_sync 1 if the status verdict is in sync\n"
                   "# TYPE qfs_in_sync gauge\n");
    emit(f, j, "qfs_in_sync", NULL, v->kind == QFS_IN_SYNC);
    for (size_t i = 0; i < N(node_metrics); i++) {
        if (!j)
            header(f, &node_metrics[i]);
        emit(f, j, node_metrics[i].name, NULL,
             (double)qfs_i64(r, node_metrics[i].key, 0) * node_metrics[i].scale);
    }
    uint64_t n = qfs_u64(r, "n_members");
    for (size_t k = 0; k < N(member_metrics); k++) {
        if (!j)
            header(f, &member_metrics[k]);
        for (uint64_t i = 0; i < n && i < CLUSTER_MEMBERS_MAX_SHOWN; i++) {
            char key[64], id[64];
            snprintf(key, sizeof(key), "member.%llu.id", (unsigned long long)i);
            snprintf(id, sizeof(id), "%s", qfs_str(r, key));
            snprintf(key, sizeof(key), "member.%llu.%s", (unsigned long long)i,
                     member_metrics[k].key);
            int64_t raw = qfs_i64(r, key, -1);
            emit(f, j, member_metrics[k].name, id,
                 raw < 0 ? -1.0 : (double)raw * member_metrics[k].scale);
        }
    }
}

int qfs_metrics_main(int argc, char **argv)
{
    struct qfs_common com = {0};
    struct qfs_node n = {0};
    struct ctl_reply r = {0};
    if (qfs_common_parse(argc, argv, &com) < 0 || com.help) {
        fprintf(com.help ? stdout : stderr,
                "usage: qfs metrics [-c node.conf | --data DIR] [--json]\n"
                "Prints the status figures in the Prometheus text format (qfs_up 0 and exit 2\n"
                "when the daemon does not answer).\n");
        return com.help ? QFS_EXIT_OK : QFS_EXIT_USAGE;
    }
    int rc = qfs_ask(&com.target, &n, "status", &r);
    struct qfs_json j;
    if (com.json) {
        qfs_json_begin(&j, stdout, "metrics");
        qfs_json_arr(&j, "metrics");
    }
    if (rc) {
        emit(stdout, com.json ? &j : NULL, "qfs_up", NULL, 0);
    } else {
        struct qfs_verdict v;
        qfs_verdict_of(&r, &v);
        emit_all(stdout, com.json ? &j : NULL, &r, &v);
    }
    if (com.json) {
        qfs_json_close(&j, ']');
        qfs_json_end(&j);
    }
    ctl_reply_free(&r);
    qfs_node_free(&n);
    return rc == QFS_EXIT_USAGE ? rc : rc ? QFS_EXIT_UNREACHABLE : QFS_EXIT_OK;
}
