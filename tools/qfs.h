/*
 * qfs.h - subcommands of the qfs command-line tool. Each lives in its own
 * tools/qfs_<name>.c and is listed in qfs.c's table.
 *
 * A subcommand gets argv with argv[0] = its own name and returns the process
 * exit code: 0 success, 1 failure, QFS_EXIT_USAGE for a usage error.
 */
#ifndef QFS_TOOLS_QFS_H
#define QFS_TOOLS_QFS_H

#define QFS_EXIT_USAGE 3

int qfs_init_main(int argc, char **argv);

#endif
