#include "fs/cluster/members.h"

#include "common/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int id_cmp(const uint8_t *a, const uint8_t *b)
{
    return memcmp(a, b, NODE_ID_LEN);
}

/* Rank of id among the config's members: how many IDs sort before it. */
static uint32_t rank_of(const struct net_config *cfg, const uint8_t *id)
{
    uint32_t r = id_cmp(cfg->node_id, id) < 0;
    for (size_t i = 0; i < cfg->npeers; i++)
        r += id_cmp(cfg->peers[i].id, id) < 0;
    return r;
}

static int check_unique(const struct net_config *cfg)
{
    for (size_t i = 0; i < cfg->npeers; i++) {
        if (!id_cmp(cfg->peers[i].id, cfg->node_id)) {
            log_error("config: this node's own ID is listed as a peer");
            return -EINVAL;
        }
        for (size_t j = 0; j < i; j++)
            if (!id_cmp(cfg->peers[i].id, cfg->peers[j].id)) {
                log_error("config: a peer is listed twice");
                return -EINVAL;
            }
    }
    return 0;
}

static void put_member(struct members *m, uint32_t idx, const uint8_t *id, const char *addr,
                       int peer)
{
    memcpy(m->id[idx], id, NODE_ID_LEN);
    node_id_format(id, m->human[idx]);
    snprintf(m->addr[idx], sizeof(m->addr[idx]), "%s", addr);
    m->peer_of[idx] = peer;
    if (peer >= 0)
        m->index_of[peer] = idx;
}

int members_from_config(const struct net_config *cfg, struct members *m)
{
    memset(m, 0, sizeof(*m));
    if (cfg->npeers + 1 > CONS_MAX_NODES) {
        log_error("config: %zu members, at most %d supported", cfg->npeers + 1, CONS_MAX_NODES);
        return -EINVAL;
    }
    int rc = check_unique(cfg);
    if (rc)
        return rc;
    m->n = (uint32_t)cfg->npeers + 1;
    m->self = rank_of(cfg, cfg->node_id);
    put_member(m, m->self, cfg->node_id, cfg->listen.str, -1);
    for (size_t i = 0; i < cfg->npeers; i++)
        put_member(m, rank_of(cfg, cfg->peers[i].id), cfg->peers[i].id, cfg->peers[i].addr.str,
                   (int)i);
    return 0;
}
