/* apply_ns.c - namespace commands: init, create, link, unlink/rmdir, rename. */
#include "fs/core/apply_internal.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#define ROOT_INO 1

int apply_init(struct apply_ctx *a)
{
    struct meta_inode root;
    int rc = meta_inode_get(a->ms, a->txn, ROOT_INO, &root);
    if (rc != -ENOENT)
        return rc ? rc : apply_result_attr(a, &root);
    memset(&root, 0, sizeof(root));
    root.ino = ROOT_INO;
    root.mode = S_IFDIR | (a->c->mode & 07777);
    root.uid = a->c->cred.uid;
    root.gid = a->c->cred.gid;
    root.nlink = 2;
    root.parent = ROOT_INO;
    root.next_cookie = META_FIRST_COOKIE;
    root.atime = root.mtime = root.ctime = a->c->time;
    rc = meta_inode_put(a->ms, a->txn, &root);
    if (!rc)
        rc = meta_counter_put(a->ms, a->txn, "next_ino", ROOT_INO + 1);
    return rc ? rc : apply_result_attr(a, &root);
}

static int check_name(const char *name, uint32_t len)
{
    if (len == 0)
        return -EINVAL;
    if (len > META_NAME_MAX)
        return -ENAMETOOLONG;
    if (memchr(name, '/', len) || memchr(name, '\0', len) || (len == 1 && name[0] == '.') ||
        (len == 2 && name[0] == '.' && name[1] == '.'))
        return -EINVAL;
    return 0;
}

/* Fails with -EEXIST if parent/name exists, -ENOENT/-ENOTDIR for a bad parent. */
static int check_free_name(struct apply_ctx *a, uint64_t parent, const char *name, uint32_t len,
                           struct meta_inode *dir)
{
    int rc = check_name(name, len);
    if (!rc)
        rc = apply_get_dir(a, parent, dir);
    if (rc)
        return rc;
    if (dir->nlink == 0)
        return -ENOENT; /* a removed directory that is still open */
    struct meta_dirent e;
    rc = meta_dirent_get(a->ms, a->txn, parent, name, len, &e);
    return rc == 0 ? -EEXIST : rc == -ENOENT ? 0 : rc;
}

/* Adds name -> child in dir with a fresh cookie; bumps dir's times (and
 * nlink when child is a directory); writes dir back. */
static int add_entry(struct apply_ctx *a, struct meta_inode *dir, const char *name, uint32_t len,
                     const struct meta_inode *child)
{
    struct meta_dirent e = {child->ino, child->mode & S_IFMT, dir->next_cookie++};
    if (S_ISDIR(child->mode))
        dir->nlink++;
    dir->mtime = dir->ctime = a->c->time;
    int rc = meta_dirent_put(a->ms, a->txn, dir->ino, name, len, &e);
    return rc ? rc : meta_inode_put(a->ms, a->txn, dir);
}

static int new_inode(struct apply_ctx *a, const struct meta_inode *dir, struct meta_inode *in)
{
    const struct cmd *c = a->c;
    uint64_t next;
    int rc = meta_counter_get(a->ms, a->txn, "next_ino", &next);
    if (rc)
        return rc;
    if (next <= ROOT_INO)
        return -EPROTO; /* no CMD_INIT yet */
    memset(in, 0, sizeof(*in));
    in->ino = next;
    in->uid = c->cred.uid;
    in->gid = (dir->mode & S_ISGID) ? dir->gid : c->cred.gid;
    in->atime = in->mtime = in->ctime = c->time;
    in->nlink = 1;
    switch (c->op) {
    case CMD_MKDIR:
        in->mode = S_IFDIR | (c->mode & 07777) | (dir->mode & S_ISGID);
        in->nlink = 2;
        in->parent = dir->ino;
        in->next_cookie = META_FIRST_COOKIE;
        break;
    case CMD_SYMLINK:
        in->mode = S_IFLNK | 0777;
        in->size = c->datalen;
        break;
    default:
        in->mode = c->mode;
        in->rdev = c->rdev;
        /* As the kernel's own filesystems: a non-member does not get setgid. */
        if ((in->mode & S_ISGID) && !S_ISDIR(in->mode) && c->cred.uid != 0 &&
            !apply_in_group(&c->cred, in->gid))
            in->mode &= ~(uint32_t)S_ISGID;
    }
    return meta_counter_put(a->ms, a->txn, "next_ino", next + 1);
}

