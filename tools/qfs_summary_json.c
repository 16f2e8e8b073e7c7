/* qfs_summary_json.c - `qfs status --json` (docs/qfs-status.schema.json, "status"). */
#include "tools/qfs.h"

#include <stdio.h>

static void json_node(struct qfs_json *j, struct ctl_reply *r)
{
    char k[48];
    snprintf(k, sizeof(k), "member.%llu.id", (unsigned long long)qfs_u64(r, "self"));
    qfs_json_obj(j, "node");
    qfs_json_str(j, "id", qfs_str(r, k));
    qfs_json_str(j, "mountpoint", qfs_str(r, "mountpoint"));
    qfs_json_str(j, "data_dir", qfs_str(r, "data_dir"));
    qfs_json_str(j, "version", qfs_str(r, "version"));
    qfs_json_i64(j, "pid", qfs_i64(r, "pid", 0));
    qfs_json_num(j, "uptime_s", (double)qfs_i64(r, "uptime_ms", 0) / 1000.0);
    qfs_json_close(j, '}');
}

static void json_consensus(struct qfs_json *j, struct ctl_reply *r)
{
    char k[48];
    int64_t l = qfs_i64(r, "leader", -1);
    snprintf(k, sizeof(k), "member.%lld.id", (long long)l);
    qfs_json_obj(j, "consensus");
    qfs_json_str(j, "leader", l >= 0 ? qfs_str(r, k) : NULL);
    qfs_json_bool(j, "quorum", qfs_u64(r, "quorum"));
    qfs_json_u64(j, "ballot", qfs_u64(r, "ballot"));
    qfs_json_u64(j, "commit", qfs_u64(r, "commit"));
    if (ctl_get(r, "read_index"))
        qfs_json_u64(j, "read_index", qfs_u64(r, "read_index"));
    else
        qfs_json_str(j, "read_index", NULL);
    qfs_json_u64(j, "applied", qfs_u64(r, "applied"));
    qfs_json_close(j, '}');
}

static void json_data(struct qfs_json *j, struct ctl_reply *r)
{
    uint64_t stored = qfs_u64(r, "data.stored_bytes");
    qfs_json_obj(j, "data");
    qfs_json_u64(j, "stored_chunks", qfs_u64(r, "data.stored_chunks"));
    qfs_json_u64(j, "stored_bytes", stored);
    qfs_json_u64(j, "referenced_chunks", qfs_u64(r, "data.referenced_chunks"));
    qfs_json_u64(j, "logical_bytes", qfs_u64(r, "data.logical_bytes"));
    qfs_json_num(j, "dedup_ratio",
                 stored ? (double)qfs_u64(r, "data.logical_bytes") / (double)stored : -1);
    qfs_json_u64(j, "lmdb_file_bytes", qfs_u64(r, "data.file_bytes"));
    qfs_json_u64(j, "lmdb_map_bytes", qfs_u64(r, "data.map_bytes"));
    qfs_json_close(j, '}');
}

static void json_sync(struct qfs_json *j, struct ctl_reply *r, const struct qfs_verdict *v)
{
    qfs_json_obj(j, "sync");
    qfs_json_u64(j, "missing_chunks", v->missing_chunks);
    qfs_json_u64(j, "missing_bytes", v->missing_bytes);
    qfs_json_u64(j, "commands_to_apply", v->behind);
    qfs_json_u64(j, "fetch_rate_bps", qfs_u64(r, "rate.fetch_bps"));
    qfs_json_u64(j, "push_rate_bps", qfs_u64(r, "rate.push_bps"));
    qfs_json_num(j, "eta_s", v->eta_s);
    qfs_json_u64(j, "fetched_bytes_total", qfs_u64(r, "fetched_bytes_total"));
    qfs_json_u64(j, "pushed_bytes_total", qfs_u64(r, "pushed_bytes_total"));
    qfs_json_close(j, '}');
}

/* The conflicts array shared by status (newest few) and conflicts (all). */
void qfs_conflicts_json(struct qfs_json *j, struct ctl_reply *r, const char *key)
{
    uint64_t n = qfs_u64(r, "conflicts.count");
    qfs_json_arr(j, key);
    for (uint64_t i = 0; i < n; i++) {
        char k[64];
#define KEY(f) (snprintf(k, sizeof(k), "conflict.%llu." f, (unsigned long long)i), k)
        if (!ctl_get(r, KEY("copy")))
            break;
        qfs_json_obj(j, NULL);
        qfs_json_str(j, "copy", qfs_str(r, KEY("copy")));
        qfs_json_str(j, "original", qfs_str(r, KEY("original")));
        qfs_json_str(j, "writer", qfs_str(r, KEY("writer")));
        qfs_json_str(j, "other", qfs_str(r, KEY("other")));
        qfs_json_i64(j, "time", qfs_i64(r, KEY("time"), 0));
        qfs_json_close(j, '}');
#undef KEY
    }
    qfs_json_close(j, ']');
}

void qfs_summary_json(FILE *f, struct ctl_reply *r, const struct qfs_verdict *v)
{
    struct qfs_json j;
    qfs_json_begin(&j, f, "status");
    qfs_json_str(&j, "verdict", v->word);
    qfs_json_str(&j, "verdict_text", v->text);
    qfs_json_i64(&j, "exit_code", v->exit_code);
    json_node(&j, r);
    qfs_json_obj(&j, "cluster");
    qfs_json_bool(&j, "single_node", qfs_u64(r, "single_node"));
    qfs_members_json(&j, r);
    qfs_json_close(&j, '}');
    json_consensus(&j, r);
    json_data(&j, r);
    json_sync(&j, r, v);
    qfs_json_obj(&j, "conflicts");
    qfs_json_u64(&j, "count", qfs_u64(r, "conflicts.count"));
    qfs_conflicts_json(&j, r, "newest");
    qfs_json_close(&j, '}');
    qfs_json_end(&j);
}
