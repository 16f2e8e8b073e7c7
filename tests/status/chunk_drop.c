/*
 * chunk-drop DATA_DIR INO: deletes from DATA_DIR's chunk store the chunk that
 * holds the first byte of inode INO's content, and prints its hex name. The
 * store must not be open (unmounted). This is how the status tests make a
 * real node lack a chunk its metadata references, as a node does whose fetch
 * has not happened yet. Exit status: 0 done, 1 error, 2 usage.
 */
#include "fs/chunk/chunk_store.h"
#include "fs/store/meta_map.h"
#include "fs/store/meta_store.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int find_hash(const char *data, uint64_t ino, uint8_t hash[SHA256_LEN])
{
    char path[PATH_MAX];
    struct meta_store *ms;
    struct meta_extent e;
    MDB_txn *txn;
    snprintf(path, sizeof(path), "%s/meta", data);
    int rc = meta_store_open(path, &ms);
    if (rc)
        return rc;
    rc = meta_txn_read(ms, &txn);
    if (!rc) {
        rc = meta_map_next(ms, txn, ino, 0, &e);
        mdb_txn_abort(txn);
    }
    meta_store_close(ms);
    if (!rc)
        memcpy(hash, e.hash, SHA256_LEN);
    return rc;
}

static int drop(const char *data, const uint8_t hash[SHA256_LEN])
{
    char path[PATH_MAX];
    struct chunk_store *cs;
    snprintf(path, sizeof(path), "%s/chunks", data);
    int rc = chunk_store_open(path, &cs);
    if (rc)
        return rc;
    rc = chunk_store_has(cs, hash);
    rc = rc == 1   ? chunk_store_delete_batch(cs, (const uint8_t(*)[SHA256_LEN])hash, 1)
         : rc == 0 ? -ENOENT
                   : rc;
    chunk_store_close(cs);
    return rc;
}

int main(int argc, char **argv)
{
    uint8_t hash[SHA256_LEN];
    char hex[SHA256_HEX_LEN + 1], *end;
    if (argc != 3) {
        fprintf(stderr, "usage: chunk-drop DATA_DIR INO\n");
        return 2;
    }
    unsigned long long ino = strtoull(argv[2], &end, 10);
    if (*end || end == argv[2]) {
        fprintf(stderr, "chunk-drop: bad inode number %s\n", argv[2]);
        return 2;
    }
    int rc = find_hash(argv[1], ino, hash);
    if (!rc)
        rc = drop(argv[1], hash);
    if (rc) {
        fprintf(stderr, "chunk-drop: %s inode %llu: %s\n", argv[1], ino, strerror(-rc));
        return 1;
    }
    sha256_hex(hash, hex);
    printf("%s\n", hex);
    return 0;
}
