/* fs/cluster/members.h (the numbering every node derives on its own) and
 * fs/cluster/cluster_msg.h (the node messages' codec). */
#include "fs/cluster/cluster_msg.h"
#include "fs/cluster/members.h"

#include "tests/check_run.h"
#include <errno.h>
#include <stdio.h>
#include <string.h>

/* A config as node `self` of four would hold it: itself, the rest as peers. */
static void config_of(struct net_config *cfg, const uint8_t ids[4][NODE_ID_LEN], int self)
{
    memset(cfg, 0, sizeof(*cfg));
    memcpy(cfg->node_id, ids[self], NODE_ID_LEN);
    for (int i = 0; i < 4; i++) {
        if (i == self)
            continue;
        memcpy(cfg->peers[cfg->npeers].id, ids[i], NODE_ID_LEN);
        snprintf(cfg->peers[cfg->npeers].addr.str, NET_ADDR_STR, "127.0.0.1:%d", 7000 + i);
        cfg->npeers++;
    }
}

START_TEST(every_node_derives_the_same_numbering)
{
    uint8_t ids[4][NODE_ID_LEN];
    for (int i = 0; i < 4; i++)
        memset(ids[i], 0x40 - 0x10 * i, NODE_ID_LEN); /* ids[3] sorts first */
    int index_of_node[4][4];
    for (int self = 0; self < 4; self++) {
        struct net_config cfg;
        struct members m;
        config_of(&cfg, ids, self);
        ck_assert_int_eq(members_from_config(&cfg, &m), 0);
        ck_assert_uint_eq(m.n, 4);
        ck_assert_int_eq(m.peer_of[m.self], -1);
        for (int node = 0; node < 4; node++)
            for (uint32_t k = 0; k < m.n; k++)
                if (!memcmp(m.id[k], ids[node], NODE_ID_LEN))
                    index_of_node[self][node] = (int)k;
        for (size_t p = 0; p < cfg.npeers; p++) /* both maps agree */
            ck_assert_int_eq(m.peer_of[m.index_of[p]], (int)p);
    }
    for (int self = 1; self < 4; self++)
        for (int node = 0; node < 4; node++)
            ck_assert_int_eq(index_of_node[self][node], index_of_node[0][node]);
    ck_assert_int_eq(index_of_node[0][3], 0); /* rank by ID bytes */
    ck_assert_int_eq(index_of_node[0][0], 3);
}
END_TEST

START_TEST(self_or_duplicate_peer_refused)
{
    uint8_t ids[4][NODE_ID_LEN];
    for (int i = 0; i < 4; i++)
        memset(ids[i], i + 1, NODE_ID_LEN);
    struct net_config cfg;
    struct members m;
    config_of(&cfg, ids, 0);
    memcpy(cfg.peers[1].id, cfg.peers[0].id, NODE_ID_LEN);
    ck_assert_int_eq(members_from_config(&cfg, &m), -EINVAL);
    config_of(&cfg, ids, 0);
    memcpy(cfg.peers[2].id, cfg.node_id, NODE_ID_LEN);
    ck_assert_int_eq(members_from_config(&cfg, &m), -EINVAL);
}
END_TEST

START_TEST(messages_round_trip)
{
    const struct cluster_msg in[] = {{CM_READ_INDEX_REQ, 7, 0, 0},
                                     {CM_READ_INDEX_RESP, 7, 123456789, 1},
                                     {CM_REPORT, 42, 3, 196608}};
    for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
        uint8_t buf[CLUSTER_MSG_MAX];
        struct cluster_msg out;
        size_t len = cluster_msg_encode(&in[i], buf);
        ck_assert_uint_le(len, CLUSTER_MSG_MAX);
        ck_assert_int_eq(cluster_msg_decode(buf, len, &out), 0);
        ck_assert_uint_eq(out.kind, in[i].kind);
        ck_assert_uint_eq(out.a, in[i].a);
        ck_assert_uint_eq(out.b, in[i].b);
        ck_assert_uint_eq(out.c, in[i].c);
        /* one byte short or long, or another version: a protocol error */
        ck_assert_int_eq(cluster_msg_decode(buf, len - 1, &out), -EPROTO);
        ck_assert_int_eq(cluster_msg_decode(buf, len + 1, &out), -EPROTO);
        buf[0] = CLUSTER_MSG_VERSION + 1;
        ck_assert_int_eq(cluster_msg_decode(buf, len, &out), -EPROTO);
    }
}
END_TEST

START_TEST(malformed_messages_refused)
{
    uint8_t buf[CLUSTER_MSG_MAX] = {CLUSTER_MSG_VERSION, 9};
    struct cluster_msg out;
    ck_assert_int_eq(cluster_msg_decode(buf, 10, &out), -EPROTO); /* unknown kind */
    ck_assert_int_eq(cluster_msg_decode(buf, 1, &out), -EPROTO);
    struct cluster_msg r = {CM_READ_INDEX_RESP, 1, 2, 1};
    size_t len = cluster_msg_encode(&r, buf);
    buf[len - 1] = 2; /* ok must be 0 or 1 */
    ck_assert_int_eq(cluster_msg_decode(buf, len, &out), -EPROTO);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("node_glue");
    TCase *tc = tcase_create("glue");
    tcase_add_test(tc, every_node_derives_the_same_numbering);
    tcase_add_test(tc, self_or_duplicate_peer_refused);
    tcase_add_test(tc, messages_round_trip);
    tcase_add_test(tc, malformed_messages_refused);
    suite_add_tcase(s, tc);
    return check_run(s);
}
