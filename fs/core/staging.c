#include "fs/core/staging.h"

#include "fs/core/cmd.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int staging_init(struct staging *stg, size_t limit)
{
    memset(stg, 0, sizeof(*stg));
    stg->limit = limit;
    stg->hints = calloc(STG_HINTS, sizeof(*stg->hints));
    if (!stg->hints)
        return -ENOMEM;
    size_t floor = limit / STG_PAGE / 64;
    if (floor > STG_POOL_FLOOR_MAX / STG_PAGE)
        floor = STG_POOL_FLOOR_MAX / STG_PAGE;
    int rc = page_pool_init(&stg->pool, STG_PAGE, floor, STG_POOL_IDLE_MS);
    if (rc) {
        free(stg->hints);
        stg->hints = NULL;
        return rc;
    }
    pthread_mutex_init(&stg->lock, NULL);
    pthread_mutex_init(&stg->hint_lock, NULL);
    return 0;
}

/* Returns sf's pages to the pool and frees its block indexes; the caller
 * holds stg->lock (or is alone). */
static void drop_blocks(struct staging *stg, struct sfile *sf)
{
    for (size_t i = 0; i < sf->n; i++) {
        struct sblock *bl = sf->blocks[i];
        for (unsigned p = 0; p < STG_PAGES; p++) {
            if (bl->page[p]) {
                page_pool_put(&stg->pool, bl->page[p]);
                stg->staged_bytes -= STG_PAGE;
            }
        }
        free(bl);
        stg->staged_bytes -= sizeof(*bl);
    }
    sf->n = 0;
    sf->pages = 0;
}

