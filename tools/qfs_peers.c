/* qfs peers: the members, with IDs, addresses, connection state and round-trip time. */
#include "tools/qfs.h"

#include <unistd.h>

static void peers_usage(FILE *f)
{
    fprintf(f, "usage: qfs peers [-c node.conf | --data DIR] [--json]\n"
               "Lists the members: ID, address, state, round-trip time, last heard, applied\n"
               "index, how far behind the commit index, chunks still to push to it.\n"
               "Exit: 0 all connected, 1 some peer down, 2 no quorum or daemon unreachable.\n");
}

static int peers_exit(struct ctl_reply *r)
{
    if (!qfs_u64(r, "quorum"))
        return QFS_EXIT_UNREACHABLE;
    uint64_t n = qfs_u64(r, "n_members");
    for (uint64_t i = 0; i < n && i < CLUSTER_MEMBERS_MAX_SHOWN; i++) {
        char k[64];
        snprintf(k, sizeof(k), "member.%llu.connected", (unsigned long long)i);
        if (!qfs_u64(r, k))
            return QFS_EXIT_NOT_IN_SYNC;
    }
    return QFS_EXIT_OK;
}

int qfs_peers_main(int argc, char **argv)
{
    struct qfs_common com = {0};
    struct qfs_node n = {0};
    struct ctl_reply r = {0};
    if (qfs_common_parse(argc, argv, &com) < 0 || com.help) {
        peers_usage(com.help ? stdout : stderr);
        return com.help ? QFS_EXIT_OK : QFS_EXIT_USAGE;
    }
    int rc = qfs_ask(&com.target, &n, "status", &r);
    if (!rc) {
        struct qfs_style s;
        qfs_style_init(&s, STDOUT_FILENO);
        rc = peers_exit(&r);
        if (com.json) {
            struct qfs_json j;
            qfs_json_begin(&j, stdout, "peers");
            qfs_json_bool(&j, "quorum", qfs_u64(&r, "quorum"));
            qfs_json_u64(&j, "commit", qfs_u64(&r, "commit"));
            qfs_json_i64(&j, "exit_code", rc);
            qfs_members_json(&j, &r);
            qfs_json_end(&j);
        } else {
            qfs_members_print(stdout, &r, &s, "");
        }
    }
    ctl_reply_free(&r);
    qfs_node_free(&n);
    return rc;
}
