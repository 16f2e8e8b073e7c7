/*
 * cluster.c - starting and stopping a cluster node, the transport's
 * callbacks, and the status snapshot. See cluster.h for the threads.
 */
#include "consensus/persist_lmdb.h"
#include "fs/cluster/chunk_remote.h"
#include "fs/cluster/cluster_internal.h"
#include "fs/cluster/snapshot.h"
#include "fs/chunk/chunker.h"
#include "fs/core/core_cluster.h"
#include "fs/core/core_remote.h"

#include "common/file_io.h"
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void cl_timedwait(pthread_cond_t *cond, pthread_mutex_t *lock, int ms)
{
    struct timespec ts;
    net_deadline(&ts, ms);
    pthread_cond_timedwait(cond, lock, &ts);
}

void cluster_missing(struct cluster *cl, uint64_t *chunks, uint64_t *bytes)
{
    struct chunk_sync_stats s;
    chunk_sync_get_stats(cl->sync, &s);
    *chunks = s.missing_chunks + s.queued;
    *bytes = s.missing_bytes;
}

static long pull(void *ctx, const uint8_t (*hashes)[32], size_t n, int timeout_ms,
                 struct repl_fetched *got)
{
    return repl_pull(ctx, hashes, n, timeout_ms, got);
}

/* A push batch from origin arrived or was stored this recently: more of
 * that push is on its way (a receiver stores a 4 MiB batch in well under
 * this, and a sender's next batch follows the ack). */
#define PUSH_QUIET_MS 300

static bool pushing(void *ctx, uint64_t origin)
{
    struct cluster *cl = ctx;
    if (origin >= cl->mem.n || origin == cl->mem.self)
        return false; /* peer_of[] is defined for members only */
    return repl_push_arriving(cl->repl, cl->mem.peer_of[origin], PUSH_QUIET_MS);
}

static bool given_up(void *ctx, const uint8_t hash[32])
{
    struct cluster *cl = ctx;
    return repl_push_given_up(cl->repl, hash);
}

static int start_sync(struct cluster *cl)
{
    struct chunk_sync_config sc = {.ms = core_meta_store(cl->core),
                                   .cs = core_chunk_store(cl->core),
                                   .pull = pull,
                                   .pull_ctx = cl->repl,
                                   .pushing = pushing,
                                   .given_up = given_up,
                                   .pushing_ctx = cl,
                                   .skip_self = true,
                                   .self_origin = cl->mem.self};
    int rc = chunk_sync_create(&sc, &cl->sync);
    return rc ? rc : chunk_sync_start(cl->sync);
}

static int on_frame(void *ctx, int peer, int chan, unsigned type, uint16_t flags, const uint8_t *p,
                    uint32_t len)
{
    struct cluster *cl = ctx;
    __atomic_store_n(&cl->peer_heard_us[cl->mem.index_of[peer]], cl_now_us(), __ATOMIC_RELAXED);
    if (chan == CHAN_FAST && type != FT_CLUSTER)
        return -EPROTO; /* the fast channel carries node messages only */
    if (type == FT_CONSENSUS)
        return pax_on_frame(cl, peer, p, len);
    if (type == FT_CLUSTER)
        return node_msgs_on_frame(cl, peer, p, len);
    if (type == FT_SNAP_REQ || type == FT_SNAP_DATA)
        return snapshot_on_frame(cl->snap, peer, type, p, len);
    if (repl_handles(type))
        return repl_on_frame(cl->repl, peer, chan, type, flags, p, len);
    return -EPROTO;
}

static void on_peer(void *ctx, int peer, int chan, bool up)
{
    struct cluster *cl = ctx;
    repl_on_peer(cl->repl, peer, chan, up);
    snapshot_on_peer(cl->snap, peer, chan, up);
}

/* A per-node counter bumped at every start, so request ids never repeat
 * across restarts (dedup needs that). Kept beside the stores, not in them:
 * it is this node's, not replicated state. It jumps to the clock's seconds
 * when they are higher: a node whose data directory was lost, the count
 * with it, must not reuse the ids of its earlier runs, which the replicated
 * dedup table remembers (a reused id is refused as a duplicate). */
static int next_boot(const char *data_dir, uint64_t *boot)
{
    char path[PATH_MAX], tmp[PATH_MAX + 8];
    snprintf(path, sizeof(path), "%s/boot-count", data_dir);
    snprintf(tmp, sizeof(tmp), "%s.new", path);
    FILE *f = fopen(path, "r");
    unsigned long long v = 0;
    if (f) {
        if (fscanf(f, "%llu", &v) != 1)
            v = 0;
        fclose(f);
    }
    uint64_t clock_s = (uint64_t)time(NULL);
    *boot = v + 1 > clock_s ? v + 1 : clock_s;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    char line[32];
    int n = snprintf(line, sizeof(line), "%llu\n", (unsigned long long)*boot);
    int rc = write(fd, line, (size_t)n) == n && fsync(fd) == 0 ? 0 : -errno;
    close(fd);
    if (!rc && rename(tmp, path) != 0)
        rc = -errno;
    return rc;
}

