#include "tests/consensus/engine_net.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

struct enet *enet;

static void on_send(void *ctx, uint32_t to, const uint8_t *b, size_t len)
{
    uint32_t from = *(uint32_t *)ctx;
    if (enet->watch)
        enet->watch(from, to, b, len);
    if (enet->cut[from][to] || enet->n == ENET_MAX)
        return;
    uint8_t *d = malloc(len);
    ck_assert_ptr_nonnull(d);
    memcpy(d, b, len);
    enet->q[enet->n++] = (struct enet_packet){from, to, (uint32_t)len, d};
}

static int on_deliver(void *ctx, uint64_t slot, const struct cons_entry *en)
{
    (void)ctx, (void)slot, (void)en;
    return 0;
}

static void on_done(void *ctx, uint64_t req, int64_t res)
{
    (void)ctx, (void)req, (void)res;
}

static void on_snapshot(void *ctx, uint32_t peer, uint64_t log_start)
{
    (void)ctx, (void)peer, (void)log_start;
}

static struct engine *create(uint32_t i, const struct cons_params *p, int new_member,
                             uint32_t broken)
{
    struct cons_host host = {&enet->ctx_id[i], on_send,          on_deliver,  on_done,
                             on_snapshot,      &persist_mem_ops, &enet->pm[i]};
    struct engine_config cfg = {.self = i,
                                .n_nodes = ENET_N,
                                .rng_seed = new_member ? 7 + i : 1007 + i,
                                .new_member = new_member,
                                .broken = broken};
    cfg.params = *p;
    struct engine *e;
    ck_assert_int_eq(engine_create(&e, &cfg, &host, enet->now), 0);
    return e;
}

void enet_wipe(uint32_t i, const struct cons_params *p, uint32_t broken)
{
    engine_destroy(enet->e[i]);
    persist_mem_free(&enet->pm[i]);
    ck_assert_int_eq(persist_mem_init(&enet->pm[i]), 0);
    enet->e[i] = create(i, p, 0, broken);
}

void enet_start(const struct cons_params *p)
{
    enet = calloc(1, sizeof(*enet));
    ck_assert_ptr_nonnull(enet);
    enet->now = 1000000;
    for (uint32_t i = 0; i < ENET_N; i++) {
        ck_assert_int_eq(persist_mem_init(&enet->pm[i]), 0);
        enet->ctx_id[i] = i;
        enet->e[i] = create(i, p, 1, 0);
    }
}

void enet_stop(void)
{
    for (uint32_t i = 0; i < ENET_N; i++) {
        engine_destroy(enet->e[i]);
        persist_mem_free(&enet->pm[i]);
    }
    for (uint32_t i = 0; i < enet->n; i++)
        free(enet->q[i].data);
    free(enet);
    enet = NULL;
}

void enet_step(void)
{
    enet->now += ENET_STEP_US;
    for (int pass = 0; pass < 8 && enet->n; pass++) {
        uint32_t n = enet->n;
        static struct enet_packet batch[ENET_MAX];
        memcpy(batch, enet->q, n * sizeof(batch[0]));
        enet->n = 0;
        for (uint32_t i = 0; i < n; i++) {
            ck_assert_int_eq(
                engine_receive(enet->e[batch[i].to], batch[i].data, batch[i].len, enet->now), 0);
            free(batch[i].data);
        }
    }
    for (uint32_t i = 0; i < ENET_N; i++)
        ck_assert_int_eq(engine_tick(enet->e[i], enet->now), 0);
}

void enet_run_for(uint64_t us)
{
    for (uint64_t t = 0; t < us; t += ENET_STEP_US)
        enet_step();
}

int enet_agreed_leader(uint32_t among)
{
    int l = -1;
    for (uint32_t i = 0; i < ENET_N; i++) {
        if (!((among >> i) & 1))
            continue;
        struct engine_status st;
        engine_status(enet->e[i], &st);
        if (!st.quorum_ok || st.leader < 0 || (l >= 0 && st.leader != l))
            return -1;
        l = st.leader;
    }
    return l;
}

int enet_wait_leader(uint32_t among)
{
    for (int i = 0; i < 2000; i++) {
        int l = enet_agreed_leader(among);
        if (l >= 0)
            return l;
        enet_step();
    }
    ck_abort_msg("no leader within 10 s");
    return -1;
}
