#include "fs/store/meta_checkpoint.h"

#include "common/bytes.h"
#include "common/crc32c.h"
#include "common/file_io.h"
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Slot layout (little-endian): magic u32, version u32, page size u32,
 * CRC32C u32 (of the slot's other bytes, to the end of the images), seq
 * u64, txnid u64, inode u64, then the two meta pages. */
#define CKPT_MAGIC     0x504b4351u /* "QCKP" */
#define CKPT_HDR       40
#define CKPT_SLOT      (256u << 10) /* fixed stride: a torn slot 0 hides no slot 1 */
#define CKPT_PSIZE_MAX (64u << 10)
/* A checkpoint is begun after this many commits, or this long after the
 * last began when any. Commits since the last durable checkpoint cannot
 * reuse the pages they free (some 7 a commit), so this bounds how far the
 * store file grows past its live data: a few MiB (a 20,000-file create and
 * unlink run left it at 2.4 MB with 32, 15 MB with 256). Each checkpoint
 * costs the thread beside the writer two syncs. */
#define CKPT_COMMITS  128
#define CKPT_INTERVAL 100000000 /* ns */

/* The writer thread owns everything but job_*; the checkpoint thread does a
 * job's slow part (the syncs) while the writer goes on committing. */
struct meta_ckpt {
    int fd; /* dir/checkpoint, flock()ed */
    char db[PATH_MAX];
    MDB_env *env; /* NULL until started */
    int dbfd;     /* the env's own descriptor of data.mdb */
    uint32_t psize;
    uint64_t seq;   /* of the last saved slot */
    uint64_t txnid; /* of the state the last slot saved */
    uint64_t ino;
    uint64_t begun_txnid, begun_ns; /* of the last checkpoint begun */
    MDB_txn *pin;                   /* read transaction on txnid: its pages are not reused */
    MDB_txn *next;                  /* the pin of the checkpoint in flight, if any */
    uint8_t *buf; /* CKPT_SLOT bytes; the checkpoint thread's while one is in flight */
    pthread_t thread;
    bool thread_started;
    pthread_mutex_t job_lock; /* guards job_state, job_rc, job_stop */
    pthread_cond_t job_cond;  /* job_state changed, or job_stop set */
    enum { JOB_NONE, JOB_QUEUED, JOB_DONE } job_state;
    int job_rc;
    bool job_stop;
};

struct slot {
    uint32_t psize;
    uint64_t seq, txnid, ino;
    const uint8_t *images;
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint32_t slot_crc(const uint8_t *b, uint32_t psize)
{
    uint32_t crc = crc32c_update(0, b, 12);
    return crc32c_update(crc, b + 16, CKPT_HDR - 16 + 2 * (size_t)psize);
}

/* 1: b holds a whole slot; 0: empty or torn; -EPROTO: another version. */
static int parse_slot(const uint8_t *b, struct slot *s)
{
    if (get_u32(b) != CKPT_MAGIC)
        return 0;
    s->psize = get_u32(b + 8);
    if (s->psize < 512 || s->psize > CKPT_PSIZE_MAX || (s->psize & (s->psize - 1)))
        return 0;
    if (get_u32(b + 12) != slot_crc(b, s->psize))
        return 0;
    if (get_u32(b + 4) != META_CKPT_VERSION)
        return -EPROTO;
    s->seq = get_u64(b + 16);
    s->txnid = get_u64(b + 24);
    s->ino = get_u64(b + 32);
    s->images = b + CKPT_HDR;
    return 1;
}

/* The newest whole slot of the file into ck->buf: 1 found, 0 none, -errno. */
static int read_latest(struct meta_ckpt *ck, struct slot *out)
{
    uint8_t *b[2] = {ck->buf, malloc(CKPT_SLOT)};
    if (!b[1])
        return -ENOMEM;
    struct slot s[2];
    int ok[2], rc = 0;
    for (int i = 0; i < 2 && !rc; i++) {
        ssize_t n = pread(ck->fd, b[i], CKPT_SLOT, (off_t)i * CKPT_SLOT);
        if (n < 0)
            rc = -errno;
        else if (n < CKPT_SLOT)
            memset(b[i] + n, 0, CKPT_SLOT - (size_t)n);
        if (!rc)
            rc = ok[i] = parse_slot(b[i], &s[i]);
        rc = rc < 0 ? rc : 0;
    }
    int best = -1;
    for (int i = 0; i < 2 && !rc; i++)
        if (ok[i] == 1 && (best < 0 || s[i].seq > s[best].seq))
            best = i;
    if (best == 1)
        memcpy(b[0], b[1], CKPT_SLOT);
    free(b[1]);
    if (rc || best < 0)
        return rc;
    *out = s[best];
    out->images = ck->buf + CKPT_HDR;
    return 1;
}

/* Writes the slot's meta pages over data.mdb's, unless the file is another. */
static int put_back(struct meta_ckpt *ck, const struct slot *s)
{
    int fd = open(ck->db, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -errno;
    struct stat st;
    int rc = fstat(fd, &st) ? -errno : 0;
    if (!rc && (uint64_t)st.st_ino != s->ino) {
        log_warn("meta store: %s was replaced since its checkpoint; opening it as it is", ck->db);
        close(fd);
        return 0;
    }
    size_t len = 2 * (size_t)s->psize;
    if (!rc && pwrite(fd, s->images, len, 0) != (ssize_t)len)
        rc = errno ? -errno : -EIO;
    if (!rc && fdatasync(fd))
        rc = -errno;
    close(fd);
    return rc ? rc : 1;
}

static int open_locked(const char *dir, struct meta_ckpt *ck)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof(path), "%s/checkpoint", dir) >= (int)sizeof(path) ||
        snprintf(ck->db, sizeof(ck->db), "%s/data.mdb", dir) >= (int)sizeof(ck->db))
        return -ENAMETOOLONG;
    ck->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (ck->fd < 0)
        return -errno;
    if (flock(ck->fd, LOCK_EX | LOCK_NB)) {
        int rc = errno == EWOULDBLOCK ? -EBUSY : -errno;
        if (rc == -EBUSY)
            log_error("meta store %s: in use by another process", dir);
        return rc;
    }
    /* A checkpoint whose file a power cut could unlink would restore nothing
     * over a store that stopped syncing: the name is made durable first. */
    return file_sync_dir(dir);
}

