#include "fs/core/staging.h"

#include "fs/core/cmd.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int staging_init(struct staging *stg, size_t limit)
{
    memset(stg, 0, sizeof(*stg));
    stg->limit = limit;
    /* keep a quarter of the bound warm; the rest goes back to the system */
    stg->hints = calloc(STG_HINTS, sizeof(*stg->hints));
    if (!stg->hints)
        return -ENOMEM;
    int rc = bufpool_init(&stg->pool, STG_BLOCK, limit / STG_BLOCK / 4);
    if (rc) {
        free(stg->hints);
        stg->hints = NULL;
        return rc;
    }
    pthread_mutex_init(&stg->lock, NULL);
    pthread_mutex_init(&stg->hint_lock, NULL);
    return 0;
}

/* Returns sf's blocks to the pool; the caller holds stg->lock (or is alone). */
static void drop_blocks(struct staging *stg, struct sfile *sf)
{
    for (size_t i = 0; i < sf->n; i++)
        bufpool_put(&stg->pool, sf->blocks[i].data);
    stg->staged_bytes -= sf->n * STG_BLOCK;
    sf->n = 0;
}

static void free_sfile(struct staging *stg, struct sfile *sf)
{
    drop_blocks(stg, sf);
    free(sf->blocks);
    pthread_rwlock_destroy(&sf->lock);
    free(sf);
}

void staging_destroy(struct staging *stg)
{
    for (int i = 0; i < STG_BUCKETS; i++) {
        while (stg->table[i]) {
            struct sfile *sf = stg->table[i];
            stg->table[i] = sf->next;
            free_sfile(stg, sf);
        }
    }
    bufpool_destroy(&stg->pool);
    pthread_mutex_destroy(&stg->lock);
    pthread_mutex_destroy(&stg->hint_lock);
    free(stg->hints);
}

static struct sfile *lookup(struct staging *stg, uint64_t ino, bool create)
{
    struct sfile **b = &stg->table[ino % STG_BUCKETS];
    for (struct sfile *sf = *b; sf; sf = sf->next)
        if (sf->ino == ino)
            return sf;
    if (!create)
        return NULL;
    struct sfile *sf = calloc(1, sizeof(*sf));
    if (!sf)
        return NULL;
    sf->ino = ino;
    pthread_rwlock_init(&sf->lock, NULL);
    sf->next = *b;
    *b = sf;
    return sf;
}

/* Unlinks and frees sf when nothing holds it (stg->lock held). */
static void maybe_free(struct staging *stg, struct sfile *sf)
{
    if (sf->refs || sf->opens)
        return;
    for (struct sfile **pp = &stg->table[sf->ino % STG_BUCKETS]; *pp; pp = &(*pp)->next) {
        if (*pp == sf) {
            *pp = sf->next;
            break;
        }
    }
    free_sfile(stg, sf);
}

struct sfile *staging_ref(struct staging *stg, uint64_t ino, bool create)
{
    pthread_mutex_lock(&stg->lock);
    struct sfile *sf = lookup(stg, ino, create);
    if (sf)
        sf->refs++;
    pthread_mutex_unlock(&stg->lock);
    return sf;
}

void staging_unref(struct staging *stg, struct sfile *sf)
{
    if (!sf)
        return;
    pthread_mutex_lock(&stg->lock);
    sf->refs--;
    maybe_free(stg, sf);
    pthread_mutex_unlock(&stg->lock);
}

struct sfile *staging_open(struct staging *stg, uint64_t ino)
{
    pthread_mutex_lock(&stg->lock);
    struct sfile *sf = lookup(stg, ino, true);
    if (sf)
        sf->opens++;
    pthread_mutex_unlock(&stg->lock);
    return sf;
}

uint32_t staging_close(struct staging *stg, struct sfile *sf)
{
    pthread_mutex_lock(&stg->lock);
    uint32_t left = sf->opens ? --sf->opens : 0;
    maybe_free(stg, sf);
    pthread_mutex_unlock(&stg->lock);
    return left;
}

bool staging_is_open(struct staging *stg, uint64_t ino)
{
    pthread_mutex_lock(&stg->lock);
    struct sfile *sf = lookup(stg, ino, false);
    bool open = sf && sf->opens > 0;
    pthread_mutex_unlock(&stg->lock);
    return open;
}