static int check_create_mode(const struct cmd *c)
{
    if (c->op != CMD_MKNOD)
        return c->op == CMD_SYMLINK && (c->datalen == 0 || c->datalen > CMD_TARGET_MAX) ? -EINVAL
                                                                                        : 0;
    switch (c->mode & S_IFMT) {
    case S_IFREG:
    case S_IFIFO:
    case S_IFSOCK:
    case S_IFCHR:
    case S_IFBLK:
        return 0;
    default:
        return -EINVAL;
    }
}

int apply_create(struct apply_ctx *a)
{
    const struct cmd *c = a->c;
    struct meta_inode dir, in;
    int rc = check_create_mode(c);
    if (!rc)
        rc = check_free_name(a, c->ino, c->name, c->namelen, &dir);
    if (!rc)
        rc = new_inode(a, &dir, &in);
    if (!rc && c->op == CMD_SYMLINK)
        rc = meta_symlink_put(a->ms, a->txn, in.ino, (const char *)c->data, c->datalen);
    if (!rc)
        rc = meta_inode_put(a->ms, a->txn, &in);
    if (!rc)
        rc = add_entry(a, &dir, c->name, c->namelen, &in);
    return rc ? rc : apply_result_attr(a, &in);
}

int apply_link(struct apply_ctx *a)
{
    const struct cmd *c = a->c;
    struct meta_inode dir, in;
    int rc = meta_inode_get(a->ms, a->txn, c->ino, &in);
    if (rc)
        return rc;
    if (S_ISDIR(in.mode))
        return -EPERM;
    if (in.nlink == 0)
        return -ENOENT;
    if (in.nlink >= 65000)
        return -EMLINK;
    rc = check_free_name(a, c->ino2, c->name2, c->name2len, &dir);
    if (rc)
        return rc;
    in.nlink++;
    in.ctime = c->time;
    rc = meta_inode_put(a->ms, a->txn, &in);
    if (!rc)
        rc = add_entry(a, &dir, c->name2, c->name2len, &in);
    return rc ? rc : apply_result_attr(a, &in);
}

/* Removes dir/name (entry e, inode victim) and drops the victim's link. */
static int remove_entry(struct apply_ctx *a, struct meta_inode *dir, const char *name, uint32_t len,
                        const struct meta_dirent *e, struct meta_inode *victim)
{
    int rc = meta_dirent_del(a->ms, a->txn, dir->ino, name, len, e->cookie);
    if (!rc)
        rc = apply_conflict_forget(a, victim->ino);
    if (rc)
        return rc;
    if (S_ISDIR(victim->mode))
        dir->nlink--;
    dir->mtime = dir->ctime = a->c->time;
    rc = meta_inode_put(a->ms, a->txn, dir);
    return rc ? rc : apply_drop_link(a, victim, a->c->flags & CMD_KEEP_ORPHAN);
}

/* A directory victim must be empty. */
static int check_victim_dir(struct apply_ctx *a, const struct meta_inode *victim)
{
    int rc = meta_dir_empty(a->ms, a->txn, victim->ino);
    return rc < 0 ? rc : rc ? 0 : -ENOTEMPTY;
}

int apply_remove(struct apply_ctx *a)
{
    const struct cmd *c = a->c;
    struct meta_inode dir, victim;
    struct meta_dirent e;
    int rc = check_name(c->name, c->namelen);
    if (rc)
        return c->op == CMD_RMDIR && c->namelen == 1 && c->name[0] == '.' ? -EINVAL
               : c->op == CMD_RMDIR && rc == -EINVAL                      ? -ENOTEMPTY
                                                                          : rc;
    rc = apply_get_dir(a, c->ino, &dir);
    if (!rc)
        rc = meta_dirent_get(a->ms, a->txn, c->ino, c->name, c->namelen, &e);
    if (!rc)
        rc = meta_inode_get(a->ms, a->txn, e.child, &victim);
    if (rc)
        return rc;
    if (c->op == CMD_UNLINK && S_ISDIR(victim.mode))
        return -EISDIR;
    if (c->op == CMD_RMDIR && !S_ISDIR(victim.mode))
        return -ENOTDIR;
    if (c->op == CMD_RMDIR && (rc = check_victim_dir(a, &victim)))
        return rc;
    return remove_entry(a, &dir, c->name, c->namelen, &e, &victim);
}
