/* qfs_verdict.c - the first line of `qfs status`, and its exit code, from a status reply. */
#include "tools/qfs.h"

#include <stdio.h>
#include <string.h>

/* "peers down: ABCDEFG, HIJKLMN" into buf; the number of such peers. */
static int down_peers(struct ctl_reply *r, char *buf, size_t cap)
{
    uint64_t n = qfs_u64(r, "n_members");
    int down = 0;
    size_t len = 0;
    buf[0] = '\0';
    for (uint64_t i = 0; i < n && i < 64; i++) {
        char k[64], id[16];
        snprintf(k, sizeof(k), "member.%llu.self", (unsigned long long)i);
        if (qfs_u64(r, k))
            continue;
        snprintf(k, sizeof(k), "member.%llu.connected", (unsigned long long)i);
        if (qfs_u64(r, k))
            continue;
        snprintf(k, sizeof(k), "member.%llu.id", (unsigned long long)i);
        qfs_short_id(qfs_str(r, k), id, sizeof(id));
        if (len < cap)
            len += (size_t)snprintf(buf + len, cap - len, "%s%s", down ? ", " : "", id);
        down++;
    }
    return down;
}

/* "rebuilding: ... waiting for ABCDEFG" into buf while this node, whose
 * consensus state may have been lost, may not vote yet; 0 if it is not
 * rebuilding. */
static int rebuilding(struct ctl_reply *r, char *buf, size_t cap)
{
    if (!ctl_get(r, "rebuild_missing"))
        return 0;
    uint64_t missing = qfs_u64(r, "rebuild_missing");
    int n = snprintf(buf, cap,
                     "rebuilding its consensus state: votes once every member has "
                     "answered; ");
    if (!missing) {
        snprintf(buf + n, cap - (size_t)n, "learning the commands they hold");
        return 1;
    }
    n += snprintf(buf + n, cap - (size_t)n, "waiting for");
    for (uint64_t i = 0; i < 64 && (size_t)n < cap; i++) {
        if (!((missing >> i) & 1))
            continue;
        char k[64], id[16];
        snprintf(k, sizeof(k), "member.%llu.id", (unsigned long long)i);
        qfs_short_id(qfs_str(r, k), id, sizeof(id));
        n += snprintf(buf + n, cap - (size_t)n, " %s", id);
    }
    return 1;
}

static void catching_up(struct ctl_reply *r, struct qfs_verdict *v)
{
    char size[32], eta[32] = "ETA unknown", d[32];
    double fetch = (double)qfs_u64(r, "rate.fetch_bps");
    double apply = (double)qfs_u64(r, "rate.apply_per_s");
    v->eta_s = -1;
    if (ctl_get(r, "apply_error"))
        ; /* no rate says when the disk gets room */
    else if (v->missing_bytes && fetch > 0)
        v->eta_s = (double)v->missing_bytes / fetch;
    else if (!v->missing_bytes && v->behind && apply > 0)
        v->eta_s = (double)v->behind / apply;
    if (v->eta_s >= 0)
        snprintf(eta, sizeof(eta), "ETA %s", qfs_fmt_duration(v->eta_s, d, sizeof(d)));
    qfs_fmt_bytes(v->missing_bytes, size, sizeof(size));
    int n = snprintf(v->text, sizeof(v->text), "catching up (%llu chunks, %s, %s",
                     (unsigned long long)v->missing_chunks, size, eta);
    if (v->behind && n > 0 && (size_t)n < sizeof(v->text))
        n += snprintf(v->text + n, sizeof(v->text) - (size_t)n, "; %llu commands to apply",
                      (unsigned long long)v->behind);
    if (n > 0 && (size_t)n < sizeof(v->text) - 1)
        strcat(v->text, ")");
}

/* Why this node cannot apply (its disk is full), after a verdict that is
 * not "in sync": without it, a full disk reads as a network problem. */
static void add_apply_error(struct ctl_reply *r, struct qfs_verdict *v)
{
    size_t n = strlen(v->text);
    if (!ctl_get(r, "apply_error") || n < 1 || v->text[n - 1] != ')')
        return;
    snprintf(v->text + n - 1, sizeof(v->text) - (n - 1),
             "; cannot apply here: %s, free space in %s)", qfs_str(r, "apply_error"),
             qfs_str(r, "data_dir"));
}

void qfs_verdict_of(struct ctl_reply *r, struct qfs_verdict *v)
{
    char peers[256];
    uint64_t commit = qfs_u64(r, "commit"), applied = qfs_u64(r, "applied");
    if (qfs_u64(r, "read_index") > commit)
        commit = qfs_u64(r, "read_index"); /* the leader knows more than this node yet */
    memset(v, 0, sizeof(*v));
    v->eta_s = -1;
    v->missing_chunks = qfs_u64(r, "sync.missing_chunks");
    v->missing_bytes = qfs_u64(r, "sync.missing_bytes");
    v->behind = commit > applied ? commit - applied : 0;
    int down = down_peers(r, peers, sizeof(peers));
    char rb[256];
    int rebuild = rebuilding(r, rb, sizeof(rb));
    if (!qfs_u64(r, "quorum")) {
        v->kind = QFS_NO_QUORUM;
        v->word = "no_quorum";
        v->exit_code = QFS_EXIT_UNREACHABLE;
        snprintf(v->text, sizeof(v->text),
                 "no quorum (mutations refused; peers down: %.200s%s%.200s)",
                 down ? peers : "none known", rebuild ? "; " : "", rebuild ? rb : "");
    } else if (rebuild) {
        v->kind = QFS_CATCHING_UP;
        v->word = "catching_up";
        v->exit_code = QFS_EXIT_NOT_IN_SYNC;
        snprintf(v->text, sizeof(v->text), "catching up (%s)", rb);
    } else if (ctl_get(r, "read_index_error")) {
        /* a majority was heard from lately, but the leader did not confirm
         * the commit index now: this node cannot know it is current */
        v->kind = QFS_CATCHING_UP;
        v->word = "catching_up";
        v->exit_code = QFS_EXIT_NOT_IN_SYNC;
        snprintf(v->text, sizeof(v->text),
                 "catching up (commit index unknown: the leader did not answer, %s)",
                 qfs_str(r, "read_index_error"));
    } else if (v->behind || v->missing_chunks || ctl_get(r, "apply_error")) {
        v->kind = QFS_CATCHING_UP;
        v->word = "catching_up";
        v->exit_code = QFS_EXIT_NOT_IN_SYNC;
        catching_up(r, v);
    } else if (down) {
        v->kind = QFS_DEGRADED;
        v->word = "degraded";
        v->exit_code = QFS_EXIT_NOT_IN_SYNC;
        snprintf(v->text, sizeof(v->text), "degraded (peers down: %s)", peers);
    } else {
        v->kind = QFS_IN_SYNC;
        v->word = "in_sync";
        v->exit_code = QFS_EXIT_OK;
        snprintf(v->text, sizeof(v->text), "in sync");
    }
    add_apply_error(r, v);
}
