/* fuse_cred.c - see fuse_cred.h. */
#include "fs/fuse/fuse_cred.h"

#include <stdlib.h>

#include "common/log.h"

/* Returns the group count stored in c (0 if they cannot be read: the rules
 * that need them then treat the caller as a member of its primary group only). */
static uint32_t fetch_groups(fuse_req_t req, struct fuse_cred *c)
{
    gid_t tmp[FUSE_CRED_INLINE_GROUPS];
    int n = fuse_req_getgroups(req, FUSE_CRED_INLINE_GROUPS, tmp);

    if (n < 0) {
        log_debug("fuse: cannot read the caller's groups: %d", n);
        return 0;
    }
    if (n <= FUSE_CRED_INLINE_GROUPS) {
        for (int i = 0; i < n; i++)
            c->inline_groups[i] = tmp[i];
        c->cr.groups = c->inline_groups;
        return (uint32_t)n;
    }
    gid_t *big = calloc((size_t)n, sizeof(*big));
    c->heap_groups = calloc((size_t)n, sizeof(*c->heap_groups));
    int m = big && c->heap_groups ? fuse_req_getgroups(req, n, big) : -1;
    if (m < 0 || m > n) {
        free(big);
        return 0;
    }
    for (int i = 0; i < m; i++)
        c->heap_groups[i] = big[i];
    free(big);
    c->cr.groups = c->heap_groups;
    return (uint32_t)m;
}

void fuse_cred_get(fuse_req_t req, bool with_groups, struct fuse_cred *c)
{
    const struct fuse_ctx *ctx = fuse_req_ctx(req);

    c->heap_groups = NULL;
    c->cr.uid = ctx->uid;
    c->cr.gid = ctx->gid;
    c->cr.umask = ctx->umask;
    c->cr.ngroups = 0;
    c->cr.groups = c->inline_groups;
    if (with_groups)
        c->cr.ngroups = fetch_groups(req, c);
}

void fuse_cred_put(struct fuse_cred *c)
{
    free(c->heap_groups);
    c->heap_groups = NULL;
}
