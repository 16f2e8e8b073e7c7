/*
 * fuse_cred.h - the caller's credentials, from a FUSE request.
 *
 * Supplementary groups cost a read of /proc/PID/task/TID/status, so they
 * are fetched only by the handlers whose rules need them (chown/chmod,
 * creating a setgid file). Release every fuse_cred_get with fuse_cred_put.
 */
#ifndef QFS_FS_FUSE_FUSE_CRED_H
#define QFS_FS_FUSE_FUSE_CRED_H

#include "fs/fuse/fuse_fs.h"

#define FUSE_CRED_INLINE_GROUPS 64

struct fuse_cred {
    struct core_cred cr;
    uint32_t inline_groups[FUSE_CRED_INLINE_GROUPS];
    uint32_t *heap_groups; /* when the caller has more groups than fit inline */
};

void fuse_cred_get(fuse_req_t req, bool with_groups, struct fuse_cred *c);
void fuse_cred_put(struct fuse_cred *c);

#endif
