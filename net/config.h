/*
 * config.h - the node config file: who this node is, where it listens, where
 * its data lives, and the pinned IDs and addresses of its peers.
 *
 * Format (one setting per line, '#' starts a comment, blank lines ignored):
 *   node-id = <human node ID, see node_id.h>
 *   listen  = 127.0.0.1:7466        (IPv4:port or [IPv6]:port, numeric)
 *   data    = /var/lib/quorumfs/n1
 *   peer    = <node ID> <address:port>    (once per peer)
 *   cert    = <path>                      (optional, default DATA/node.crt)
 *   key     = <path>                      (optional, default DATA/node.key)
 * Any bad line is an error naming the file, the line number and what is wrong;
 * nothing is half-loaded on error.
 */
#ifndef QFS_NET_CONFIG_H
#define QFS_NET_CONFIG_H

#include "net/node_id.h"

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define NET_MAX_PEERS 8 /* a 9-node cluster at most; DESIGN.md asks for 3 to 7 */
#define NET_ADDR_STR  64

/* DATA/NET_NEW_NODE_FILE: written by `qfs init` into a new node's data
 * directory, removed by the daemon's first start. Its presence proves the
 * node has never voted, so it need not rebuild its consensus state (a data
 * directory that lost its state has lost this file too; docs/consensus.md,
 * "Rebuild"). */
#define NET_NEW_NODE_FILE "new-node"

struct net_addr {
    struct sockaddr_storage sa;
    socklen_t len;
    char str[NET_ADDR_STR]; /* as written in the config, for logs */
};

struct net_peer_conf {
    uint8_t id[NODE_ID_LEN];
    struct net_addr addr;
};

struct net_config {
    uint8_t node_id[NODE_ID_LEN];
    struct net_addr listen;
    char data_dir[PATH_MAX];
    char cert_path[PATH_MAX];
    char key_path[PATH_MAX];
    size_t npeers;
    struct net_peer_conf peers[NET_MAX_PEERS];
};

/*
 * Parses text (the contents of a file called name, used in messages).
 * Returns 0, or -EINVAL with a one-line message "name:LINE: what" in err.
 */
int net_config_parse(const char *text, const char *name, struct net_config *cfg, char *err,
                     size_t errlen);

/* Reads and parses the file at path (-errno of open/read, or as above). */
int net_config_load(const char *path, struct net_config *cfg, char *err, size_t errlen);

/* Parses "IPv4:port" or "[IPv6]:port" (numeric only). 0 or -EINVAL. */
int net_addr_parse(const char *s, struct net_addr *a);

#endif