/* The Paxos state lives in DATA/paxos.log (consensus/persist_file.h). Nodes
 * of earlier builds kept it in the metadata store: a log file that does not
 * exist yet starts with that state, which is then emptied. */
static int open_persist(struct cluster *cl)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof(path), "%s/paxos.log", cl->cfg.data_dir) >= (int)sizeof(path))
        return -ENAMETOOLONG;
    struct persist_lmdb *old;
    int rc = persist_lmdb_open(&old, meta_store_env(core_meta_store(cl->core)));
    if (rc)
        return rc;
    /* No before_truncate: the engine drops only slots that a checkpoint of
     * the store holds (ckpt_applied, log_apply.c). */
    struct persist_file_options o = {.import = &persist_lmdb_ops, .import_ctx = old};
    rc = persist_file_open(path, &o, &cl->persist);
    if (rc == -EIO) /* damaged, not torn: the node can get its state back */
        log_error("cluster: to rebuild this node's consensus state from its peers, move %s "
                  "aside and start again: the node then votes once every member has sent "
                  "its state (docs/consensus.md, \"Rebuild\")",
                  path);
    if (!rc)
        rc = persist_lmdb_clear(old);
    persist_lmdb_close(old);
    return rc;
}

static void init_locks(struct cluster *cl)
{
    pthread_mutex_init(&cl->pax_lock, NULL);
    pthread_cond_init(&cl->prop_space, NULL);
    pthread_mutex_init(&cl->st_lock, NULL);
    pthread_mutex_init(&cl->ap_lock, NULL);
    pthread_cond_init(&cl->ap_work, NULL);
    pthread_cond_init(&cl->ap_done, NULL);
    pthread_mutex_init(&cl->w_lock, NULL);
    pthread_cond_init(&cl->w_cond, NULL);
    pthread_mutex_init(&cl->ri_lock, NULL);
    pthread_cond_init(&cl->ri_cond, NULL);
    for (int i = 0; i < CONS_MAX_NODES; i++)
        cl->peer_applied[i] = -1;
    cl->est.leader = -1;
}

static int start_net(struct cluster *cl)
{
    struct repl_options ro;
    repl_options_default(&ro);
    chunk_io_store_init(&cl->ios, core_chunk_store(cl->core), core_gc(cl->core), &cl->io);
    int rc = repl_create(&cl->io, &ro, &cl->repl);
    if (rc)
        return rc;
    struct net_options no;
    net_options_default(&no);
    struct net_callbacks cb = {.ctx = cl, .on_frame = on_frame, .on_peer = on_peer};
    rc = net_start(&cl->cfg, &no, &cb, &cl->net);
    if (rc) {
        log_error("cluster: cannot start the transport on %s: %s", cl->cfg.listen.str,
                  strerror(-rc));
        return rc;
    }
    return repl_attach(cl->repl, cl->net);
}

/* Takes the new-node marker `qfs init` wrote (net/config.h): while it is
 * there, this node has never voted. It goes before the engine starts, so a
 * later loss of the Paxos state is never taken for a new node; a start that
 * fails after this costs at most a rebuild at the next one. */
static int take_new_node_marker(struct cluster *cl)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof(path), "%s/" NET_NEW_NODE_FILE, cl->cfg.data_dir) >=
        (int)sizeof(path))
        return -ENAMETOOLONG;
    if (unlink(path) != 0) {
        if (errno == ENOENT)
            return 0;
        int rc = -errno;
        log_error("cluster: cannot remove %s: %s", path, strerror(-rc));
        return rc;
    }
    cl->new_node = true;
    log_info("cluster: a new node (%s was there): it votes from the start", path);
    int rc = file_sync_dir(cl->cfg.data_dir);
    if (rc)
        log_error("cluster: cannot sync %s after removing %s: %s", cl->cfg.data_dir, path,
                  strerror(-rc));
    return rc;
}

static int start_all(struct cluster *cl)
{
    uint64_t boot;
    int rc = members_from_config(&cl->cfg, &cl->mem);
    if (!rc)
        rc = members_check_file(&cl->mem, cl->cfg.data_dir);
    if (!rc)
        rc = next_boot(cl->cfg.data_dir, &boot);
    if (rc)
        return rc;
    cl->req_base = cl->next_req = boot << 32;
    rc = open_persist(cl);
    if (!rc) /* before the threads that wake the Paxos thread start */
        rc = pax_wake_open(cl);
    if (!rc)
        rc = apply_loop_start(cl);
    if (!rc) /* before the transport: frames and peer events reach it */
        rc = snapshot_start(cl, &cl->snap);
    if (!rc)
        rc = start_net(cl);
    if (!rc)
        rc = start_sync(cl);
    if (!rc)
        rc = take_new_node_marker(cl);
    if (!rc)
        rc = pax_start(cl, cluster_applied_index(cl)); /* the apply thread runs */
    if (rc)
        return rc;
    struct core_remote remote;
    chunk_remote_fill(cl, &remote);
    core_set_remote(cl->core, &remote);
    core_set_orderer(cl->core, &cluster_orderer_ops, cl, cl->mem.self, cl->req_base, CONS_CMD_MAX);
    log_info("cluster: node %u of %u (%s), applied index %llu", cl->mem.self + 1, cl->mem.n,
             cl->mem.human[cl->mem.self], (unsigned long long)cluster_applied_index(cl));
    return 0;
}