int meta_ckpt_restore(const char *dir, struct meta_ckpt **out, uint64_t *txnid)
{
    struct meta_ckpt *ck = calloc(1, sizeof(*ck));
    if (!ck || !(ck->buf = malloc(CKPT_SLOT))) {
        free(ck);
        return -ENOMEM;
    }
    ck->fd = -1;
    struct slot s = {0};
    int rc = open_locked(dir, ck);
    int found = rc ? rc : read_latest(ck, &s);
    rc = found < 0 ? found : found ? put_back(ck, &s) : 0;
    if (rc < 0) {
        if (rc == -EPROTO)
            log_error("meta store %s: a checkpoint of another format version", dir);
        meta_ckpt_close(ck);
        return rc;
    }
    if (found) {
        ck->seq = s.seq; /* the next slot follows it */
        ck->psize = s.psize;
    }
    *txnid = rc == 1 ? s.txnid : 0;
    *out = ck;
    return 0;
}

/* Fills ck->buf with a slot for the env's current state, pinned by ck->next.
 * The meta pages are read as the last commit left them in the page cache;
 * the rest of that state reaches the disk with the job's fdatasync. */
static int fill_slot(struct meta_ckpt *ck)
{
    int rc = mdb_txn_begin(ck->env, NULL, MDB_RDONLY, &ck->next);
    if (rc)
        return rc > 0 ? -rc : -EIO;
    uint8_t *b = ck->buf;
    size_t len = 2 * (size_t)ck->psize;
    memset(b, 0, CKPT_HDR);
    errno = 0;
    if (pread(ck->dbfd, b + CKPT_HDR, len, 0) != (ssize_t)len) {
        rc = errno ? -errno : -EIO;
        mdb_txn_abort(ck->next);
        ck->next = NULL;
        return rc;
    }
    put_u32(b, CKPT_MAGIC);
    put_u32(b + 4, META_CKPT_VERSION);
    put_u32(b + 8, ck->psize);
    put_u64(b + 16, ck->seq + 1);
    put_u64(b + 24, mdb_txn_id(ck->next));
    put_u64(b + 32, ck->ino);
    put_u32(b + 12, slot_crc(b, ck->psize));
    return 0;
}

/* The slow part: the state's pages, then the slot that names them. */
static int save_slot(struct meta_ckpt *ck)
{
    off_t off = (off_t)((ck->seq + 1) & 1) * CKPT_SLOT;
    size_t len = CKPT_HDR + 2 * (size_t)ck->psize;
    errno = 0;
    if (fdatasync(ck->dbfd) || pwrite(ck->fd, ck->buf, len, off) != (ssize_t)len ||
        fdatasync(ck->fd))
        return errno ? -errno : -EIO;
    return 0;
}

static void *ckpt_thread(void *arg)
{
    pthread_setname_np(pthread_self(), "qfs-ckpt");
    struct meta_ckpt *ck = arg;
    pthread_mutex_lock(&ck->job_lock);
    for (;;) {
        while (ck->job_state != JOB_QUEUED && !ck->job_stop)
            pthread_cond_wait(&ck->job_cond, &ck->job_lock);
        if (ck->job_state != JOB_QUEUED)
            break;
        pthread_mutex_unlock(&ck->job_lock);
        int rc = save_slot(ck);
        pthread_mutex_lock(&ck->job_lock);
        ck->job_rc = rc;
        ck->job_state = JOB_DONE;
        pthread_cond_broadcast(&ck->job_cond);
    }
    pthread_mutex_unlock(&ck->job_lock);
    return NULL;
}

