/*
 * file_io.h - whole-buffer positional I/O and the syncs that make a file's
 * name durable: what the on-disk logs (the Paxos log, the command logs)
 * share.
 *
 * Every call retries EINTR and short transfers, and returns 0 or -errno; a
 * transfer that makes no progress (a file that shrank under a read, a write
 * of 0 bytes) is -EIO.
 */
#ifndef QFS_COMMON_FILE_IO_H
#define QFS_COMMON_FILE_IO_H

#include <stddef.h>
#include <stdint.h>

int file_pwrite_all(int fd, const void *buf, size_t n, uint64_t off);
int file_pread_all(int fd, void *buf, size_t n, uint64_t off);
/* Writes zeros over [from, to): space that later writes overwrite in place,
 * so their fdatasync has no allocation or size change to write. */
int file_zero_fill(int fd, uint64_t from, uint64_t to);
/* fsync of a directory: a file created or renamed in it keeps its name
 * across a power cut. */
int file_sync_dir(const char *dir);
/* The same for the directory that holds path. */
int file_sync_parent(const char *path);

#endif