/* Test knobs, from the environment: only tests set them. */
static void test_knobs(struct cluster *cl)
{
    const char *v = getenv("QFS_TEST_APPLY_DELAY_MS");
    long ms = v ? strtol(v, NULL, 10) : 0;
    if (ms <= 0 || ms > 1000)
        return;
    cl->test_apply_delay_ms = (uint32_t)ms;
    log_warn("cluster: test knob QFS_TEST_APPLY_DELAY_MS: each applied entry takes %ld ms more",
             ms);
}

int cluster_start(const struct net_config *cfg, struct core *core,
                  const struct cluster_hooks *hooks, struct cluster **out)
{
    struct cluster *cl = calloc(1, sizeof(*cl));
    if (!cl)
        return -ENOMEM;
    cl->core = core;
    cl->cfg = *cfg;
    cl->wake_fd = -1;
    cl->leader_logged = -1;
    leader_place_init(&cl->place);
    cl->start_grace_end_us = cl_now_us() + CL_START_GRACE_MS * 1000u;
    test_knobs(cl);
    if (hooks)
        cl->hooks = *hooks;
    init_locks(cl);
    int rc = start_all(cl);
    if (rc) {
        cluster_stop(cl);
        return rc;
    }
    *out = cl;
    return 0;
}

void cluster_stop(struct cluster *cl)
{
    if (!cl)
        return;
    if (cl->pax_started)
        core_commit_all(cl->core);
    /* Order: nothing may use what is already gone. The replicator first (it
     * ends pulls and pushes at once), then the Paxos thread (it reads the
     * chunk sync's counters for its reports), the apply thread (it notes
     * into the chunk sync and wakes the Paxos thread), then the rest. */
    if (cl->repl)
        repl_detach(cl->repl);
    snapshot_stop(cl->snap); /* while the transport, chunk sync and the apply thread run */
    pax_stop(cl);
    apply_loop_stop(cl);
    if (cl->sync) {
        chunk_sync_stop(cl->sync);
        chunk_sync_destroy(cl->sync);
    }
    if (cl->wake_fd >= 0)
        close(cl->wake_fd);
    if (cl->net)
        net_stop(cl->net);
    snapshot_free(cl->snap);
    if (cl->repl)
        repl_destroy(cl->repl);
    if (cl->persist)
        persist_file_close(cl->persist);
    free(cl);
}

static void fill_member(struct cluster *cl, uint32_t i, struct cluster_status *st)
{
    struct cluster_member *m = &st->m[i];
    snprintf(m->id, sizeof(m->id), "%s", cl->mem.human[i]);
    snprintf(m->addr, sizeof(m->addr), "%s", cl->mem.addr[i]);
    m->applied = cl->peer_applied[i];
    if (i == cl->mem.self) {
        m->self = m->connected = true;
        m->applied = (int64_t)st->applied;
        return;
    }
    struct net_peer_info info;
    m->rtt_us = m->last_seen_ms = -1;
    if (net_peer_info(cl->net, cl->mem.peer_of[i], &info) == 0) {
        m->connected = info.alive;
        m->rtt_us = info.srtt_us;
        m->last_seen_ms = info.last_seen_ms;
    }
    repl_get_backlog(cl->repl, cl->mem.peer_of[i], CHUNK_AVG, &m->push_chunks, &m->push_bytes);
}

int cluster_get_status(struct cluster *cl, struct cluster_status *st)
{
    memset(st, 0, sizeof(*st));
    pthread_mutex_lock(&cl->ap_lock);
    st->applied = cl->applied;
    st->apply_error = cl->apply_failing;
    pthread_mutex_unlock(&cl->ap_lock);
    st->n_members = cl->mem.n;
    st->self = cl->mem.self;
    cluster_missing(cl, &st->fetch_chunks, &st->fetch_bytes);
    pthread_mutex_lock(&cl->st_lock);
    st->leader = cl->est.quorum_ok ? cl->est.leader : -1;
    st->quorum = cl->est.quorum_ok;
    /* The highest seen: a node that never ran has only its promises. */
    st->ballot = cl->est.ballot > cl->est.promised ? cl->est.ballot : cl->est.promised;
    st->commit = cl->est.commit;
    st->rebuilding = cl->est.rebuilding;
    st->rebuild_missing = cl->est.rebuild_missing;
    for (uint32_t i = 0; i < cl->mem.n; i++)
        fill_member(cl, i, st);
    pthread_mutex_unlock(&cl->st_lock);
    struct repl_stats rs;
    repl_get_stats(cl->repl, &rs);
    st->pushed_bytes_total = rs.bytes_sent;
    /* The replicator's count, not the chunk sync's: reads fetch too. */
    st->fetched_bytes_total = rs.fetched.bytes;
    return 0;
}
