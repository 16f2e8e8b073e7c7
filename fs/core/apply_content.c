/* apply_content.c - content commits: replace chunk-map ranges with extents,
 * after moving a concurrent version aside (apply_conflict.c). */
#include "fs/chunk/chunker.h"
#include "fs/core/apply_internal.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* Ranges sorted, disjoint, non-empty; extents sorted, disjoint, each inside
 * a range and a chunk, none past the resulting size. */
static int validate(const struct cmd *c, uint64_t size)
{
    uint64_t prev_end = 0, s, e;
    for (uint32_t i = 0; i < c->n_ranges; i++) {
        cmd_range_get(c, i, &s, &e);
        if (s >= e || (i && s < prev_end))
            return -EINVAL;
        prev_end = e;
    }
    uint32_t r = 0;
    prev_end = 0;
    for (uint32_t i = 0; i < c->n_ext; i++) {
        struct meta_extent x;
        cmd_extent_get(c, i, &x);
        if (x.len == 0 || (uint64_t)x.coff + x.len > CHUNK_MAX || x.off < prev_end ||
            x.off + x.len > size || x.off + x.len < x.off)
            return -EINVAL;
        prev_end = x.off + x.len;
        while (r < c->n_ranges && (cmd_range_get(c, r, &s, &e), e <= x.off))
            r++;
        if (r == c->n_ranges || x.off < s || prev_end > e)
            return -EINVAL;
    }
    return 0;
}

static void kill_suid(struct meta_inode *in)
{
    in->mode &= ~(uint32_t)S_ISUID;
    if (in->mode & S_IXGRP)
        in->mode &= ~(uint32_t)S_ISGID;
}

void apply_content_changed(struct apply_ctx *a, struct meta_inode *in)
{
    const struct cmd *c = a->c;
    /* Only CONTENT encodes a tag: a SETATTR's tag field, set or not on the
     * proposer, is not what the other nodes apply. */
    const char *tag = c->op == CMD_CONTENT ? c->tag : "";
    in->content_ver++;
    /* Without a tag, the old tag stays only if the node is the same. */
    if (tag[0] || in->content_origin != c->origin)
        snprintf(in->content_tag, sizeof(in->content_tag), "%s", tag);
    in->content_origin = c->origin;
}

int apply_content(struct apply_ctx *a)
{
    const struct cmd *c = a->c;
    struct meta_inode in;
    int rc = meta_inode_get(a->ms, a->txn, c->ino, &in);
    if (rc)
        return rc;
    if (S_ISDIR(in.mode))
        return -EISDIR;
    if (!S_ISREG(in.mode) || (c->flags & ~(uint32_t)CMD_CONTENT_FLAGS))
        return -EINVAL;
    uint64_t size = in.size > c->min_size ? in.size : c->min_size;
    bool conflict = apply_is_conflict(c, &in);
    rc = validate(c, size);
    if (!rc && conflict)
        rc = apply_conflict_copy(a, &in);
    int64_t alloc = (int64_t)in.alloc;
    if (!rc && conflict && c->min_size < in.size) {
        /* The later writer's file was this long (it truncated it, or its
         * version was shorter): the newer bytes past that end are in the
         * copy, not in its version. */
        int64_t delta;
        size = c->min_size;
        rc = meta_map_remove_range(a->ms, a->txn, c->ino, size, UINT64_MAX, &delta);
        alloc += delta;
    }
    for (uint32_t i = 0; i < c->n_ranges && !rc; i++) {
        uint64_t s, e;
        int64_t delta;
        cmd_range_get(c, i, &s, &e);
        rc = meta_map_remove_range(a->ms, a->txn, c->ino, s, e, &delta);
        alloc += delta;
    }
    for (uint32_t i = 0; i < c->n_ext && !rc; i++) {
        struct meta_extent x;
        cmd_extent_get(c, i, &x);
        rc = meta_map_insert(a->ms, a->txn, c->ino, &x);
        alloc += x.len;
    }
    if (rc)
        return rc;
    if (c->n_ranges || c->n_ext || size != in.size)
        apply_content_changed(a, &in);
    in.size = size;
    in.alloc = (uint64_t)alloc;
    if (c->flags & CMD_CONTENT_MTIME)
        in.mtime = in.ctime = c->time;
    if (c->flags & CMD_CONTENT_KILL_SUID)
        kill_suid(&in);
    rc = meta_inode_put(a->ms, a->txn, &in);
    return rc ? rc : apply_result_attr(a, &in);
}
