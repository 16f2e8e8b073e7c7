/* qfs: the quorumfs command-line tool. Dispatches to one subcommand per file. */
#include "tools/qfs.h"

#include <stdio.h>
#include <string.h>

struct subcommand {
    const char *name;
    int (*main)(int argc, char **argv);
    const char *summary;
};

static const struct subcommand subcommands[] = {
    {"init", qfs_init_main, "create a node: key, certificate, config skeleton; print its ID"},
    {"status", qfs_status_main, "is everything in sync? one screen (PATH...: per file)"},
    {"peers", qfs_peers_main, "the members: IDs, addresses, connection state, round trip"},
    {"wait-sync", qfs_wait_sync_main, "wait until this node (or PATHs) holds every commit"},
    {"conflicts", qfs_conflicts_main, "list conflict copies; --resolve keeps one side"},
    {"metrics", qfs_metrics_main, "the status figures in the Prometheus text format"},
};

#define NSUB (sizeof(subcommands) / sizeof(subcommands[0]))

static void usage(FILE *f)
{
    fprintf(f, "usage: qfs [--help] [--version] COMMAND [ARGS]\n\ncommands:\n");
    for (size_t i = 0; i < NSUB; i++)
        fprintf(f, "  %-10s %s\n", subcommands[i].name, subcommands[i].summary);
    fprintf(f,
            "\nFinding the node: -c node.conf, --data DIR, or run inside a quorumfs mount\n"
            "(or set QFS_DATA). --json on every command prints one JSON document\n"
            "(schema: docs/qfs-status.schema.json). Colours only on a terminal; NO_COLOR\n"
            "turns them off.\n"
            "\nExit status:\n"
            "  0  in sync (or: done)\n"
            "  1  not in sync (catching up, degraded, waiting for chunks, timed out; or failed)\n"
            "  2  no quorum, or the daemon is unreachable\n"
            "  3  usage error\n"
            "\n'qfs COMMAND --help' describes a command; 'man qfs' all of them.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return QFS_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("qfs %s\n", QFS_VERSION);
        return 0;
    }
    for (size_t i = 0; i < NSUB; i++)
        if (strcmp(argv[1], subcommands[i].name) == 0)
            return subcommands[i].main(argc - 1, argv + 1);
    fprintf(stderr, "qfs: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return QFS_EXIT_USAGE;
}
