/*
 * file_store.h - a chunk store for tests and benchmarks: one file per chunk,
 * named by its hex SHA-256, in one directory. Implements net/chunk_io.h.
 *
 * put_batch writes every chunk to a temporary name, syncs the filesystem
 * once, renames them into place and syncs the directory: a batch costs two
 * syncs, and a crash never leaves a chunk under its final name half written.
 * get verifies the bytes against the name (-EIO if they differ).
 */
#ifndef QFS_TESTS_NET_FILE_STORE_H
#define QFS_TESTS_NET_FILE_STORE_H

#include "net/chunk_io.h"

struct file_store;

/* Creates dir if needed and removes leftover temporary files. */
int file_store_open(const char *dir, struct file_store **out);
void file_store_close(struct file_store *fs);
/* While the file full_if exists, every put fails with ENOSPC (a full disk,
 * on demand); NULL (the default) never. The path is not copied. */
void file_store_full_if(struct file_store *fs, const char *full_if);
/* A chunk_io whose ctx is fs. */
void file_store_io(struct file_store *fs, struct chunk_io *io);
/* Chunks the replicator reported as stored on every peer (chunk_io.pushed). */
unsigned long file_store_pushed(struct file_store *fs);

#endif