static void free_sfile(struct staging *stg, struct sfile *sf)
{
    if (sf->frozen) /* its commit failed and nobody is left to retry it */
        free_sfile(stg, sf->frozen);
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
    page_pool_destroy(&stg->pool);
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
        if (sf->blocks[mid]->idx < want)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void add_staged(struct staging *stg, size_t bytes)
{
    pthread_mutex_lock(&stg->lock);
    stg->staged_bytes += bytes;
    pthread_mutex_unlock(&stg->lock);
}

static struct sblock *get_block(struct staging *stg, struct sfile *sf, uint64_t idx)
{
    size_t i = find_block(sf, idx);
    if (i < sf->n && sf->blocks[i]->idx == idx)
        return sf->blocks[i];
    if (sf->n == sf->cap) {
        size_t cap = sf->cap ? sf->cap * 2 : 16;
        struct sblock **nb = realloc(sf->blocks, cap * sizeof(*nb));
        if (!nb)
            return NULL;
        sf->blocks = nb;
        sf->cap = cap;
    }
    struct sblock *bl = calloc(1, sizeof(*bl));
    if (!bl)
        return NULL;
    bl->idx = idx;
    memmove(&sf->blocks[i + 1], &sf->blocks[i], (sf->n - i) * sizeof(*sf->blocks));
    sf->blocks[i] = bl;
    sf->n++;
    add_staged(stg, sizeof(*bl));
    return bl;
}

/* Writes [a, b) of page p of block bl, filling any gap to the page's staged
 * range first. */
static int page_write(struct staging *stg, struct sblock *bl, unsigned p, uint32_t a, uint32_t b,
                      const uint8_t *src, stg_fill_fn fill, void *ctx)
{
    uint64_t base = bl->idx * STG_BLOCK + (uint64_t)p * STG_PAGE;
    uint8_t *data = bl->page[p];
    int rc = 0;
    if (!data) {
        if (!(data = page_pool_get(&stg->pool)))
            return -ENOMEM;
        bl->page[p] = data;
        bl->lo[p] = bl->hi[p] = 0;
        add_staged(stg, STG_PAGE);
    }
    if (bl->hi[p] == bl->lo[p]) {
        bl->lo[p] = (uint16_t)a;
        bl->hi[p] = (uint16_t)b;
    } else {
        if (a > bl->hi[p])
            rc = fill(ctx, base + bl->hi[p], data + bl->hi[p], a - bl->hi[p]);
        if (!rc && b < bl->lo[p])
            rc = fill(ctx, base + b, data + b, bl->lo[p] - b);
        if (rc)
            return rc;
        bl->lo[p] = (uint16_t)(a < bl->lo[p] ? a : bl->lo[p]);
        bl->hi[p] = (uint16_t)(b > bl->hi[p] ? b : bl->hi[p]);
    }
    memcpy(data + a, src, b - a);
    return 0;
}

int staging_write(struct staging *stg, struct sfile *sf, uint64_t off, const uint8_t *buf,
                  size_t len, stg_fill_fn fill, void *ctx)
{
    size_t done = 0;
    struct sblock *bl = NULL;
    while (done < len) {
        uint64_t pos = off + done;
        uint32_t a = (uint32_t)(pos % STG_PAGE);
        size_t n = STG_PAGE - a < len - done ? STG_PAGE - a : len - done;
        if (!bl || bl->idx != pos / STG_BLOCK)
            bl = get_block(stg, sf, pos / STG_BLOCK);
        if (!bl)
            return -ENOMEM;
        unsigned p = (unsigned)(pos % STG_BLOCK / STG_PAGE);
        bool fresh = !bl->page[p];
        int rc = page_write(stg, bl, p, a, a + (uint32_t)n, buf + done, fill, ctx);
        sf->pages += fresh && bl->page[p];
        if (rc)
            return rc;
        done += n;
    }
    if (off + len > sf->staged_end)
        sf->staged_end = off + len;
    return 0;
}

/* The staged range of page p of bl in file offsets; false if it has none. */
static bool page_range(const struct sblock *bl, unsigned p, uint64_t *s, uint64_t *e)
{
    if (!bl->page[p] || bl->lo[p] == bl->hi[p])
        return false;
    uint64_t base = bl->idx * STG_BLOCK + (uint64_t)p * STG_PAGE;
    *s = base + bl->lo[p];
    *e = base + bl->hi[p];
    return true;
}

void staging_overlay(const struct sfile *sf, uint64_t off, uint8_t *buf, size_t len)
{
    for (size_t i = find_block(sf, off / STG_BLOCK); i < sf->n; i++) {
        const struct sblock *bl = sf->blocks[i];
        if (bl->idx * STG_BLOCK >= off + len)
            break;
        for (unsigned p = 0; p < STG_PAGES; p++) {
            uint64_t s, e;
            if (!page_range(bl, p, &s, &e) || e <= off)
                continue;
            if (s >= off + len)
                break;
            uint64_t from = s > off ? s : off, to = e < off + len ? e : off + len;
            uint64_t base = s - bl->lo[p];
            memcpy(buf + (from - off), bl->page[p] + (from - base), to - from);
        }
    }
}

size_t staging_at(const struct sfile *sf, uint64_t pos, const uint8_t **ptr, uint64_t *next_start)
{
    *next_start = UINT64_MAX;
    for (size_t i = find_block(sf, pos / STG_BLOCK); i < sf->n; i++) {
        const struct sblock *bl = sf->blocks[i];
        for (unsigned p = 0; p < STG_PAGES; p++) {
            uint64_t s, e;
            if (!page_range(bl, p, &s, &e) || e <= pos)
                continue;
            if (s > pos) {
                *next_start = s;
                return 0;
            }
            *ptr = bl->page[p] + (pos - (s - bl->lo[p]));
            return (size_t)(e - pos);
        }
    }
    return 0;
}

/* The first staged page at or after cur: its range; advances cur past it. */
static bool next_page(const struct sfile *sf, struct stg_cursor *cur, uint64_t *s, uint64_t *e)
{
    for (; cur->block < sf->n; cur->block++, cur->page = 0) {
        const struct sblock *bl = sf->blocks[cur->block];
        for (; cur->page < STG_PAGES; cur->page++) {
            if (page_range(bl, cur->page, s, e)) {
                cur->page++;
                return true;
            }
        }
    }
    return false;
}

bool staging_next_region(const struct sfile *sf, struct stg_cursor *cur, uint64_t *start,
                         uint64_t *end)
{
    if (!next_page(sf, cur, start, end))
        return false;
    for (;;) {
        struct stg_cursor peek = *cur;
        uint64_t s, e;
        if (!next_page(sf, &peek, &s, &e) || s != *end)
            return true;
        *end = e;
        *cur = peek;
    }
}

void staging_clear(struct staging *stg, struct sfile *sf)
{
    pthread_mutex_lock(&stg->lock);
    drop_blocks(stg, sf);
    pthread_mutex_unlock(&stg->lock);
    sf->staged_end = 0;
    sf->written = (struct timespec){0};
    sf->kill_suid = false;
    sf->base_valid = false;
}

bool staging_dense(const struct sfile *sf, size_t bytes)
{
    return sf->pages * STG_PAGE >= bytes && sf->pages * 4 >= sf->n * STG_PAGES * 3;
}

bool staging_over_limit(struct staging *stg)
{
    return staging_over(stg, stg->limit);
}

bool staging_over(struct staging *stg, size_t bytes)
{
    pthread_mutex_lock(&stg->lock);
    bool over = stg->staged_bytes > bytes;
    pthread_mutex_unlock(&stg->lock);
    return over;
}

struct sfile *staging_detach(struct sfile *sf)
{
    struct sfile *fz = calloc(1, sizeof(*fz));
    if (!fz)
        return NULL;
    fz->ino = sf->ino;
    pthread_rwlock_init(&fz->lock, NULL);
    fz->blocks = sf->blocks;
    fz->n = sf->n;
    fz->cap = sf->cap;
    fz->pages = sf->pages;
    fz->staged_end = sf->staged_end;
    fz->written = sf->written;
    fz->kill_suid = sf->kill_suid;
    fz->base_valid = sf->base_valid;
    fz->base_ver = sf->base_ver;
    fz->hint = sf->hint;
    sf->blocks = NULL;
    sf->n = sf->cap = sf->pages = 0;
    sf->staged_end = 0;
    sf->written = (struct timespec){0};
    sf->kill_suid = false;
    sf->frozen = fz;
    return fz;
}

void staging_drop_frozen(struct staging *stg, struct sfile *sf)
{
    struct sfile *fz = sf->frozen;
    if (!fz)
        return;
    sf->frozen = NULL;
    pthread_mutex_lock(&stg->lock);
    free_sfile(stg, fz);
    pthread_mutex_unlock(&stg->lock);
}

uint64_t staging_end(const struct sfile *sf)
{
    uint64_t fz = sf->frozen ? sf->frozen->staged_end : 0;
    return sf->staged_end > fz ? sf->staged_end : fz;
}

static bool later(struct timespec a, struct timespec b)
{
    return a.tv_sec != b.tv_sec ? a.tv_sec > b.tv_sec : a.tv_nsec > b.tv_nsec;
}

struct timespec staging_written(const struct sfile *sf)
{
    if (sf->frozen && later(sf->frozen->written, sf->written))
        return sf->frozen->written;
    return sf->written;
}

void staging_overlay_all(const struct sfile *sf, uint64_t off, uint8_t *buf, size_t len)
{
    if (sf->frozen)
        staging_overlay(sf->frozen, off, buf, len);
    staging_overlay(sf, off, buf, len);
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
