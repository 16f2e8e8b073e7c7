/*
 * bench_persist [DIR [SAVES [RECS]]] - the cost of one Paxos save on the
 * data disk: SAVES batches (default 2000) of RECS records (default 1) of 200
 * bytes, each saved durably, with the LMDB backend (earlier daemons', the
 * reference) and with the log file backend (the daemon's), in DIR (default
 * /var/tmp, the data disk). An LMDB environment holding 20,000 unrelated
 * keys stands in for the metadata store both share or not. Prints per-save
 * p50/p99 in ms, saves/s, and the ratio file/LMDB (how many times faster).
 */
#include "consensus/persist_file.h"
#include "consensus/persist_lmdb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

struct result {
    double p50, p99, per_s;
};

/* Saves batches through ops/ctx; the slots follow on from *slot. */
static int run(const struct cons_persist_ops *ops, void *ctx, int saves, int recs,
               struct result *out)
{
    static uint8_t data[200];
    struct cons_rec r[64];
    double *lat = malloc((size_t)saves * sizeof(*lat));
    if (!lat)
        return -1;
    double start = now_ms();
    for (int i = 0; i < saves; i++) {
        for (int k = 0; k < recs; k++)
            r[k] = (struct cons_rec){(uint64_t)i * (uint64_t)recs + (uint64_t)k + 1,
                                     0x101,
                                     0,
                                     {1, (uint64_t)i, CONS_KIND_CMD, sizeof(data), data}};
        struct cons_persist_batch b = {{0x101, (uint64_t)i * (uint64_t)recs, 1}, (size_t)recs, r};
        double t = now_ms();
        if (ops->save(ctx, &b)) {
            free(lat);
            return -1;
        }
        lat[i] = now_ms() - t;
    }
    double total = now_ms() - start;
    qsort(lat, (size_t)saves, sizeof(*lat), cmp_double);
    *out = (struct result){lat[saves / 2], lat[saves * 99 / 100], saves / (total / 1e3)};
    free(lat);
    return 0;
}

static MDB_env *open_env(const char *dir)
{
    MDB_env *env;
    if (mdb_env_create(&env) || mdb_env_set_maxdbs(env, 8) || mdb_env_set_mapsize(env, 1u << 30) ||
        mdb_env_open(env, dir, 0, 0600))
        return NULL;
    MDB_txn *t;
    MDB_dbi dbi;
    if (mdb_txn_begin(env, NULL, 0, &t) || mdb_dbi_open(t, "fs", MDB_CREATE, &dbi))
        return NULL;
    for (int i = 0; i < 20000; i++) {
        char k[16], v[100] = {0};
        snprintf(k, sizeof(k), "k%08d", i);
        MDB_val key = {strlen(k), k}, val = {sizeof(v), v};
        if (mdb_put(t, dbi, &key, &val, 0))
            return NULL;
    }
    return mdb_txn_commit(t) ? NULL : env;
}

int main(int argc, char **argv)
{
    const char *parent = argc > 1 ? argv[1] : "/var/tmp";
    int saves = argc > 2 ? atoi(argv[2]) : 2000, recs = argc > 3 ? atoi(argv[3]) : 1;
    if (saves < 100 || recs < 1 || recs > 64) {
        fprintf(stderr, "usage: bench_persist [DIR [SAVES>=100 [RECS 1..64]]]\n");
        return 2;
    }
    char dir[4096], path[4200];
    snprintf(dir, sizeof(dir), "%s/qfs-bench-persist-XXXXXX", parent);
    if (!mkdtemp(dir))
        return perror(dir), 1;
    snprintf(path, sizeof(path), "%s/paxos.log", dir);
    MDB_env *env = open_env(dir);
    struct persist_lmdb *pl = NULL;
    struct persist_file *pf = NULL;
    struct result l, f;
    int rc = !env || persist_lmdb_open(&pl, env) || run(&persist_lmdb_ops, pl, saves, recs, &l) ||
             persist_file_open(path, NULL, &pf) || run(&persist_file_ops, pf, saves, recs, &f);
    if (!rc) {
        printf("%-22s %9s %9s %9s\n", "backend", "p50 ms", "p99 ms", "saves/s");
        printf("%-22s %9.3f %9.3f %9.0f\n", "LMDB (reference)", l.p50, l.p99, l.per_s);
        printf("%-22s %9.3f %9.3f %9.0f\n", "log file", f.p50, f.p99, f.per_s);
        printf("ratio file/LMDB: p50 %.2fx faster, saves/s %.2fx (%d saves of %d x 200 B)\n",
               l.p50 / f.p50, f.per_s / l.per_s, saves, recs);
    } else {
        fprintf(stderr, "bench_persist: a backend failed in %s\n", dir);
    }
    persist_file_close(pf);
    persist_lmdb_close(pl);
    if (env)
        mdb_env_close(env);
    const char *names[] = {"paxos.log", "data.mdb", "lock.mdb"};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
    return rc;
}
