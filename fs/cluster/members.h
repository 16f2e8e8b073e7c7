/*
 * members.h - who is in the cluster and how the three numberings of a node
 * map onto each other: the consensus engine's index (0..n-1), the transport's
 * peer index (config order) and the node ID.
 *
 * Invariant: the engine index is the rank of the node ID among all members'
 * IDs in byte order, so every node computes the same numbering from its own
 * config (which lists the others as peers) without exchanging anything. The
 * engine index is also the `origin` of the commands a node proposes.
 */
#ifndef QFS_FS_CLUSTER_MEMBERS_H
#define QFS_FS_CLUSTER_MEMBERS_H

#include "consensus/types.h"
#include "net/config.h"

#include <stdint.h>

struct members {
    uint32_t n;                       /* members, this node included */
    uint32_t self;                    /* this node's engine index */
    int peer_of[CONS_MAX_NODES];      /* engine index -> transport peer, -1 = self */
    uint32_t index_of[NET_MAX_PEERS]; /* transport peer -> engine index */
    uint8_t id[CONS_MAX_NODES][NODE_ID_LEN];
    char human[CONS_MAX_NODES][NODE_ID_STR_LEN + 1];
    char addr[CONS_MAX_NODES][NET_ADDR_STR];
};

/* -EINVAL if the config names this node as its own peer, lists a peer twice,
 * or holds more than CONS_MAX_NODES members. */
int members_from_config(const struct net_config *cfg, struct members *m);

/* DATA/members (docs/on-disk-meta.md, "Member list", version
 * MEMBERS_FILE_VERSION): the member IDs this node's consensus state was
 * built with, written at its first start. A later start whose config names
 * other members is refused with -EINVAL, both lists logged: engine indexes
 * are ranks among the IDs, so another list renumbers the nodes under the
 * persisted ballots and command origins, and a re-initialised node could
 * take a lost one's place without its votes. Membership changes are not
 * supported yet. -EPROTO: not a member list, or another version. */
#define MEMBERS_FILE_VERSION 1
int members_check_file(const struct members *m, const char *data_dir);

#endif