int meta_ckpt_begin(struct meta_ckpt *ck)
{
    if (ck->next)
        return -EBUSY;
    int rc = fill_slot(ck);
    if (rc) {
        log_error("meta store: cannot begin a checkpoint: %s", strerror(-rc));
        return rc;
    }
    ck->begun_txnid = mdb_txn_id(ck->next);
    ck->begun_ns = now_ns();
    pthread_mutex_lock(&ck->job_lock);
    ck->job_state = JOB_QUEUED;
    pthread_cond_signal(&ck->job_cond);
    pthread_mutex_unlock(&ck->job_lock);
    return 0;
}

int meta_ckpt_poll(struct meta_ckpt *ck, bool wait)
{
    if (!ck->next)
        return 0;
    pthread_mutex_lock(&ck->job_lock);
    while (wait && ck->job_state != JOB_DONE)
        pthread_cond_wait(&ck->job_cond, &ck->job_lock);
    bool done = ck->job_state == JOB_DONE;
    int rc = ck->job_rc;
    if (done)
        ck->job_state = JOB_NONE;
    pthread_mutex_unlock(&ck->job_lock);
    if (!done)
        return 0;
    if (rc) {
        log_error("meta store: cannot save a checkpoint: %s", strerror(-rc));
        mdb_txn_abort(ck->next); /* the last checkpoint, and its pin, stand */
        ck->next = NULL;
        ck->begun_txnid = ck->txnid;
        return rc;
    }
    /* Only now may the previous checkpoint's pages be reused. */
    if (ck->pin)
        mdb_txn_abort(ck->pin);
    ck->pin = ck->next;
    ck->next = NULL;
    ck->seq++;
    ck->txnid = mdb_txn_id(ck->pin);
    return 1;
}

int meta_ckpt_take(struct meta_ckpt *ck)
{
    meta_ckpt_poll(ck, true); /* one in flight ends first; a failure is logged there */
    int rc = meta_ckpt_begin(ck);
    if (!rc)
        rc = meta_ckpt_poll(ck, true);
    return rc < 0 ? rc : 0;
}

static int start_thread(struct meta_ckpt *ck)
{
    pthread_mutex_init(&ck->job_lock, NULL);
    pthread_cond_init(&ck->job_cond, NULL);
    int rc = -pthread_create(&ck->thread, NULL, ckpt_thread, ck);
    ck->thread_started = rc == 0;
    return rc;
}

int meta_ckpt_start(struct meta_ckpt *ck, MDB_env *env)
{
    MDB_stat st;
    struct stat fst;
    ck->env = env;
    int rc = mdb_env_stat(env, &st) ? -EIO : mdb_env_get_fd(env, &ck->dbfd) ? -EIO : 0;
    if (!rc && fstat(ck->dbfd, &fst))
        rc = -errno;
    if (!rc && (st.ms_psize > CKPT_PSIZE_MAX || st.ms_psize < 512))
        rc = -EINVAL;
    if (!rc) {
        ck->psize = st.ms_psize;
        ck->ino = (uint64_t)fst.st_ino;
        rc = start_thread(ck);
    }
    if (!rc)
        rc = meta_ckpt_take(ck);
    if (!rc)
        rc = mdb_env_set_flags(env, MDB_NOSYNC, 1) ? -EIO : 0;
    if (rc)
        ck->env = NULL;
    return rc;
}

bool meta_ckpt_due(struct meta_ckpt *ck)
{
    MDB_envinfo info;
    if (!ck->env || ck->next || mdb_env_info(ck->env, &info))
        return false;
    uint64_t since = (uint64_t)info.me_last_txnid - ck->begun_txnid;
    return since >= CKPT_COMMITS || (since > 0 && now_ns() - ck->begun_ns >= CKPT_INTERVAL);
}

bool meta_ckpt_started(const struct meta_ckpt *ck)
{
    return ck && ck->env;
}

void meta_ckpt_close(struct meta_ckpt *ck)
{
    if (!ck)
        return;
    if (ck->next)
        meta_ckpt_poll(ck, true);
    if (ck->thread_started) {
        pthread_mutex_lock(&ck->job_lock);
        ck->job_stop = true;
        pthread_cond_signal(&ck->job_cond);
        pthread_mutex_unlock(&ck->job_lock);
        pthread_join(ck->thread, NULL);
        pthread_mutex_destroy(&ck->job_lock);
        pthread_cond_destroy(&ck->job_cond);
    }
    if (ck->pin)
        mdb_txn_abort(ck->pin);
    if (ck->env)
        mdb_env_set_flags(ck->env, MDB_NOSYNC, 0);
    if (ck->fd >= 0)
        close(ck->fd); /* drops the flock */
    free(ck->buf);
    free(ck);
}
