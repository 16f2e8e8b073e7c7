/*
 * daemon.h - going to the background only once the mount is up.
 *
 * daemon_start() forks; the parent waits until the child reports (through a
 * pipe) whether it mounted, and exits with that status, so `quorumfs MNT`
 * returns 0 only when MNT is usable. Threads do not survive fork, so the
 * child starts the core and the FUSE session itself, after the fork.
 */
#ifndef QFS_FS_FUSE_DAEMON_H
#define QFS_FS_FUSE_DAEMON_H

/* Returns in the child only, with the pipe's write end in *ready_fd; its
 * stdin/stdout become /dev/null and stderr goes to log_path (appended).
 * Returns -errno if the fork fails (in the caller, still foreground). */
int daemon_start(const char *log_path, int *ready_fd);

/* Tells the waiting parent to exit with status (0 = mounted). */
void daemon_ready(int ready_fd, int status);

#endif