/* Index of the first block with idx >= want. */
static size_t find_block(const struct sfile *sf, uint64_t want)
{
    size_t lo = 0, hi = sf->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (sf->blocks[mid].idx < want)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static struct sblock *get_block(struct staging *stg, struct sfile *sf, uint64_t idx)
{
    size_t i = find_block(sf, idx);
    if (i < sf->n && sf->blocks[i].idx == idx)
        return &sf->blocks[i];
    if (sf->n == sf->cap) {
        size_t cap = sf->cap ? sf->cap * 2 : 16;
        struct sblock *nb = realloc(sf->blocks, cap * sizeof(*nb));
        if (!nb)
            return NULL;
        sf->blocks = nb;
        sf->cap = cap;
    }
    uint8_t *data = bufpool_get(&stg->pool);
    if (!data)
        return NULL;
    memmove(&sf->blocks[i + 1], &sf->blocks[i], (sf->n - i) * sizeof(*sf->blocks));
    sf->n++;
    sf->blocks[i] = (struct sblock){.idx = idx, .lo = 0, .hi = 0, .data = data};
    pthread_mutex_lock(&stg->lock);
    stg->staged_bytes += STG_BLOCK;
    pthread_mutex_unlock(&stg->lock);
    return &sf->blocks[i];
}

/* Writes [a, b) of block bl, filling any gap to its staged range first. */
static int block_write(struct sblock *bl, uint32_t a, uint32_t b, const uint8_t *src,
                       stg_fill_fn fill, void *ctx)
{
    uint64_t base = bl->idx * STG_BLOCK;
    int rc = 0;
    if (bl->hi == bl->lo) {
        bl->lo = a;
        bl->hi = b;
    } else {
        if (a > bl->hi)
            rc = fill(ctx, base + bl->hi, bl->data + bl->hi, a - bl->hi);
        if (!rc && b < bl->lo)
            rc = fill(ctx, base + b, bl->data + b, bl->lo - b);
        if (rc)
            return rc;
        bl->lo = a < bl->lo ? a : bl->lo;
        bl->hi = b > bl->hi ? b : bl->hi;
    }
    memcpy(bl->data + a, src, b - a);
    return 0;
}

int staging_write(struct staging *stg, struct sfile *sf, uint64_t off, const uint8_t *buf,
                  size_t len, stg_fill_fn fill, void *ctx)
{
    size_t done = 0;
    while (done < len) {
        uint64_t pos = off + done;
        uint32_t a = (uint32_t)(pos % STG_BLOCK);
        size_t n = STG_BLOCK - a < len - done ? STG_BLOCK - a : len - done;
        struct sblock *bl = get_block(stg, sf, pos / STG_BLOCK);
        if (!bl)
            return -ENOMEM;
        int rc = block_write(bl, a, a + (uint32_t)n, buf + done, fill, ctx);
        if (rc)
            return rc;
        done += n;
    }
    if (off + len > sf->staged_end)
        sf->staged_end = off + len;
    return 0;
}

void staging_overlay(const struct sfile *sf, uint64_t off, uint8_t *buf, size_t len)
{
    for (size_t i = find_block(sf, off / STG_BLOCK); i < sf->n; i++) {
        const struct sblock *bl = &sf->blocks[i];
        uint64_t s = bl->idx * STG_BLOCK + bl->lo, e = bl->idx * STG_BLOCK + bl->hi;
        if (s >= off + len)
            break;
        if (e <= off)
            continue;
        uint64_t from = s > off ? s : off, to = e < off + len ? e : off + len;
        memcpy(buf + (from - off), bl->data + (from - bl->idx * STG_BLOCK), to - from);
    }
}

size_t staging_at(const struct sfile *sf, uint64_t pos, const uint8_t **p, uint64_t *next_start)
{
    *next_start = UINT64_MAX;
    for (size_t i = find_block(sf, pos / STG_BLOCK); i < sf->n; i++) {
        const struct sblock *bl = &sf->blocks[i];
        uint64_t base = bl->idx * STG_BLOCK;
        if (base + bl->hi <= pos)
            continue;
        if (base + bl->lo > pos) {
            *next_start = base + bl->lo;
            return 0;
        }
        *p = bl->data + (pos - base);
        return (size_t)(base + bl->hi - pos);
    }
    return 0;
}

void staging_clear(struct staging *stg, struct sfile *sf)
{
    pthread_mutex_lock(&stg->lock);
    drop_blocks(stg, sf);
    pthread_mutex_unlock(&stg->lock);
    sf->staged_end = 0;
    sf->kill_suid = false;
    sf->base_valid = false;
}

bool staging_over_limit(struct staging *stg)
{
    pthread_mutex_lock(&stg->lock);
    bool over = stg->staged_bytes > stg->limit;
    pthread_mutex_unlock(&stg->lock);
    return over;
}

void staging_hint_set(struct staging *stg, uint64_t ino, uint64_t parent, const char *name,
                      size_t len)
{
    if (len == 0 || len > STG_NAME_MAX)
        return;
    pthread_mutex_lock(&stg->hint_lock);
    struct stg_hint *h = &stg->hints[ino % STG_HINTS];
    h->ino = ino;
    h->parent = parent;
    h->len = (uint32_t)len;
    memcpy(h->name, name, len);
    pthread_mutex_unlock(&stg->hint_lock);
}

/* Copies the table's hint for sf->ino into sf, if the table still has it. */
static void hint_load(struct staging *stg, struct sfile *sf)
{
    pthread_mutex_lock(&stg->hint_lock);
    const struct stg_hint *h = &stg->hints[sf->ino % STG_HINTS];
    if (h->ino == sf->ino)
        sf->hint = *h;
    pthread_mutex_unlock(&stg->hint_lock);
}

void staging_keep_hint(struct staging *stg, struct sfile *sf)
{
    if (pthread_rwlock_trywrlock(&sf->lock) != 0)
        return;
    hint_load(stg, sf);
    pthread_rwlock_unlock(&sf->lock);
}

void staging_base(struct staging *stg, struct sfile *sf, uint64_t ver)
{
    sf->base_ver = ver;
    sf->base_valid = true;
    hint_load(stg, sf);
}

void staging_fill_cmd(struct staging *stg, struct sfile *sf, struct cmd *cmd)
{
    hint_load(stg, sf); /* a rename here since staging started moved it */
    if (sf->base_valid) {
        cmd->flags |= CMD_CONTENT_BASE;
        cmd->base_ver = sf->base_ver;
    }
    if (sf->hint.ino == sf->ino) {
        cmd->hint_parent = sf->hint.parent;
        cmd->hint_name = sf->hint.name;
        cmd->hint_namelen = sf->hint.len;
    }
}
